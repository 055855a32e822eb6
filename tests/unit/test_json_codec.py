"""The record's encoder writes exactly what ``json`` writes in compact form
with ``ensure_ascii=False`` (the journal, the stored rows and the answers keep
their bytes), and what orjson refuses still encodes, as valid UTF-8 that reads
back as the same value."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from modelrouter import Catalog, Router
from modelrouter.encoding import CANONICAL_JSON, json_hash
from modelrouter.observability.json_codec import dumps

COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.text(st.characters(codec="utf-8")),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(st.characters(codec="utf-8")), inner, max_size=5)
    ),
    max_leaves=30,
)


@given(json_values)
def test_the_same_bytes_as_compact_json(value: Any) -> None:
    assert dumps(value) == COMPACT.encode(value).encode("utf-8")


def _canonical_hash(value: Any) -> str:
    return hashlib.sha256(CANONICAL_JSON.encode(value).encode("utf-8")).hexdigest()


@given(json_values)
def test_hashes_are_of_the_canonical_bytes(value: Any) -> None:
    # Sorted keys, compact, UTF-8: the bytes every stored plan_hash was made of.
    assert json_hash(value) == _canonical_hash(value)


def test_hashes_of_what_orjson_refuses_are_of_the_canonical_bytes() -> None:
    for value in ({"big": 2**70}, {"b": 1, "a": [2**64]}, {2: "b", 1: "a"}):
        assert json_hash(value) == _canonical_hash(value)


def test_a_plan_and_its_snapshot_encode_to_the_same_bytes() -> None:
    router = Router(Catalog.bundled())
    for model in ("gpt-4o", "claude-sonnet-4-5", "gemini-2.5-pro"):
        plan = router.route(
            {"model": model, "input_tokens": 1200, "request_id": "é☃\u2028"}, reserve=False
        )
        body = plan.to_dict(include_snapshot=True)
        assert dumps(body) == COMPACT.encode(body).encode("utf-8")
        assert plan.plan_hash == "sha256:" + _canonical_hash(plan.body())


def test_what_orjson_refuses_still_encodes_and_reads_back() -> None:
    for value in ({"text": "lone \ud800 surrogate"}, {"big": 2**70}):
        encoded = dumps(value)
        encoded.decode("utf-8")  # valid UTF-8: a journal segment stays readable
        assert json.loads(encoded) == value


def test_default_converts_like_json_and_dates_keep_isoformat() -> None:
    def default(value: object) -> object:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, datetime):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    value = {"at": datetime(2026, 6, 1, 12, 0, 0, 5, tzinfo=UTC), "usd": Decimal("0.10")}
    assert dumps(value, default=default) == COMPACT.encode(
        {"at": "2026-06-01T12:00:00.000005+00:00", "usd": "0.10"}
    ).encode("utf-8")
