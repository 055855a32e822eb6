"""Repositories over the schema, for the router's writer, the CLI and the HTTP service.

Database driver errors are converted at this boundary into ``StoreUnavailable``
(the database could not be reached) and ``StaleWrite`` (optimistic concurrency).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from modelrouter.catalog.index import Catalog
from modelrouter.errors import InvalidInputError, StaleWrite, StoreUnavailable
from modelrouter.policy.document import PolicyDocument, parse_policy
from modelrouter.pricing.cost import ActualCost
from modelrouter.routing.planner import PlanInputs
from modelrouter.store.snapshot_parts import join, split
from modelrouter.store.tables import (
    CatalogVersion,
    InferenceRequest,
    PlatformPolicy,
    SnapshotPart,
    Tenant,
)
from modelrouter.types import RoutingPlan

__all__ = [
    "DecisionPage",
    "Repository",
    "StoredDecision",
    "decision_row",
]


@dataclass(frozen=True, slots=True)
class StoredDecision:
    id: str
    tenant_id: str | None
    created_at: datetime
    plan: dict[str, Any]
    snapshot: dict[str, Any]
    actual_cost: dict[str, Any] | None
    status: str


@dataclass(frozen=True, slots=True)
class DecisionPage:
    decisions: list[StoredDecision]
    next_cursor: str | None


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def decision_row(plan: RoutingPlan) -> dict[str, Any]:
    """The row of one decision, in JSON types only: it is also what the
    journal holds. The snapshot names its shared part (``snapshot_part``,
    stored once by ``save_decisions``) instead of copying it."""
    whole = plan.snapshot
    if whole is None:
        raise ValueError(f"decision {plan.decision_id} carries no snapshot to store")
    inputs = plan.inputs
    digest = inputs.policy.shared_digest if isinstance(inputs, PlanInputs) else None
    snapshot, part = split(whole, digest)
    return {
        "id": plan.decision_id,
        "request_id": plan.request_id,
        "tenant_id": plan.tenant_id,
        "created_at": plan.timestamp.isoformat(),
        "model": plan.model,
        "strategy": plan.strategy,
        "catalog_version": plan.catalog_version,
        "policy_versions": snapshot["inputs"]["policy_versions"],
        "plan_hash": plan.plan_hash,
        "primary_deployment": plan.primary.deployment,
        # The plan is the snapshot's output: stored once, inside the snapshot.
        "routing_snapshot": snapshot,
        "snapshot_part": part,
    }


def _encode_cursor(row: StoredDecision) -> str:
    raw = f"{row.created_at.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, decision = raw.partition("|")
        return _utc(datetime.fromisoformat(moment)), decision
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInputError("cursor is not one this API returned", field="cursor") from None


class Repository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._dialect = engine.dialect.name
        # Shared snapshot parts by digest: immutable, few (one per policy stack).
        self._parts: dict[str, dict[str, Any]] = {}

    def _insert_new(self, table: type[Any], key: str) -> Any:
        """INSERT that skips rows whose key is already stored (both dialects)."""
        dialect_insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        # RETURNING yields only the rows inserted: the driver's rowcount is not
        # reliable for ON CONFLICT on every dialect.
        statement = dialect_insert(table).on_conflict_do_nothing(index_elements=[key])
        return statement.returning(getattr(table, key))

    def _guard(self, exc: DBAPIError) -> StoreUnavailable:
        return StoreUnavailable(f"the database is unavailable: {type(exc.orig).__name__}")

    # -- decisions -------------------------------------------------------------

    def save_decisions(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert decisions, skipping ids already stored (a replayed spool, a
        retried batch): the count stored never exceeds the count acknowledged."""
        if not rows:
            return 0
        now = datetime.now(UTC)
        parts = {
            part["digest"]: {
                "digest": part["digest"],
                "content": part["content"],
                "created_at": now,
            }
            for row in rows
            if (part := row.get("snapshot_part")) is not None and part["digest"] not in self._parts
        }
        values = [
            {
                **{key: value for key, value in row.items() if key != "snapshot_part"},
                "created_at": _utc(datetime.fromisoformat(row["created_at"])),
                "status": "routed",
            }
            for row in rows
        ]
        statement = self._insert_new(InferenceRequest, "id")
        try:
            with self.engine.begin() as connection:
                # The part first, in the same transaction: no row names a missing part.
                if parts:
                    connection.execute(
                        self._insert_new(SnapshotPart, "digest"), list(parts.values())
                    )
                inserted = len(connection.execute(statement, values).all())
        except (OperationalError, InterfaceError) as exc:
            raise self._guard(exc) from exc
        for digest, part in parts.items():
            self._parts[digest] = part["content"]
        return inserted

    def _part(self, digest: str) -> dict[str, Any] | None:
        known = self._parts.get(digest)
        if known is not None:
            return known
        with self.engine.connect() as connection:
            row = connection.execute(
                select(SnapshotPart.content).where(SnapshotPart.digest == digest)
            ).first()
        if row is None:
            return None
        content: dict[str, Any] = row[0]
        if len(self._parts) >= 1024:
            self._parts.clear()
        self._parts[digest] = content
        return content

    def _stored(self, row: InferenceRequest) -> StoredDecision:
        snapshot = join(row.routing_snapshot, self._part)
        return StoredDecision(
            id=row.id,
            tenant_id=row.tenant_id,
            created_at=_utc(row.created_at),
            plan=snapshot["output"],
            snapshot=snapshot,
            actual_cost=row.actual_cost,
            status=row.status,
        )

    def load_decision(
        self, decision_id: str, *, tenant: str | None = None
    ) -> StoredDecision | None:
        """The stored decision; with ``tenant``, only if it is that tenant's.

        The tenant is a condition of the query: another tenant's decision is not
        read at all, so it costs what a missing one costs (one query, no row)
        and nothing about it can be told by how long the answer took."""
        query = select(InferenceRequest).where(InferenceRequest.id == decision_id)
        if tenant is not None:
            query = query.where(InferenceRequest.tenant_id == tenant)
        with Session(self.engine) as session:
            row = session.scalars(query).first()
            return None if row is None else self._stored(row)

    def record_outcome(
        self,
        decision_id: str,
        cost: ActualCost,
        report: dict[str, Any] | None = None,
        *,
        usage_source: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Store the actual cost once, with where its usage came from
        (``usage_source``: measured, partial, estimated, reported) and what the
        gateway reported beside it (latency, status). Returns (the stored cost,
        whether this call stored it): a repeated report leaves the first one in
        place."""
        payload = cost.to_dict()
        if usage_source is not None:
            payload["usage_source"] = usage_source
        if report:
            payload["report"] = report
        with self.engine.begin() as connection:
            result = connection.execute(
                update(InferenceRequest)
                .where(InferenceRequest.id == decision_id, InferenceRequest.actual_cost.is_(None))
                .values(actual_cost=payload, status="settled", settled_at=datetime.now(UTC))
            )
            if result.rowcount == 1:
                return payload, True
            stored = connection.execute(
                select(InferenceRequest.actual_cost).where(InferenceRequest.id == decision_id)
            ).first()
        if stored is None:
            raise LookupError(f"no decision {decision_id}")
        existing: dict[str, Any] = stored[0]
        return existing, False

    def list_decisions(
        self,
        *,
        tenant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> DecisionPage:
        """Oldest first, ``limit`` at a time; pass ``next_cursor`` for the next page."""
        query = select(InferenceRequest)
        if tenant is not None:
            query = query.where(InferenceRequest.tenant_id == tenant)
        if since is not None:
            query = query.where(InferenceRequest.created_at >= _utc(since))
        if until is not None:
            query = query.where(InferenceRequest.created_at < _utc(until))
        if cursor is not None:
            after, decision = _decode_cursor(cursor)
            query = query.where(
                or_(
                    InferenceRequest.created_at > after,
                    and_(InferenceRequest.created_at == after, InferenceRequest.id > decision),
                )
            )
        query = query.order_by(InferenceRequest.created_at, InferenceRequest.id).limit(limit + 1)
        with Session(self.engine) as session:
            rows = [self._stored(row) for row in session.scalars(query)]
        more = len(rows) > limit
        rows = rows[:limit]
        return DecisionPage(rows, _encode_cursor(rows[-1]) if more and rows else None)

    def iter_decisions(
        self, *, tenant: str | None = None, since: datetime | None = None, page: int = 500
    ) -> Iterator[StoredDecision]:
        cursor: str | None = None
        while True:
            result = self.list_decisions(tenant=tenant, since=since, cursor=cursor, limit=page)
            yield from result.decisions
            if result.next_cursor is None:
                return
            cursor = result.next_cursor

    def spend_by_usage_source(
        self, tenant: str, *, since: datetime, until: datetime | None = None
    ) -> dict[str, tuple[int, Decimal]]:
        """The tenant's settled decisions routed in [since, until), by where the
        usage of each outcome came from: {source: (outcomes, spent USD)}.

        Outcomes stored before the source was recorded had a usage body (it was
        required then): they count as ``measured``. The amounts are added in
        Python, exactly, on both backends (see ``tables.ExactMoney``); only the
        two fields are read, one row at a time."""
        source = InferenceRequest.actual_cost["usage_source"].as_string()
        total = InferenceRequest.actual_cost["total_usd"].as_string()
        query = select(source, total).where(
            InferenceRequest.tenant_id == tenant,
            InferenceRequest.created_at >= _utc(since),
            InferenceRequest.actual_cost.is_not(None),
        )
        if until is not None:
            query = query.where(InferenceRequest.created_at < _utc(until))
        found: dict[str, tuple[int, Decimal]] = {}
        with self.engine.connect() as connection:
            rows = connection.execution_options(yield_per=1000).execute(query)
            for kind, amount in rows:
                name = kind or "measured"
                count, spent = found.get(name, (0, Decimal(0)))
                found[name] = (count + 1, spent + Decimal(amount or 0))
        return found

    def count_decisions(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count(InferenceRequest.id))).scalar_one())

    # -- catalogs ----------------------------------------------------------------

    def save_catalog(self, catalog: Catalog) -> bool:
        """Store a catalog version once; an existing version is never overwritten."""
        statement = self._insert_new(CatalogVersion, "version")
        with self.engine.begin() as connection:
            inserted = connection.execute(
                statement,
                {
                    "version": catalog.version,
                    "source": "; ".join(catalog.sources),
                    "content": catalog.content(),
                    "created_at": datetime.now(UTC),
                },
            ).all()
        return len(inserted) == 1

    def load_catalog(self, version: str) -> Catalog | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(CatalogVersion.content, CatalogVersion.source).where(
                    CatalogVersion.version == version
                )
            ).first()
        if row is None:
            return None
        catalog = Catalog.from_content(row[0], source=f"stored {version}")
        if catalog.version != version:
            raise ValueError(f"stored catalog {version} hashes to {catalog.version}")
        return catalog

    # -- policies ----------------------------------------------------------------

    def get_tenant_policy(self, tenant: str) -> tuple[PolicyDocument, int] | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(Tenant.routing_policy, Tenant.revision).where(Tenant.id == tenant)
            ).first()
        if row is None:
            return None
        return parse_policy(row[0], source=f"tenant {tenant}"), int(row[1])

    def get_tenant_policies(self, tenants: Sequence[str]) -> dict[str, tuple[PolicyDocument, int]]:
        """The stored overlays of these tenants (absent ones are left out), a
        few hundred per query."""
        found: dict[str, tuple[PolicyDocument, int]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(tenants), 500):
                rows = connection.execute(
                    select(Tenant.id, Tenant.routing_policy, Tenant.revision).where(
                        Tenant.id.in_(tenants[start : start + 500])
                    )
                )
                for tenant, content, revision in rows:
                    found[tenant] = (
                        parse_policy(content, source=f"tenant {tenant}"),
                        int(revision),
                    )
        return found

    def put_tenant_policy(
        self,
        tenant: str,
        policy: PolicyDocument,
        *,
        expected_revision: int | None,
        name: str | None = None,
    ) -> int:
        """Write the policy if the stored revision is ``expected_revision``
        (None: the tenant must not exist yet). Returns the new revision."""
        now = datetime.now(UTC)
        content = policy.content()
        with self.engine.begin() as connection:
            current = connection.execute(
                select(Tenant.revision).where(Tenant.id == tenant)
            ).scalar_one_or_none()
            if current != expected_revision:
                raise StaleWrite(f"tenant {tenant} policy", expected_revision, current)
            if current is None:
                connection.execute(
                    insert(Tenant),
                    {
                        "id": tenant,
                        "name": name or tenant,
                        "routing_policy": content,
                        "policy_version": policy.version,
                        "revision": 1,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
                return 1
            result = connection.execute(
                update(Tenant)
                .where(Tenant.id == tenant, Tenant.revision == current)
                .values(
                    routing_policy=content,
                    policy_version=policy.version,
                    revision=current + 1,
                    updated_at=now,
                )
            )
            if result.rowcount != 1:  # another writer won between read and write
                raise StaleWrite(f"tenant {tenant} policy", expected_revision, None)
            return current + 1

    def get_platform_policy(self) -> PolicyDocument | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(PlatformPolicy.content).order_by(PlatformPolicy.seq.desc()).limit(1)
            ).first()
        return None if row is None else parse_policy(row[0], source="platform policy")

    def put_platform_policy(self, policy: PolicyDocument) -> str:
        with self.engine.begin() as connection:
            connection.execute(
                insert(PlatformPolicy),
                {
                    "version": policy.version,
                    "content": policy.content(),
                    "created_at": datetime.now(UTC),
                },
            )
        return policy.version
