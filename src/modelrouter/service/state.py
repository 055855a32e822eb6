"""Everything a running service holds: built once at start-up, closed at shut-down."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from modelrouter.catalog.index import Catalog
from modelrouter.observability.events import EventSink
from modelrouter.observability.metrics import Metrics
from modelrouter.observability.tracing import shutdown_tracing
from modelrouter.policy.document import PolicyDocument
from modelrouter.router import Router
from modelrouter.signals.calibration import CalibrationLog
from modelrouter.signals.learner import OutputLearner
from modelrouter.store.budgets import SqlBudgetStore
from modelrouter.store.keys import KeyStore
from modelrouter.store.repository import Repository
from modelrouter.store.writer import DecisionWriter
from modelrouter.types import RoutingPlan

__all__ = ["POLICY_CACHE_SECONDS", "RecentPlans", "ServiceState"]

# Policies written by another worker are seen within this long.
POLICY_CACHE_SECONDS = 5.0


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
    learner: OutputLearner = field(default_factory=OutputLearner)
    calibration: CalibrationLog = field(default_factory=CalibrationLog)
    recent: RecentPlans = field(default_factory=RecentPlans)
    # Decisions being routed now, by id: a retry that arrives meanwhile waits for the first.
    routing: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    _router: Router | None = None
    _platform_checked: float = 0.0
    _tenants: dict[str, tuple[float, PolicyDocument | None, int | None]] = field(
        default_factory=dict
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def router(self) -> Router:
        """The router under the platform policy in force (re-read every few seconds)."""
        now = time.monotonic()
        with self._lock:
            fresh = self._router is not None and now - self._platform_checked < POLICY_CACHE_SECONDS
            if fresh and self._router is not None:
                return self._router
        platform = self.repository.get_platform_policy() or PolicyDocument()
        with self._lock:
            current = self._router
            if current is None or current.platform_policy.version != platform.version:
                current = Router(
                    self.catalog,
                    platform,
                    learner=self.learner,
                    calibration=self.calibration,
                    budgets=SqlBudgetStore(self.engine),
                )
            self._router = current
            self._platform_checked = now
            return current

    def tenant_policy(self, tenant: str | None) -> tuple[PolicyDocument | None, int | None]:
        if tenant is None:
            return None, None
        now = time.monotonic()
        with self._lock:
            cached = self._tenants.get(tenant)
        if cached is not None and now - cached[0] < POLICY_CACHE_SECONDS:
            return cached[1], cached[2]
        stored = self.repository.get_tenant_policy(tenant)
        policy, revision = stored if stored is not None else (None, None)
        with self._lock:
            if len(self._tenants) > 100_000:
                self._tenants.clear()
            self._tenants[tenant] = (now, policy, revision)
        return policy, revision

    def forget_policies(self, tenant: str | None = None) -> None:
        with self._lock:
            if tenant is None:
                self._router = None
            else:
                self._tenants.pop(tenant, None)

    def use_catalog(self, catalog: Catalog) -> None:
        with self._lock:
            self.catalog = catalog
            self._router = None

    def close(self) -> None:
        self.writer.close()
        self.events.close()
        shutdown_tracing()
        self.engine.dispose()
