"""The database schema. One migration history serves SQLite and PostgreSQL:
JSON columns become JSONB on PostgreSQL; money is NUMERIC there and decimal
text on SQLite (``ExactMoney``), exact on both."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, MetaData, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from modelrouter.money import exact_str

__all__ = [
    "ApiKey",
    "ApiKeyRevision",
    "Base",
    "BudgetReservation",
    "BudgetSpend",
    "CatalogVersion",
    "EncodedJson",
    "InferenceRequest",
    "PlatformPolicy",
    "Tenant",
]

Json = JSON().with_variant(JSONB(), "postgresql")


class EncodedJson(str):
    """JSON text already encoded (the journal encodes each snapshot once):
    stored as it is, not encoded a second time."""

    __slots__ = ()


class SnapshotJson(TypeDecorator[Any]):
    """A JSON column (JSONB on PostgreSQL) that also takes ``EncodedJson``."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())

    def bind_processor(self, dialect: Dialect) -> Any:
        encode = self.load_dialect_impl(dialect).bind_processor(dialect)

        def process(value: Any) -> Any:
            if isinstance(value, EncodedJson):
                return str(value)  # PostgreSQL casts the parameter to JSONB in the SQL
            return encode(value) if encode is not None else value

        return process


class ExactMoney(TypeDecorator[Decimal]):
    """Money, exact on every backend: NUMERIC(38, 18) on PostgreSQL (38 digits,
    18 after the point: a per-token price times any token count fits), and
    decimal text on SQLite, whose NUMERIC is a binary float (0.00704 came back
    as 0.007039999999999999). Arithmetic on it is done in Python, never in SQL,
    so both backends compute alike."""

    impl = Numeric(38, 18, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(38, 18, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return exact_str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


Money = ExactMoney()

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class InferenceRequest(Base):
    """One routing decision; its actual cost once an outcome is reported."""

    __tablename__ = "inference_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the decision id
    request_id: Mapped[str] = mapped_column(String(200))
    tenant_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    model: Mapped[str] = mapped_column(String(200))
    strategy: Mapped[str] = mapped_column(String(20))
    catalog_version: Mapped[str] = mapped_column(String(64))
    policy_versions: Mapped[dict[str, Any]] = mapped_column(Json)
    plan_hash: Mapped[str] = mapped_column(String(80))
    primary_deployment: Mapped[str] = mapped_column(String(400))
    routing_snapshot: Mapped[dict[str, Any]] = mapped_column(SnapshotJson())
    actual_cost: Mapped[dict[str, Any] | None] = mapped_column(Json, default=None)
    status: Mapped[str] = mapped_column(String(20), default="routed")
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    __table_args__ = (
        Index(None, "tenant_id", "created_at", "id"),
        Index(None, "created_at", "id"),
    )


class SnapshotPart(Base):
    """What many decisions' snapshots share (a policy stack's documents and
    effective policy), stored once under the digest of its content."""

    __tablename__ = "snapshot_parts"

    digest: Mapped[str] = mapped_column(String(80), primary_key=True)
    content: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DecisionAttempt(Base):
    """One attempt of a decision, as the gateway reported it: once per attempt id."""

    __tablename__ = "decision_attempts"

    decision_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempt_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deployment: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(40))  # "ok" or an error class
    final: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[Decimal | None] = mapped_column(Money, default=None)
    # The attempt's priced cost (``ActualCost.to_dict``), its usage source and report.
    cost: Mapped[dict[str, Any] | None] = mapped_column(Json, default=None)
    report: Mapped[dict[str, Any]] = mapped_column(Json)


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    routing_policy: Mapped[dict[str, Any]] = mapped_column(Json)
    policy_version: Mapped[str] = mapped_column(String(64))
    # Optimistic concurrency: a write names the revision it read.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CatalogVersion(Base):
    """Catalog content by version; never overwritten, so any decision replays."""

    __tablename__ = "catalog_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    content: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PlatformPolicy(Base):
    """Every platform policy ever put; the highest ``seq`` is in force."""

    __tablename__ = "platform_policies"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConfigEvent(Base):
    """One configuration change: a catalog or policy version put in force, by
    whom and from where. The newest ``catalog`` row is the catalog in force;
    every worker applies each new row (a change notice, or its poll)."""

    __tablename__ = "config_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))  # catalog, platform_policy, tenant_policy
    subject: Mapped[str | None] = mapped_column(String(200), default=None)  # the tenant
    version: Mapped[str] = mapped_column(String(64))
    # start (files or the bundled data at start-up), import, runtime, refresh, api
    origin: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(64), default=None)  # a key id
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index(None, "kind", "seq"),)


class BudgetSpend(Base):
    __tablename__ = "budget_spend"

    tenant_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    spent_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))


class BudgetReservation(Base):
    """Money held for one decision in one budget window (a row per window)."""

    __tablename__ = "budget_reservations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(200))
    amount_usd: Mapped[Decimal] = mapped_column(Money)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Settled reservations stay as tombstones: a repeated outcome settles once.
    settled: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index(None, "tenant_id", "window_key", "settled"),)


class ApiKey(Base):
    """A bearer key: only the SHA-256 of its secret is kept."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    tenant_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # Refused from this moment on, like a revoked key; none: never expires.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class ApiKeyRevision(Base):
    """One row (id 1), bumped in the transaction of every key created or
    revoked: each worker polls it to learn that its cached keys are stale."""

    __tablename__ = "api_key_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
