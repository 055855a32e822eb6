"""Decision and outcome event documents, on a plan the router really made and
the cost it settled: JSON types only, the plan's identity and figures, the hop
that served."""

from __future__ import annotations

import json

import pytest

from modelrouter.observability.events import decision_event, outcome_event
from modelrouter.pricing.cost import ActualCost
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router
from modelrouter.types import RoutingPlan


def test_decision_and_outcome_documents(
    router: Router, plan: RoutingPlan, cost: ActualCost
) -> None:
    decision = decision_event(plan)
    assert json.loads(json.dumps(decision)) == decision  # JSON types only
    assert decision["type"] == "decision"
    assert decision["event_id"] == decision["decision_id"] == plan.decision_id
    assert decision["time"] == plan.timestamp.isoformat()
    assert decision["request_id"] == "req-1"
    assert decision["tenant_id"] == "acme"
    assert (decision["model"], decision["strategy"]) == ("smart", "cheapest")
    assert decision["primary"] == {
        "deployment": "beta/chat-large",
        "provider": "beta",
        "model": "chat-large",
    }
    assert decision["fallbacks"] == ["alpha/chat-large"]
    assert decision["plan_hash"] == plan.plan_hash
    assert decision["estimate"]["expected_usd"] == "0.00756"
    assert decision["estimate"]["worst_case_usd"] == "0.01"
    assert decision["rejected"] == {"feature_unknown": 2, "feature_unsupported": 1}

    outcome = outcome_event(plan, cost)
    assert json.loads(json.dumps(outcome)) == outcome
    assert outcome["type"] == "outcome"
    assert outcome["event_id"] == f"{plan.decision_id}:outcome"
    assert outcome["served"] == {**decision["primary"], "hop": 0}
    assert outcome["actual"]["total_usd"] == "0.008"
    assert outcome["actual"]["components"] == {"input": "0.005", "output": "0.003"}
    assert outcome["estimate"] == decision["estimate"]
    assert outcome["usage"]["output_tokens"] == 300
    for key in ("decision_id", "tenant_id", "plan_hash", "fallbacks", "rejected"):
        assert outcome[key] == decision[key]

    fallback = plan.fallbacks[0].deployment
    by_fallback = router.record_outcome(plan, Usage(input_tokens=2000), deployment=fallback)
    served = outcome_event(plan, by_fallback, fallback)
    assert served["served"]["hop"] == 1
    assert served["estimate"]["expected_usd"] != decision["estimate"]["expected_usd"]
    with pytest.raises(ValueError, match="priced for"):
        outcome_event(plan, cost, fallback)
