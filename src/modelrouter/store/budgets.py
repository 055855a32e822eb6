"""The budget ledger in the database, so spend and reservations survive a
restart and are shared by every router instance on the same database.

Atomicity: a reservation first upserts the tenant's spend row of each window,
which takes that row's write lock (PostgreSQL) or the database's (SQLite),
then checks and inserts inside the same transaction. Concurrent reservations
for one tenant and window therefore run one after another and can never
commit more than the limit between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from modelrouter.money import ZERO
from modelrouter.policy.budgets import BudgetWindow, WindowState, exceeded
from modelrouter.store.tables import BudgetReservation, BudgetSpend

__all__ = ["SqlBudgetStore"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SqlBudgetStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def _lock_spend(self, connection: Connection, tenant: str, key: str) -> None:
        statement = self._insert(BudgetSpend).values(
            tenant_id=tenant, window_key=key, spent_usd=ZERO
        )
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "window_key"],
                set_={"spent_usd": BudgetSpend.spent_usd},
            )
        )

    @staticmethod
    def _state(connection: Connection, tenant: str, key: str, now: datetime) -> WindowState:
        spent = connection.execute(
            select(BudgetSpend.spent_usd).where(
                BudgetSpend.tenant_id == tenant, BudgetSpend.window_key == key
            )
        ).scalar_one_or_none()
        reserved = connection.execute(
            select(func.coalesce(func.sum(BudgetReservation.amount_usd), 0)).where(
                BudgetReservation.tenant_id == tenant,
                BudgetReservation.window_key == key,
                BudgetReservation.settled == 0,
                BudgetReservation.expires_at > now,
            )
        ).scalar_one()
        return WindowState(Decimal(spent or 0), Decimal(reserved))

    def state(self, tenant: str, keys: Sequence[str], now: datetime) -> list[WindowState]:
        with self.engine.connect() as connection:
            return [self._state(connection, tenant, key, now) for key in keys]

    def reserve(
        self,
        tenant: str,
        windows: Sequence[BudgetWindow],
        amount: Decimal,
        reservation_id: str,
        expires_at: datetime,
        now: datetime,
    ) -> None:
        keys = list(dict.fromkeys(w.key for w in windows))
        with self.engine.begin() as connection:
            for key in sorted(keys):  # one lock order for every transaction
                self._lock_spend(connection, tenant, key)
            held = connection.execute(
                select(func.count()).where(BudgetReservation.id == reservation_id)
            ).scalar_one()
            if held:
                return  # the same decision again: held once
            for window in windows:
                state = self._state(connection, tenant, window.key, now)
                if state.spent + state.reserved + amount > window.limit_usd:
                    raise exceeded(tenant, window, state, amount)
            connection.execute(
                self._insert(BudgetReservation),
                [
                    {
                        "id": reservation_id,
                        "window_key": key,
                        "tenant_id": tenant,
                        "amount_usd": amount,
                        "expires_at": expires_at,
                        "settled": 0,
                    }
                    for key in keys
                ],
            )

    def settle(
        self, tenant: str, keys: Sequence[str], reservation_id: str, actual: Decimal
    ) -> bool:
        with self.engine.begin() as connection:
            held = connection.execute(
                select(BudgetReservation.window_key, BudgetReservation.settled).where(
                    BudgetReservation.id == reservation_id
                )
            ).all()
            if any(settled for _, settled in held):
                return False
            # An expired reservation (or none) still settles: the money was spent.
            windows = [key for key, _ in held] or list(dict.fromkeys(keys))
            for key in sorted(windows):
                self._lock_spend(connection, tenant, key)
                connection.execute(
                    update(BudgetSpend)
                    .where(BudgetSpend.tenant_id == tenant, BudgetSpend.window_key == key)
                    .values(spent_usd=BudgetSpend.spent_usd + actual)
                )
            if held:
                connection.execute(
                    update(BudgetReservation)
                    .where(BudgetReservation.id == reservation_id)
                    .values(settled=1)
                )
            else:
                connection.execute(
                    self._insert(BudgetReservation),
                    [
                        {
                            "id": reservation_id,
                            "window_key": key,
                            "tenant_id": tenant,
                            "amount_usd": ZERO,
                            "expires_at": _EPOCH,
                            "settled": 1,
                        }
                        for key in windows
                    ],
                )
            return True
