"""Platform and tenant policies, read from the store off the request path.

A background thread re-reads the platform policy and every tenant policy in
use once a second, so a change made through any worker is in force in every
worker within about a second, and routing never waits on the database for a
policy it has seen. While the store is unreachable, the policies last read
stay in force and ``stale_since`` says since when: routing goes on, each
decision records that its policies may be stale. A tenant whose policy was
never read cannot be routed then (routing it under the platform policy alone
could admit what its overlay forbids): that is ``StoreUnavailable``.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from modelrouter.errors import StoreUnavailable
from modelrouter.policy.document import PolicyDocument
from modelrouter.store.repository import Repository

__all__ = ["REFRESH_SECONDS", "PolicyCache"]

_log = logging.getLogger(__name__)

# A change made through one worker is in force in every worker within this long.
REFRESH_SECONDS = 1.0
MAX_TENANTS = 100_000

TenantPolicy = tuple[PolicyDocument | None, int | None]


class PolicyCache:
    def __init__(self, repository: Repository, interval: float = REFRESH_SECONDS) -> None:
        self.repository = repository
        self.interval = interval
        self.platform = PolicyDocument()
        self._tenants: dict[str, TenantPolicy] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stale_since: datetime | None = None

    # -- the request path: memory only, except a tenant's first sight ------------

    def tenant(self, tenant: str | None) -> TenantPolicy | None:
        """The tenant's overlay and revision as last read; None if never read."""
        if tenant is None:
            return None, None
        with self._lock:
            return self._tenants.get(tenant)

    def load_tenant(self, tenant: str) -> TenantPolicy:
        """Read a tenant's overlay now (blocking: call it off the event loop)."""
        try:
            stored = self.repository.get_tenant_policy(tenant)
        except SQLAlchemyError as exc:
            self._unreachable(exc)
            raise StoreUnavailable(
                f"the policy of tenant {tenant!r} cannot be read: the database is unreachable"
            ) from None
        entry: TenantPolicy = stored if stored is not None else (None, None)
        with self._lock:
            if len(self._tenants) >= MAX_TENANTS:
                self._tenants.clear()
            self._tenants[tenant] = entry
        return entry

    def forget(self, tenant: str | None = None) -> None:
        """After a write through this worker: read it again now."""
        if tenant is None:
            self.refresh()
        else:
            with self._lock:
                self._tenants.pop(tenant, None)

    # -- the background refresh ------------------------------------------------------

    def refresh(self) -> bool:
        """One pass over every policy in use; False when the store did not answer."""
        with self._lock:
            tenants = list(self._tenants)
        try:
            platform = self.repository.get_platform_policy() or PolicyDocument()
            fresh = self.repository.get_tenant_policies(tenants)
        except SQLAlchemyError as exc:
            self._unreachable(exc)
            return False
        with self._lock:
            # The same object while nothing changed: the router is rebuilt only on a change.
            if platform != self.platform:
                self.platform = platform
            for tenant in tenants:
                if tenant in self._tenants:
                    entry = fresh.get(tenant, (None, None))
                    if entry[1] != self._tenants[tenant][1]:
                        self._tenants[tenant] = entry
            if self.stale_since is not None:
                _log.warning("the database answers again; policies are current")
            self.stale_since = None
        return True

    def _unreachable(self, exc: Exception) -> None:
        with self._lock:
            if self.stale_since is None:
                self.stale_since = datetime.now(UTC)
                _log.warning("policies may be stale: the database is unreachable (%s)", exc)

    def start(self) -> PolicyCache:
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="policy-refresh", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
