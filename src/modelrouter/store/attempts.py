"""The attempts of each decision, and the decision's cost as their sum.

An attempt is stored once per (decision, attempt id): a repeated report
changes nothing and is answered with what was stored. After each new attempt
the decision's ``actual_cost`` is recomputed from all of its attempts in the
same transaction, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Select, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from modelrouter.errors import StoreUnavailable
from modelrouter.money import ZERO, exact_str
from modelrouter.pricing.cost import ActualCost
from modelrouter.store.tables import DecisionAttempt, InferenceRequest

__all__ = ["AttemptLog", "AttemptRecord", "StoredAttempt"]


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    attempt_id: str
    deployment: str
    status: str  # "ok" or an error class
    final: bool
    cost: ActualCost | None
    usage_source: str | None
    report: dict[str, Any]

    def cost_payload(self) -> dict[str, Any] | None:
        if self.cost is None:
            return None
        payload = self.cost.to_dict()
        if self.usage_source is not None:
            payload["usage_source"] = self.usage_source
        if self.report:
            payload["report"] = self.report
        return payload


@dataclass(frozen=True, slots=True)
class StoredAttempt:
    attempt_id: str
    deployment: str
    status: str
    final: bool
    cost: dict[str, Any] | None
    report: dict[str, Any]
    reported_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempt_id": self.attempt_id,
            "deployment": self.deployment,
            "status": self.status,
            "final": self.final,
            "cost": self.cost,
            "report": self.report,
            "reported_at": self.reported_at.isoformat(),
        }


def _stored(row: DecisionAttempt) -> StoredAttempt:
    return StoredAttempt(
        row.attempt_id,
        row.deployment,
        row.status,
        bool(row.final),
        row.cost,
        row.report,
        row.reported_at if row.reported_at.tzinfo else row.reported_at.replace(tzinfo=UTC),
    )


def decision_cost(attempts: Sequence[StoredAttempt]) -> dict[str, Any]:
    """The decision's cost: the sum of its priced attempts. With one priced
    attempt it is that attempt's cost as stored (the outcome shape); with
    several, the components are summed and ``priced_attempts`` names them."""
    priced = [a for a in attempts if a.cost is not None]
    extra: dict[str, Any] = {} if len(attempts) <= 1 else {"attempts": len(attempts)}
    if len(priced) == 1:
        assert priced[0].cost is not None
        return {**priced[0].cost, **extra}
    served = next((a for a in reversed(attempts) if a.status == "ok"), None)
    total = ZERO
    components: dict[str, Decimal] = {}
    for attempt in priced:
        assert attempt.cost is not None
        total += Decimal(attempt.cost["total_usd"])
        for name, value in attempt.cost["components"].items():
            components[name] = components.get(name, ZERO) + Decimal(value)
    out: dict[str, Any] = {
        "deployment": None if served is None else served.deployment,
        "total_usd": exact_str(total),
        "components": {name: exact_str(value) for name, value in components.items()},
        "priced_attempts": [a.attempt_id for a in priced],
        **extra,
    }
    if priced and priced[0].cost is not None:
        out["catalog_version"] = priced[0].cost.get("catalog_version")
    if served is not None and served.cost is not None and "usage_source" in served.cost:
        out["usage_source"] = served.cost["usage_source"]
    return out


def _of(decision_id: str) -> Select[Any]:
    return (
        select(DecisionAttempt)
        .where(DecisionAttempt.decision_id == decision_id)
        .order_by(DecisionAttempt.reported_at, DecisionAttempt.attempt_id)
    )


def _unavailable(exc: DBAPIError) -> StoreUnavailable:
    return StoreUnavailable(f"the database is unavailable: {type(exc.orig).__name__}")


class AttemptLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def attempts(self, decision_id: str) -> list[StoredAttempt]:
        try:
            with Session(self.engine) as session:
                return [_stored(row) for row in session.scalars(_of(decision_id))]
        except (OperationalError, InterfaceError) as exc:
            raise _unavailable(exc) from exc

    def record(
        self, decision_id: str, records: Sequence[AttemptRecord]
    ) -> tuple[list[StoredAttempt], list[bool], dict[str, Any]]:
        """Store the attempts that are new. Returns every stored attempt of the
        decision, which of ``records`` this call stored, and the decision's
        cost as now recorded. ``LookupError`` when the decision is not stored."""
        now = datetime.now(UTC)
        try:
            with Session(self.engine) as session, session.begin():
                connection = session.connection()
                exists = connection.execute(
                    select(InferenceRequest.id).where(InferenceRequest.id == decision_id)
                ).first()
                if exists is None:
                    raise LookupError(f"no decision {decision_id}")
                new = []
                for record in records:
                    statement = (
                        self._insert(DecisionAttempt)
                        .values(
                            decision_id=decision_id,
                            attempt_id=record.attempt_id,
                            reported_at=now,
                            deployment=record.deployment,
                            status=record.status,
                            final=int(record.final),
                            cost_usd=None if record.cost is None else record.cost.total_usd,
                            cost=record.cost_payload(),
                            report=record.report,
                        )
                        .on_conflict_do_nothing()
                        # RETURNING yields only the rows inserted (rowcount is
                        # not reliable for ON CONFLICT on every dialect).
                        .returning(DecisionAttempt.attempt_id)
                    )
                    new.append(bool(connection.execute(statement).all()))
                stored = [_stored(row) for row in session.scalars(_of(decision_id))]
                cost = decision_cost(stored)
                settled = any(a.final for a in stored)
                connection.execute(
                    update(InferenceRequest)
                    .where(InferenceRequest.id == decision_id)
                    .values(
                        actual_cost=cost,
                        status="settled" if settled else "attempted",
                        settled_at=now if settled else None,
                    )
                )
        except (OperationalError, InterfaceError) as exc:
            raise _unavailable(exc) from exc
        return stored, new, cost
