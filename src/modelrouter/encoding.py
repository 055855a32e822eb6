"""Canonical JSON: one byte sequence per value, so hashes are stable.

Sorted keys, no insignificant white space, UTF-8, Decimals as exact strings,
dates in ISO 8601. Floats are refused: a float in a hashed value is a bug
waiting to differ across platforms.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson

from modelrouter.money import exact_str

__all__ = ["CANONICAL_JSON", "canonical_bytes", "canonical_hash", "json_hash", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    # Exact types first: most values are plain, and the ABC checks below are slow.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is Decimal:
        return exact_str(value)
    if kind is dict:
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [to_jsonable(item) for item in value]
    if kind is datetime:  # every request's timestamp
        return value.isoformat()
    if isinstance(value, Enum):  # before str: a StrEnum is a str, but not a plain one
        return value.value
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return exact_str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, Sequence):
        return [to_jsonable(item) for item in value]
    if isinstance(value, float):
        raise TypeError("floats are not allowed in canonical values; use Decimal")
    raise TypeError(f"cannot encode {type(value).__name__} canonically")


# One encoder, made once: json.dumps builds a new one on every call with these options.
CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(value: Any) -> bytes:
    return CANONICAL_JSON.encode(to_jsonable(value)).encode("utf-8")


def json_hash(value: Any) -> str:
    """sha256 of the canonical encoding of a value already made of JSON types
    and holding no floats (no conversion pass: for hashes on the hot path).

    orjson writes the same bytes as ``CANONICAL_JSON`` for such values, sorted
    keys included, about ten times faster (checked byte for byte in
    tests/unit/test_json_codec.py); what it refuses (an integer beyond 64 bits,
    a lone surrogate) is left to ``CANONICAL_JSON``, as are non-string keys."""
    try:
        encoded = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        encoded = CANONICAL_JSON.encode(value).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def canonical_hash(value: Any) -> str:
    return hashlib.sha256(canonical_bytes(value)).hexdigest()
