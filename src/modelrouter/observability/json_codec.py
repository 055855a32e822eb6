"""Compact JSON bytes of values already made of JSON types, encoded once per
decision on the serving process: the journal line, the stored row, the HTTP
answer and the event.

orjson (a compiled encoder) writes the same bytes as ``json`` with compact
separators and ``ensure_ascii=False`` for everything a plan holds (checked
byte for byte in the tests), several times faster, and it is what keeps the
record of a decision cheap next to routing it. The few values it refuses (a
lone surrogate from an escaped string, an integer beyond 64 bits) are
encoded by ``json`` instead, as ASCII with escapes: still valid UTF-8 that
reads back as the same value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["dumps"]

_FALLBACK = json.JSONEncoder(separators=(",", ":"))
# Dates and dataclasses go to ``default`` as with ``json``, not orjson's own forms.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """UTF-8 JSON with no insignificant white space; ``default`` converts
    what is not a JSON type (as ``json.dumps``'s does)."""
    try:
        return orjson.dumps(value, default=default, option=_OPTIONS)
    except orjson.JSONEncodeError:
        encoder = (
            _FALLBACK
            if default is None
            else json.JSONEncoder(separators=(",", ":"), default=default)
        )
        return encoder.encode(value).encode("ascii")
