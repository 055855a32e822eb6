"""The decision journal: a decision is acknowledged only once it is on disk.

Routes hand their plans to ``append``; one thread serialises every plan that
is waiting, writes them with one ``write`` and one ``fdatasync`` (a group
commit: under load, many requests share one), and only then calls each plan's
``durable`` callback, which is when the route may answer. A ``kill -9`` after
that loses nothing: the next start reads the journal back.

The journal is a folder of segments (``<name>-000001.jsonl``, one JSON row a
line), rotated at a size bound. The database writer tells the journal which
rows it has committed (``committed``); a closed segment whose rows are all in
the database is deleted. ``cut()`` closes the open segment, so that everything
before it can be replayed from disk (after an outage, or at start) and
deleted once stored.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelrouter.observability.json_codec import dumps
from modelrouter.store.repository import decision_row
from modelrouter.store.tables import EncodedJson
from modelrouter.types import RoutingPlan

__all__ = ["Journal", "JournalError"]

_log = logging.getLogger(__name__)

SEGMENT_BYTES = 16 << 20
# How many plans one group commit takes at most.
GROUP = 2_000


# Called once the row is durable: (the row, its segment), or (None, error).
Durable = Callable[[dict[str, Any] | None, int, BaseException | None], None]


class JournalError(OSError):
    """The journal could not be written (a full or failing disk)."""


@dataclass
class _Entry:
    row: dict[str, Any]
    line: bytes
    durable: Durable


def encode(plan: RoutingPlan) -> tuple[dict[str, Any], bytes]:
    """The decision's row and its journal line. The snapshot is most of the
    row: encoded once, for the line and for the database (``EncodedJson``)."""
    row = decision_row(plan)
    encoded = dumps(row.pop("routing_snapshot"))
    head = dumps(row)
    row["routing_snapshot"] = EncodedJson(encoded.decode("utf-8"))
    return row, b"".join((head[:-1], b',"routing_snapshot":', encoded, b"}\n"))


class Journal:
    def __init__(self, directory: Path, name: str, *, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = directory
        self.name = name
        self.segment_bytes = segment_bytes
        # SimpleQueue: put and get in C, with no Python-level lock and condition
        # per decision (0.04 against 0.73 µs a put, uncontended).
        self._queue: queue.SimpleQueue[_Entry | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending: dict[int, int] = {}  # segment -> rows not yet committed
        self._segment = 0
        self._file: int | None = None  # the open segment's descriptor
        self._size = 0
        self._thread: threading.Thread | None = None
        self.fsyncs = 0

    # -- segments ------------------------------------------------------------------------

    def _path(self, segment: int) -> Path:
        return self.directory / f"{self.name}-{segment:06d}.jsonl"

    def segments(self) -> list[int]:
        """The segments on disk, oldest first."""
        found = []
        for path in self.directory.glob(f"{self.name}-*.jsonl"):
            number = path.stem.rsplit("-", 1)[-1]
            if number.isdigit():
                found.append(int(number))
        return sorted(found)

    def read(self, segment: int) -> Iterator[dict[str, Any]]:
        """The rows of a segment. A torn last line (a crash mid-write, before
        any of its callers was answered) is skipped."""
        try:
            text = self._path(segment).read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                yield row

    def _open(self, segment: int) -> None:
        """A new segment, its space allocated up front: a write inside it then
        changes no file size, so ``fdatasync`` need not flush one. (On ext4 it
        still converts the extents a group first writes into; a segment
        written with zeros up front would spare that, at 16 MB written per
        rotation: BENCHMARKS.md, issue 15's fourth stop.) Readers skip the
        unwritten tail (NUL bytes) like a torn line."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._close_file()
        self._file = os.open(self._path(segment), os.O_RDWR | os.O_CREAT, 0o600)
        with contextlib.suppress(OSError):  # a file system without it still works
            os.posix_fallocate(self._file, 0, self.segment_bytes)
        # The new file and its size are durable before any row in it is acknowledged.
        os.fsync(self._file)
        folder = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        self._segment = segment
        self._size = 0
        self._pending.setdefault(segment, 0)

    def _close_file(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._file, self._size)  # drop the unwritten tail
            os.close(self._file)
            self._file = None

    def cut(self) -> int:
        """Close the open segment and start a new one; returns the new one's
        number: every segment below it is closed and may be replayed."""
        with self._lock:
            self._open(max([self._segment, *self.segments()]) + 1)
            return self._segment

    def committed(self, counts: dict[int, int]) -> None:
        """These many rows of each segment are in the database now."""
        with self._lock:
            for segment, count in counts.items():
                if segment in self._pending:
                    self._pending[segment] -= count
            self._collect()

    def forget_before(self, segment: int) -> None:
        """Every row of the segments below ``segment`` is in the database."""
        with self._lock:
            for old in self.segments():
                if old < segment:
                    self._path(old).unlink(missing_ok=True)
                    self._pending.pop(old, None)

    def _collect(self) -> None:
        for segment, count in list(self._pending.items()):
            if count <= 0 and segment != self._segment:
                self._path(segment).unlink(missing_ok=True)
                del self._pending[segment]

    # -- the group commit --------------------------------------------------------------

    def append(self, plan: RoutingPlan, durable: Durable) -> None:
        """Encoded here, in the caller's thread, so a group commit waits only
        for the write and the sync, not for every row of the group to be encoded."""
        row, line = encode(plan)
        self._queue.put(_Entry(row, line, durable))

    def start(self) -> Journal:
        self.cut()
        self._thread = threading.Thread(target=self._run, name="decision-journal", daemon=True)
        self._thread.start()
        return self

    def _take(self) -> list[_Entry] | None:
        first = self._queue.get()
        if first is None:
            return None
        group = [first]
        while len(group) < GROUP:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # stop after this group
                break
            group.append(item)
        return group

    def _run(self) -> None:
        while (group := self._take()) is not None:
            rows = [entry.row for entry in group]
            data = b"".join(entry.line for entry in group)
            try:
                with self._lock:
                    if self._size and self._size + len(data) > self.segment_bytes:
                        self._open(self._segment + 1)
                    assert self._file is not None  # opened by start()
                    written = os.pwrite(self._file, data, self._size)
                    if written != len(data):
                        raise OSError(f"short write: {written} of {len(data)} bytes")
                    os.fdatasync(self._file)
                    self._size += len(data)
                    self._pending[self._segment] = self._pending.get(self._segment, 0) + len(rows)
                    segment = self._segment
                self.fsyncs += 1
            except OSError as exc:
                _log.error("the decision journal cannot be written: %s", exc)
                error = JournalError(f"the decision journal cannot be written: {exc}")
                for entry in group:
                    entry.durable(None, 0, error)
                continue
            for entry, row in zip(group, rows, strict=True):
                entry.durable(row, segment, None)

    def close(self) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._lock:
            self._close_file()
            # Every segment, the last one too, may go once its rows are stored.
            self._segment = -1
            self._collect()
