"""Every worker follows the configuration log: a catalog or policy change
made through any worker of any instance is in force here within a second.

A thread waits for the next change: woken at once by PostgreSQL's notice
(``store.config_log``), and in any case every ``poll_ms`` (SQLite has no
notices; on PostgreSQL the poll is the backstop for a notice lost with its
connection). It then reads the changes since the last one it applied: the
newest catalog version is loaded (from a small cache of versions, or the
store) and swapped in; a policy change re-reads the policies in use.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy.exc import SQLAlchemyError

from modelrouter.service.state import ServiceState
from modelrouter.store.config_log import CHANNEL, ConfigLog

__all__ = ["DEFAULT_POLL_MS", "ConfigWatcher"]

_log = logging.getLogger(__name__)

DEFAULT_POLL_MS = 250


class ConfigWatcher:
    def __init__(
        self,
        state: ServiceState,
        log: ConfigLog,
        *,
        poll_ms: int = DEFAULT_POLL_MS,
        seen: int | None = None,
    ):
        self.state = state
        self.log = log
        self.poll = poll_ms / 1000
        # The last change the state already reflects: read before the state
        # was built, so a change made while this worker started is not missed.
        self.seq = log.latest() if seen is None else seen
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> ConfigWatcher:
        self._threads.append(threading.Thread(target=self._run, name="config-watch", daemon=True))
        if self.log.notifies:
            self._threads.append(
                threading.Thread(target=self._listen, name="config-listen", daemon=True)
            )
        for thread in self._threads:
            thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.check()
            except (SQLAlchemyError, OSError) as exc:  # the store is away: try again later
                _log.debug("configuration check failed: %s", exc)
            except Exception:  # never let one bad change stop this worker following the log
                _log.exception("configuration check failed")

    def _listen(self) -> None:
        url = self.log.engine.url.set(drivername="postgresql")
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    url.render_as_string(hide_password=False), autocommit=True
                ) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self._wake.set()  # changes made before we listened
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=1.0):
                            self._wake.set()
                            if self._stop.is_set():
                                break  # close()'s own notice: stop now, not within a second
            except psycopg.Error as exc:
                if self._stop.is_set():
                    return
                _log.debug("configuration notices lost (%s); polling meanwhile", exc)
                self._stop.wait(1.0)

    def check(self) -> bool:
        """Apply the changes since the last one applied; True if any was."""
        changes = self.log.since(self.seq)
        if not changes:
            return False
        catalogs = [c for c in changes if c.kind == "catalog"]
        policies = [c for c in changes if c.kind != "catalog"]
        newest = catalogs[-1] if catalogs else None
        if newest is not None and newest.seq > self.state.catalog_seq:
            catalog = self.state.catalog_at(newest.version)
            if catalog is None:
                _log.warning("catalog %s is in the log but not in the store", newest.version)
            else:
                self.state.use_catalog(catalog, seq=newest.seq)
        for change in policies:
            if change.kind == "tenant_policy" and change.subject is not None:
                self.state.policy_cache.forget(change.subject)
        if any(c.kind == "platform_policy" for c in policies):
            self.state.policy_cache.refresh()
        self.seq = changes[-1].seq
        return True

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self.log.notifies:
            self.log.nudge()
        for thread in self._threads:
            thread.join(timeout=3)
