"""How many malloc arenas a serving process lets the C library make.

glibc gives threads their own arenas (up to eight per core) so they do not
wait on each other's allocations. A worker's threads (the event loop, the
decision journal, the database writer, the event sink) take turns on the
interpreter lock anyway, and each arena keeps its own freed pages. Measured
with ``benchmarks/http.py --rss-routes 200000`` (one worker, BENCHMARKS.md,
issue 15's fifth stop): 200.2 MB with glibc's default, 183.8 MB with two
arenas as ``serve`` sets them. The earlier the better: set only when the
worker builds its state, 189.6 MB; with ``MALLOC_ARENA_MAX=2`` in the
server's environment from its start, 182.0 MB. So ``serve`` sets the limit
for itself and hands it to the worker processes it starts as
``MALLOC_ARENA_MAX``, and a worker sets it again before its threads start
(for servers other than ``serve``).
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["limit_for_workers", "limit_malloc_arenas"]

# glibc's mallopt parameter for the arena limit (malloc.h).
_M_ARENA_MAX = -8


def limit_malloc_arenas(count: int) -> bool:
    """Ask glibc for at most ``count`` arenas; whether it was set. Nothing is
    changed for 0, off Linux, on a C library without ``mallopt``, or when the
    operator set ``MALLOC_ARENA_MAX`` (glibc has applied that already)."""
    if count <= 0 or not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    # The C library this interpreter is linked with, already loaded: no search
    # for it (``find_library`` runs ldconfig, at every worker's start).
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:  # a C library without it
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, count))


def limit_for_workers(count: int) -> None:
    """The limit for this process, and (as ``MALLOC_ARENA_MAX``, unless the
    operator set it) for the worker processes it starts."""
    limit_malloc_arenas(count)
    if count > 0 and "MALLOC_ARENA_MAX" not in os.environ:
        os.environ["MALLOC_ARENA_MAX"] = str(count)
