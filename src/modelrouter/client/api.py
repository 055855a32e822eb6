"""The service's endpoints, as the clients call them: the path and body of each
call, and the typed value of its answer. No I/O here: ``sync`` and ``aio``
send what these build."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from modelrouter.client.hop import Hop, Observed
from modelrouter.client.models import AttemptAnswer
from modelrouter.client.run import Measure, Reported, attempt_body, prepared
from modelrouter.request.model import RouteRequest
from modelrouter.routing.replay import ReplayResult

__all__ = [
    "attempts_call",
    "decision_path",
    "record_call",
    "replay_result",
    "reported",
    "route_body",
    "spend_call",
]


def route_body(request: RouteRequest | Mapping[str, Any]) -> dict[str, Any]:
    """The request validated here, with a request id (a retry is the same decision)."""
    body: dict[str, Any] = prepared(request).model_dump(mode="json", exclude_defaults=True)
    return body


def decision_path(decision_id: str, tail: str = "") -> str:
    return f"/v1/decisions/{quote(decision_id, safe='')}{tail}"


def attempts_call(
    decision_id: str, reports: Mapping[str, Any] | Sequence[Mapping[str, Any]]
) -> tuple[str, dict[str, Any]]:
    """One attempt report (the service's ``AttemptReport`` body), or several."""
    path = decision_path(decision_id, "/attempts")
    if isinstance(reports, Mapping):
        return path, dict(reports)
    return path, {"attempts": [dict(r) for r in reports]}


def record_call(
    decision_id: str, hop: Hop, observed: Observed, measure: Measure, final: bool
) -> tuple[str, dict[str, Any]]:
    return attempts_call(decision_id, attempt_body(hop, observed, measure, final))


def reported(answer: AttemptAnswer, attempt_id: str) -> Reported:
    """What a run needs of the attempt answer: this attempt's cost, the
    decision's, and the hop the router says to try next."""
    mine = next((a for a in answer.attempts if a.attempt_id == attempt_id), None)
    total = None if answer.actual_cost is None else answer.actual_cost.total_usd
    return Reported(
        cost=None if mine is None else mine.cost,
        decision_cost_usd=total,
        next=answer.next,
        has_next=answer.has_next,
    )


def replay_result(raw: Mapping[str, Any]) -> ReplayResult:
    return ReplayResult(
        matched=bool(raw["matched"]),
        expected_hash=raw["expected_plan_hash"],
        actual_hash=raw.get("actual_plan_hash"),
        differences=tuple(raw.get("differences", ())),
        plan=None,
    )


def spend_call(
    tenant_id: str, since: datetime | None, until: datetime | None
) -> tuple[str, dict[str, str]]:
    params = {
        name: value.isoformat()
        for name, value in (("since", since), ("until", until))
        if value is not None
    }
    return f"/v1/tenants/{quote(tenant_id, safe='')}/spend", params
