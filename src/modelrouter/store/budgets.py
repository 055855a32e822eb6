"""The budget ledger in the database, so spend and reservations survive a
restart and are shared by every router instance on the same database.

Atomicity: a reservation first upserts the tenant's spend row of each window
(tenant, key and hop-scoped windows alike, each with what it holds),
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
        # Summed here, not in SQL: SQLite would sum the decimal text as floats.
        held = connection.execute(
            select(BudgetReservation.amount_usd).where(
                BudgetReservation.tenant_id == tenant,
                BudgetReservation.window_key == key,
                BudgetReservation.settled == 0,
                BudgetReservation.expires_at > now,
            )
        ).scalars()
        return WindowState(spent or ZERO, sum(held, ZERO))

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
        *,
        amounts: Sequence[Decimal] | None = None,
    ) -> None:
        each = list(amounts) if amounts is not None else [amount] * len(windows)
        holds: dict[str, Decimal] = {}
        for window, wanted in zip(windows, each, strict=True):
            holds[window.key] = max(holds.get(window.key, wanted), wanted)
        keys = list(holds)
        with self.engine.begin() as connection:
            for key in sorted(keys):  # one lock order for every transaction
                self._lock_spend(connection, tenant, key)
            held = connection.execute(
                select(func.count()).where(BudgetReservation.id == reservation_id)
            ).scalar_one()
            if held:
                return  # the same decision again: held once
            for window, wanted in zip(windows, each, strict=True):
                state = self._state(connection, tenant, window.key, now)
                if state.spent + state.reserved + wanted > window.limit_usd:
                    raise exceeded(tenant, window, state, wanted)
            connection.execute(
                self._insert(BudgetReservation),
                [
                    {
                        "id": reservation_id,
                        "window_key": key,
                        "tenant_id": tenant,
                        "amount_usd": holds[key],
                        "expires_at": expires_at,
                        "settled": 0,
                    }
                    for key in keys
                ],
            )

    def settle(
        self,
        tenant: str,
        keys: Sequence[str],
        reservation_id: str,
        actual: Decimal,
        *,
        release: str | None = None,
    ) -> bool:
        try:
            return self._settle(tenant, keys, reservation_id, actual, release)
        except _ClaimedElsewhere:
            return False

    def _settle(
        self,
        tenant: str,
        keys: Sequence[str],
        reservation_id: str,
        actual: Decimal,
        release: str | None,
    ) -> bool:
        """Exactly once under any concurrency, across processes: the settlement
        first claims the reservation (an update from unsettled to settled, or an
        insert that the primary key lets only one writer make), and only the
        claimant adds to spend. Reading "already settled" before taking the lock
        let eight concurrent reports add eight times."""
        with self.engine.begin() as connection:
            claimed = list(
                connection.execute(
                    update(BudgetReservation)
                    .where(BudgetReservation.id == reservation_id, BudgetReservation.settled == 0)
                    .values(settled=1)
                    .returning(BudgetReservation.window_key)
                ).scalars()
            )
            if not claimed:
                # No reservation left to claim: settled before, or expired and
                # gone, or never made. The money was spent all the same.
                windows = list(dict.fromkeys(keys))
                inserted = connection.execute(
                    self._insert(BudgetReservation)
                    .values(
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
                        ]
                    )
                    .on_conflict_do_nothing()
                    .returning(BudgetReservation.window_key)
                )
                claimed = list(inserted.scalars())
                if len(claimed) < len(windows):
                    # Another settlement holds some of the windows: undo this half-made claim.
                    raise _ClaimedElsewhere
            if release is not None:
                connection.execute(
                    update(BudgetReservation)
                    .where(BudgetReservation.id == release, BudgetReservation.settled == 0)
                    .values(settled=1)
                )
            for key in sorted(claimed):
                self._lock_spend(connection, tenant, key)
                spent = connection.execute(
                    select(BudgetSpend.spent_usd).where(
                        BudgetSpend.tenant_id == tenant, BudgetSpend.window_key == key
                    )
                ).scalar_one()
                connection.execute(
                    update(BudgetSpend)
                    .where(BudgetSpend.tenant_id == tenant, BudgetSpend.window_key == key)
                    .values(spent_usd=spent + actual)
                )
            return True

    def release(self, tenant: str, reservation_id: str) -> bool:
        with self.engine.begin() as connection:
            result = connection.execute(
                update(BudgetReservation)
                .where(
                    BudgetReservation.id == reservation_id,
                    BudgetReservation.tenant_id == tenant,
                    BudgetReservation.settled == 0,
                )
                .values(settled=1)
            )
            return bool(result.rowcount)


class _ClaimedElsewhere(Exception):
    """Rolls back a settlement that lost its claim to a concurrent one."""
