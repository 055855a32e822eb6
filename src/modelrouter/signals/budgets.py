"""The budget ledger in process memory: the embedded default.

One lock makes check-and-reserve atomic across every window a plan holds
money in (tenant, key and hop-scoped windows alike), so concurrent requests in
this process never commit more than a limit between them. Instances that share a
tenant's budget need a shared ledger (``store.budgets.SqlBudgetStore``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from modelrouter.money import ZERO
from modelrouter.policy.budgets import BudgetWindow, WindowState, exceeded

__all__ = ["MemoryBudgetStore"]


@dataclass
class _Reservation:
    tenant: str
    # What this reservation holds in each window (a hop window may hold less).
    amounts: dict[str, Decimal]
    expires_at: datetime

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.amounts)


@dataclass
class MemoryBudgetStore:
    """The ledger in process memory; one lock makes check-and-reserve atomic."""

    _spent: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    _reservations: dict[str, _Reservation] = field(default_factory=dict)
    _settled: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _expire(self, now: datetime) -> None:
        for rid in [r for r, res in self._reservations.items() if res.expires_at <= now]:
            del self._reservations[rid]

    def _reserved(self, tenant: str, key: str) -> Decimal:
        return sum(
            (
                r.amounts[key]
                for r in self._reservations.values()
                if r.tenant == tenant and key in r.amounts
            ),
            ZERO,
        )

    def _state(self, tenant: str, key: str) -> WindowState:
        return WindowState(self._spent.get((tenant, key), ZERO), self._reserved(tenant, key))

    def state(self, tenant: str, keys: Sequence[str], now: datetime) -> list[WindowState]:
        with self._lock:
            self._expire(now)
            return [self._state(tenant, key) for key in keys]

    def reserve(
        self,
        tenant: str,
        windows: Sequence[BudgetWindow],
        amount: Decimal,
        reservation_id: str,
        expires_at: datetime,
        now: datetime,
        *,
        amounts: Sequence[Decimal] | None = None,
    ) -> None:
        each = list(amounts) if amounts is not None else [amount] * len(windows)
        with self._lock:
            self._expire(now)
            if reservation_id in self._reservations or reservation_id in self._settled:
                return  # the same decision again: held once
            for window, wanted in zip(windows, each, strict=True):
                state = self._state(tenant, window.key)
                if state.spent + state.reserved + wanted > window.limit_usd:
                    raise exceeded(tenant, window, state, wanted)
            held: dict[str, Decimal] = {}
            for window, wanted in zip(windows, each, strict=True):
                held[window.key] = max(held.get(window.key, wanted), wanted)
            self._reservations[reservation_id] = _Reservation(tenant, held, expires_at)

    def settle(
        self,
        tenant: str,
        keys: Sequence[str],
        reservation_id: str,
        actual: Decimal,
        *,
        release: str | None = None,
    ) -> bool:
        with self._lock:
            if reservation_id in self._settled:
                return False
            self._settled.add(reservation_id)
            if release is not None:
                self._reservations.pop(release, None)
            reservation = self._reservations.pop(reservation_id, None)
            # An expired reservation still settles: the money was spent.
            for key in reservation.keys if reservation else tuple(dict.fromkeys(keys)):
                self._spent[(tenant, key)] = self._spent.get((tenant, key), ZERO) + actual
            return True

    def release(self, tenant: str, reservation_id: str) -> bool:
        with self._lock:
            return self._reservations.pop(reservation_id, None) is not None
