"""Everything a running service holds: built once at start-up, closed at shut-down."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from modelrouter.catalog.index import Catalog
from modelrouter.observability.events import EventSink
from modelrouter.observability.metrics import Metrics
from modelrouter.observability.tracing import shutdown_tracing
from modelrouter.policy.budgets import BudgetStore
from modelrouter.policy.document import PolicyDocument
from modelrouter.router import Router
from modelrouter.service.catalogs import CatalogCache
from modelrouter.service.policy_cache import PolicyCache
from modelrouter.signals.calibration import CalibrationLog
from modelrouter.signals.learner import InputCorrection, OutputLearner
from modelrouter.signals.live import SignalStore
from modelrouter.signals.memory import MemorySignals
from modelrouter.store.attempts import AttemptLog
from modelrouter.store.budgets import SqlBudgetStore
from modelrouter.store.config_log import ConfigLog
from modelrouter.store.keys import KeyStore
from modelrouter.store.repository import Repository
from modelrouter.store.writer import DecisionWriter
from modelrouter.types import RoutingPlan

__all__ = ["DEFAULT_MAX_REQUEST_SECONDS", "RecentPlans", "ServiceState"]

DEFAULT_MAX_REQUEST_SECONDS = 900.0


class RecentPlans:
    """What this process remembers of the decisions it routed, bounded.

    - Until the writer has committed a decision to the database, its whole
      plan (with its snapshot): an outcome or attempt reported meanwhile still
      finds it (``get``), and stores it on the spot.
    - From then on, only the fingerprint of the body that asked for it: a retry
      under the same request id is still told from another body, and answered
      from the store, which holds the plan and its snapshot now.

    A whole plan is some 8 KB, a fingerprint (16 bytes of a sha256) about
    200 bytes with its entry; so memory stays
    flat however many decisions are routed. At most ``limit`` decisions are
    remembered, and at most ``pending_limit`` of them whole (only a database
    that is away for long leaves that many uncommitted: the oldest then keep
    their fingerprint only, and the store answers them once they reach it).
    Oldest first out."""

    def __init__(self, limit: int = 50_000, pending_limit: int = 10_000) -> None:
        self._marks: OrderedDict[str, bytes] = OrderedDict()  # every decision: its fingerprint
        self._plans: OrderedDict[str, RoutingPlan] = OrderedDict()  # not committed yet
        self._limit = limit
        self._pending_limit = min(pending_limit, limit)
        self._lock = threading.Lock()

    def put(self, plan: RoutingPlan, fingerprint: bytes = b"") -> None:
        """Remember a decision routed here (before it is durable: the writer may
        commit it as soon as the journal has it)."""
        decision_id = plan.decision_id
        with self._lock:
            self._marks[decision_id] = fingerprint
            self._marks.move_to_end(decision_id)
            self._plans[decision_id] = plan
            self._plans.move_to_end(decision_id)
            while len(self._marks) > self._limit:
                oldest, _ = self._marks.popitem(last=False)
                self._plans.pop(oldest, None)
            while len(self._plans) > self._pending_limit:
                self._plans.popitem(last=False)

    def committed(self, decision_ids: Iterable[str]) -> None:
        """These decisions are in the database now: keep their fingerprints only.
        Called from the writer's thread."""
        with self._lock:
            for decision_id in decision_ids:
                self._plans.pop(decision_id, None)

    def discard(self, decision_id: str) -> None:
        """Forget a decision that was never answered (it did not become durable)."""
        with self._lock:
            self._plans.pop(decision_id, None)
            self._marks.pop(decision_id, None)

    def get(self, decision_id: str) -> RoutingPlan | None:
        """The whole plan, while the database does not hold it yet."""
        with self._lock:
            return self._plans.get(decision_id)

    def entry(self, decision_id: str) -> tuple[RoutingPlan | None, bytes] | None:
        """(the whole plan, or None once committed; the body's fingerprint), or
        None for a decision not routed here (or long ago)."""
        with self._lock:
            mark = self._marks.get(decision_id)
            if mark is None:
                return None
            return self._plans.get(decision_id), mark

    def __len__(self) -> int:
        """How many decisions are remembered (by fingerprint at least)."""
        return len(self._marks)

    @property
    def whole(self) -> int:
        """How many of them are held whole (not committed yet)."""
        return len(self._plans)


