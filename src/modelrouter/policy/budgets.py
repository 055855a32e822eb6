"""Budgets: reserve the worst case at routing time, settle the actual cost after.

A budget (``day``, ``week`` or ``month`` in a time zone) limits a tenant's
spend in the current window. At routing time the router reads spent and
reserved money, and every hop of the plan must have a worst-case cost within
what remains; the plan's costliest hop is then reserved, atomically against
the limit, so concurrent requests can never commit more than the limit between
them. The outcome settles the actual cost and releases the rest; a reservation
with no outcome expires.

A ledger implements ``BudgetStore``: ``signals.budgets.MemoryBudgetStore``
in process, ``store.budgets.SqlBudgetStore`` in the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from modelrouter.errors import BudgetExceeded
from modelrouter.money import ZERO, exact_str
from modelrouter.policy.document import Budget
from modelrouter.types import Strategy

__all__ = [
    "DEFAULT_RESERVATION_TTL",
    "BudgetContext",
    "BudgetStore",
    "BudgetWindow",
    "WindowState",
    "budget_context",
    "exceeded",
    "settlement_id",
    "window_for",
]

DEFAULT_RESERVATION_TTL = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class BudgetWindow:
    """One budget's current window: the ledger ``key`` it shares with every
    budget of the same period and zone, and the limit this budget sets on it."""

    key: str
    period: str
    limit_usd: Decimal
    soft_limit_pct: Decimal | None
    soft_action: Any
    resets_at: datetime


def window_for(budget: Budget, at: datetime) -> BudgetWindow:
    zone = ZoneInfo(budget.timezone)
    local = at.astimezone(zone)
    start_day = local.date()
    if budget.period == "week":
        start_day -= timedelta(days=local.weekday())
    elif budget.period == "month":
        start_day = start_day.replace(day=1)
    start = datetime.combine(start_day, time(), tzinfo=zone)
    if budget.period == "day":
        end_day = start_day + timedelta(days=1)
    elif budget.period == "week":
        end_day = start_day + timedelta(days=7)
    else:
        end_day = (start_day.replace(day=28) + timedelta(days=4)).replace(day=1)
    end = datetime.combine(end_day, time(), tzinfo=zone)
    return BudgetWindow(
        key=f"{budget.period}@{budget.timezone}:{start.isoformat()}",
        period=budget.period,
        limit_usd=budget.limit_usd,
        soft_limit_pct=budget.soft_limit_pct,
        soft_action=budget.soft_action,
        resets_at=end,
    )


@dataclass(frozen=True, slots=True)
class WindowState:
    spent: Decimal
    reserved: Decimal


def exceeded(
    tenant: str, window: BudgetWindow, state: WindowState, requested: Decimal
) -> BudgetExceeded:
    """The error a full window answers, with every figure behind it."""
    return BudgetExceeded(
        tenant=tenant,
        period=window.period,
        limit=window.limit_usd,
        spent=state.spent,
        reserved=state.reserved,
        requested=requested,
        resets_at=window.resets_at,
    )


class BudgetStore(Protocol):
    def state(self, tenant: str, keys: Sequence[str], now: datetime) -> list[WindowState]: ...

    def reserve(
        self,
        tenant: str,
        windows: Sequence[BudgetWindow],
        amount: Decimal,
        reservation_id: str,
        expires_at: datetime,
        now: datetime,
    ) -> None:
        """Reserve ``amount`` in every window, or raise ``BudgetExceeded``
        without reserving anything."""

    def settle(
        self,
        tenant: str,
        keys: Sequence[str],
        reservation_id: str,
        actual: Decimal,
        *,
        release: str | None = None,
    ) -> bool:
        """Add ``actual`` to spend and drop the reservation. Idempotent: False
        when this reservation was settled before (nothing changes). An id with
        no reservation (an attempt's ``settlement_id``) is settled once all
        the same, in the windows ``keys`` names. ``release`` drops that
        reservation in the same step (the decision's, when its last attempt
        settles), so spend and reservation never count one cost twice."""

    def release(self, tenant: str, reservation_id: str) -> bool:
        """Drop a reservation without adding to spend (its attempts settled
        their own costs). False when it was not held."""


def settlement_id(decision_id: str, attempt_id: str) -> str:
    """The id one attempt's cost is settled under: each attempt once."""
    digest = hashlib.sha256(f"{decision_id}\x00{attempt_id}".encode()).hexdigest()
    return "att_" + digest[:24]


@dataclass(frozen=True, slots=True)
class BudgetContext:
    """What the budgets allowed this decision: recorded in its snapshot, so a
    replay sees the same limits whatever has been spent since."""

    tenant: str
    keys: tuple[str, ...]
    remaining_usd: Decimal
    soft_strategy: Strategy | None = None
    deny_models: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "keys": list(self.keys),
            "remaining_usd": exact_str(self.remaining_usd),
            "soft_strategy": None if self.soft_strategy is None else self.soft_strategy.value,
            "deny_models": list(self.deny_models),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BudgetContext:
        soft = raw.get("soft_strategy")
        return cls(
            tenant=raw["tenant"],
            keys=tuple(raw["keys"]),
            remaining_usd=Decimal(raw["remaining_usd"]),
            soft_strategy=None if soft is None else Strategy(soft),
            deny_models=tuple(raw.get("deny_models", ())),
            notes=tuple(raw.get("notes", ())),
        )


def budget_context(
    tenant: str, windows: Sequence[BudgetWindow], states: Sequence[WindowState]
) -> BudgetContext:
    """Hard limits raise ``BudgetExceeded``; soft limits choose their action."""
    remaining: Decimal | None = None
    soft_strategy: Strategy | None = None
    deny: list[str] = []
    notes: list[str] = []
    for window, state in zip(windows, states, strict=True):
        committed = state.spent + state.reserved
        if committed >= window.limit_usd:
            raise exceeded(tenant, window, state, ZERO)
        left = window.limit_usd - committed
        remaining = left if remaining is None else min(remaining, left)
        pct = window.soft_limit_pct
        if pct is not None and committed * 100 >= window.limit_usd * pct:
            action = window.soft_action
            if action == "cheapest":
                soft_strategy = Strategy.CHEAPEST
            elif isinstance(action, dict):
                deny += action.get("deny_models", [])
            notes.append(
                f"{window.period} budget past its soft limit ({exact_str(pct)} % of "
                f"{exact_str(window.limit_usd)} USD): {action or 'no action'}"
            )
    assert remaining is not None  # there is at least one window
    return BudgetContext(
        tenant=tenant,
        keys=tuple(dict.fromkeys(w.key for w in windows)),
        remaining_usd=remaining,
        soft_strategy=soft_strategy,
        deny_models=tuple(dict.fromkeys(deny)),
        notes=tuple(notes),
    )
