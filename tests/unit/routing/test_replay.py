from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.encoding import canonical_bytes
from modelrouter.errors import CatalogVersionError, InvalidInputError, ReplayMismatchError
from modelrouter.router import Router
from modelrouter.routing.replay import replay


def snapshot_of(router: Router, **fields: Any) -> dict[str, Any]:
    plan = router.route({"input_tokens": 3000, "max_output_tokens": 400, **fields})
    assert plan.snapshot is not None
    return plan.snapshot


def test_replay_reproduces_the_plan_hash(router: Router, small_catalog: Catalog) -> None:
    snapshot = snapshot_of(router, model="smart", strategy="balanced", require=["tools"])
    result = replay(snapshot, small_catalog)
    assert result.matched, result.differences
    assert result.actual_hash == snapshot["plan_hash"]


def test_snapshot_survives_a_json_round_trip(router: Router, small_catalog: Catalog) -> None:
    snapshot = snapshot_of(router, model="smart")
    reloaded = json.loads(json.dumps(snapshot))
    assert canonical_bytes(reloaded) == canonical_bytes(snapshot)
    assert replay(reloaded, small_catalog).matched


def test_replay_reports_the_exact_difference(router: Router, small_catalog: Catalog) -> None:
    snapshot = snapshot_of(router, model="chat-large", strategy="cheapest")
    tampered = copy.deepcopy(snapshot)
    tampered["output"]["primary"]["estimate"]["expected_usd"] = "0.001"
    result = replay(tampered, small_catalog)
    assert not result.matched
    # 3000*2.5/1e6 + 256*10/1e6
    expected = "primary.estimate.expected_usd: recorded '0.001', replayed '0.01006'"
    assert result.differences == (expected,)
    with pytest.raises(ReplayMismatchError, match=r"replayed '0\.01006'"):
        result.raise_for_mismatch()
    replay(snapshot, small_catalog).raise_for_mismatch()  # a match raises nothing


def test_replay_uses_recorded_inputs_not_todays(router: Router, small_catalog: Catalog) -> None:
    snapshot = snapshot_of(router, model="chat-large", strategy="cheapest")
    changed_request = copy.deepcopy(snapshot)
    changed_request["inputs"]["request"]["input_tokens"] = 9000
    result = replay(changed_request, small_catalog)
    assert not result.matched
    assert any("input_tokens" in d for d in result.differences)


def test_replay_refuses_another_catalog(router: Router, small_catalog: Catalog) -> None:
    snapshot = snapshot_of(router, model="chat-large")
    repriced = small_catalog.layered(
        "price change",
        {"models": {"chat-large": {"deployments": {"beta": {"prices": {"input": "1"}}}}}},
    )
    with pytest.raises(CatalogVersionError) as caught:
        replay(snapshot, repriced)
    assert caught.value.wanted == small_catalog.version


def test_replay_rejects_what_is_not_a_snapshot(small_catalog: Catalog) -> None:
    with pytest.raises(InvalidInputError, match="not a snapshot"):
        replay({"hello": "world"}, small_catalog)
    with pytest.raises(InvalidInputError, match="malformed snapshot"):
        replay({"format": "modelrouter.snapshot/v1", "inputs": {}}, small_catalog)


def test_plan_json_with_snapshot_is_accepted(router: Router, small_catalog: Catalog) -> None:
    plan = router.route({"model": "smart", "input_tokens": 10})
    assert replay(plan.to_dict(include_snapshot=True), small_catalog).matched


def test_canonical_encoding_refuses_floats() -> None:
    with pytest.raises(TypeError, match="float"):
        canonical_bytes({"x": 0.1})