@dataclass
class ServiceState:
    engine: Engine
    repository: Repository
    keys: KeyStore
    writer: DecisionWriter
    catalog: Catalog
    metrics: Metrics
    events: EventSink
    data_dir: Path
    max_body_bytes: int
    # A reservation is held at least as long as the longest request the
    # platform allows, so a slow request's outcome still finds its money held.
    max_request_seconds: float = DEFAULT_MAX_REQUEST_SECONDS
    learner: OutputLearner = field(default_factory=OutputLearner)
    calibration: CalibrationLog = field(default_factory=CalibrationLog)
    input_correction: InputCorrection = field(default_factory=InputCorrection)
    recent: RecentPlans = field(default_factory=RecentPlans)
    # Decisions being routed now, by id: a retry that arrives meanwhile waits for the first.
    routing: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    policies: PolicyCache | None = None
    # Live signals (in process unless MODELROUTER_REDIS_URL names a shared store)
    # and the budget ledger (the database unless MODELROUTER_BUDGET_LEDGER=redis).
    signals: SignalStore = field(default_factory=MemorySignals)
    budgets: BudgetStore | None = None
    attempts: AttemptLog | None = None
    # Catalog versions besides the one in force: what outcomes of older decisions are priced at.
    catalogs: CatalogCache = field(default_factory=CatalogCache)
    config: ConfigLog | None = None
    # The configuration log's sequence number of the catalog in force: an
    # older change never replaces a newer one, whoever applies it first.
    catalog_seq: int = 0
    watcher: Any = None  # the ConfigWatcher following the configuration log
    refresh: Any = None  # the PriceRefresh job
    _router: Router | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        # Once the writer has committed a decision the store answers for it:
        # the recent plans keep its fingerprint only.
        self.writer.on_committed = self.recent.committed
        if self.policies is None:
            self.policies = PolicyCache(self.repository).start()
        if self.budgets is None:
            self.budgets = SqlBudgetStore(self.engine)
        if self.attempts is None:
            self.attempts = AttemptLog(self.engine)
        if self.config is None:
            self.config = ConfigLog(self.engine)
        self.metrics.track_signals(lambda: self.signals.health(self.catalog, datetime.now(UTC)))

    @property
    def config_log(self) -> ConfigLog:
        assert self.config is not None
        return self.config

    @property
    def attempt_log(self) -> AttemptLog:
        assert self.attempts is not None
        return self.attempts

    @property
    def policy_cache(self) -> PolicyCache:
        assert self.policies is not None
        return self.policies

    def router(self) -> Router:
        """The router under the platform policy in force: no I/O (the policy
        cache is refreshed in the background)."""
        platform = self.policy_cache.platform
        with self._lock:
            current = self._router
            if current is None or current.platform_policy is not platform:
                current = Router(
                    self.catalog,
                    platform,
                    learner=self.learner,
                    calibration=self.calibration,
                    input_correction=self.input_correction,
                    budgets=self.budgets,
                    reservation_ttl=timedelta(seconds=self.max_request_seconds),
                    signals=self.signals,
                    catalogs=self.catalog_at,
                )
                self._router = current
            return current

    def tenant_policy(self, tenant: str | None) -> tuple[PolicyDocument | None, int | None]:
        """The tenant's overlay as last read, reading it now on first sight
        (blocking: the async routes call ``load_tenant`` off the loop first)."""
        cached = self.policy_cache.tenant(tenant)
        if cached is not None:
            return cached
        assert tenant is not None
        return self.policy_cache.load_tenant(tenant)

    def forget_policies(self, tenant: str | None = None) -> None:
        self.policy_cache.forget(tenant)

    def catalog_at(self, version: str) -> Catalog | None:
        """A stored catalog version: the one in force, or from the cache, or the store."""
        current = self.catalog
        if version == current.version:
            return current
        return self.catalogs.get(version, self.repository.load_catalog)

    def put_in_force(
        self, catalog: Catalog, *, origin: str, source: str, author: str | None
    ) -> None:
        """Store a catalog version and put it in force: here at once, in every
        other worker on the database on the change notice, and after a restart."""
        self.repository.save_catalog(catalog)
        seq = self.config_log.publish(
            "catalog", catalog.version, origin=origin, source=source, author=author
        )
        self.use_catalog(catalog, seq=seq)

    def use_catalog(self, catalog: Catalog, *, seq: int | None = None) -> bool:
        """Route with ``catalog`` from now on; with ``seq`` (its change in the
        configuration log), only if no newer change is in force already."""
        with self._lock:
            if seq is not None:
                if seq <= self.catalog_seq:
                    return False
                self.catalog_seq = seq
            if catalog is not self.catalog:
                self.catalog = catalog
                self._router = None
            return True

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.close()
        if self.refresh is not None:
            self.refresh.close()
        self.policy_cache.close()
        self.signals.close()
        self.writer.close()
        self.events.close()
        shutdown_tracing()
        self.engine.dispose()
