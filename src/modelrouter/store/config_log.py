"""The log of configuration changes, and the notice that one was made.

Every catalog or policy version put in force is a row: kind, version, origin,
source, author (a key id) and time. The newest ``catalog`` row is the catalog
in force for every instance on the database, and the one a restart comes
back on. On PostgreSQL the row's transaction also sends ``NOTIFY
modelrouter_config``: the notice is delivered when the row commits, never
before, so a worker woken by it always finds the row. (Why PostgreSQL's own
notices rather than NATS or Redis: the database that holds the change is the
one that announces it, atomically with it, and no other server is needed.)
On SQLite, and as the backstop on PostgreSQL, workers poll ``latest()``: one
indexed integer.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, insert, select, text
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from modelrouter.errors import StoreUnavailable
from modelrouter.store.tables import ConfigEvent

__all__ = ["CHANNEL", "ConfigEntry", "ConfigLog"]

CHANNEL = "modelrouter_config"


def _notify(connection: Connection, payload: str) -> None:
    """A notice on the channel every worker listens to, sent with the transaction."""
    connection.execute(
        text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
    )


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    seq: int
    kind: str
    subject: str | None
    version: str
    origin: str
    source: str
    author: str | None
    created_at: datetime

    def to_dict(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "subject": self.subject,
            "version": self.version,
            "origin": self.origin,
            "source": self.source,
            "author": self.author,
            "created_at": self.created_at.isoformat(),
        }


def _entry(row: ConfigEvent) -> ConfigEntry:
    at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return ConfigEntry(
        row.seq, row.kind, row.subject, row.version, row.origin, row.source, row.author, at
    )


class ConfigLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.notifies = engine.dialect.name == "postgresql"

    def publish(
        self,
        kind: str,
        version: str,
        *,
        origin: str,
        source: str,
        author: str | None = None,
        subject: str | None = None,
    ) -> int:
        """Record a version put in force, and tell every worker."""
        try:
            with self.engine.begin() as connection:
                seq = connection.execute(
                    insert(ConfigEvent)
                    .values(
                        kind=kind,
                        subject=subject,
                        version=version,
                        origin=origin,
                        source=source[:2000],
                        author=author,
                        created_at=datetime.now(UTC),
                    )
                    .returning(ConfigEvent.seq)
                ).scalar_one()
                if self.notifies:
                    _notify(connection, str(seq))
        except (OperationalError, InterfaceError) as exc:
            raise StoreUnavailable(
                f"the database is unavailable: {type(exc.orig).__name__}"
            ) from exc
        return int(seq)

    def nudge(self) -> None:
        """A notice with no change (PostgreSQL only): every listener wakes and
        finds nothing new, and one that is stopping stops at once. Best effort:
        a database that is away leaves the listener to stop within a second."""
        with contextlib.suppress(SQLAlchemyError), self.engine.begin() as connection:
            _notify(connection, "")

    def latest(self) -> int:
        """The newest change's sequence number (0: none yet)."""
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.max(ConfigEvent.seq))).scalar() or 0)

    def head(self, kind: str, *, origin: str | None = None) -> ConfigEntry | None:
        """The newest row of ``kind`` (and ``origin``)."""
        query = select(ConfigEvent).where(ConfigEvent.kind == kind)
        if origin is not None:
            query = query.where(ConfigEvent.origin == origin)
        with self.engine.connect() as connection:
            row = connection.execute(query.order_by(ConfigEvent.seq.desc()).limit(1)).first()
        return None if row is None else _entry(ConfigEvent(**row._mapping))

    def since(self, seq: int, limit: int = 1000) -> list[ConfigEntry]:
        """The changes after ``seq``, oldest first."""
        query = (
            select(ConfigEvent).where(ConfigEvent.seq > seq).order_by(ConfigEvent.seq).limit(limit)
        )
        with self.engine.connect() as connection:
            return [_entry(ConfigEvent(**row._mapping)) for row in connection.execute(query)]

    def history(self, kind: str | None = None, limit: int = 50) -> list[ConfigEntry]:
        query = select(ConfigEvent)
        if kind is not None:
            query = query.where(ConfigEvent.kind == kind)
        query = query.order_by(ConfigEvent.seq.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [_entry(ConfigEvent(**row._mapping)) for row in connection.execute(query)]
