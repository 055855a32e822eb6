"""Everything a running service holds: built once at start-up, closed at shut-down."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
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
    """Plans routed by this process, with the fingerprint of the body that asked
    for each: an outcome reported before the writer committed its decision
    still finds it, and a retry under the same request id gets the same
    decision. Bounded; oldest first out."""

    def __init__(self, limit: int = 50_000) -> None:
        self._plans: OrderedDict[str, tuple[RoutingPlan, str]] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def put(self, plan: RoutingPlan, fingerprint: str = "") -> None:
        with self._lock:
            self._plans[plan.decision_id] = (plan, fingerprint)
            if len(self._plans) > self._limit:
                self._plans.popitem(last=False)

    def get(self, decision_id: str) -> RoutingPlan | None:
        with self._lock:
            entry = self._plans.get(decision_id)
        return None if entry is None else entry[0]

    def entry(self, decision_id: str) -> tuple[RoutingPlan, str] | None:
        with self._lock:
            return self._plans.get(decision_id)


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
