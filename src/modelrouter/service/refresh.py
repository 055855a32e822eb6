"""Live price refresh: reload the catalog from a configured source, check
it, and swap it in only if it is safe.

Off unless ``MODELROUTER_PRICE_REFRESH_SOURCE`` names a file or an http(s)
URL: a complete catalog in our format (``yaml``) or a LiteLLM cost map
(``litellm``). Every ``price_refresh_interval_seconds`` the source is read
and compared with the catalog in force (``catalog.changes.check_change``): a
price that moves by more than ``price_refresh_max_factor``, a price that
disappears, or a model that disappears while an alias uses it refuses the
refresh (unless forced by an admin through ``POST /v1/catalog/refresh``).
A refused refresh keeps the catalog in force and says why: a log line, the
metric ``modelrouter_catalog_refreshes_total{result="refused"}`` and
``GET /v1/catalog/refresh``. An accepted one is a stored version like any
other, in force on every worker. Nothing is fetched unless configured.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from modelrouter.catalog.changes import check_change
from modelrouter.catalog.index import Catalog
from modelrouter.catalog.sources.litellm.cost_map import import_litellm_cost_map
from modelrouter.errors import ModelRouterError
from modelrouter.service.settings import Settings
from modelrouter.service.state import ServiceState

__all__ = ["MAX_SOURCE_BYTES", "PriceRefresh", "RefreshStatus"]

_log = logging.getLogger(__name__)

MAX_SOURCE_BYTES = 64 * 1024 * 1024


@dataclass
class RefreshStatus:
    result: str  # accepted, refused, unchanged, failed, off
    at: str | None = None
    version: str | None = None
    message: str = ""
    problems: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "at": self.at,
            "version": self.version,
            "message": self.message,
            "problems": self.problems,
        }


class PriceRefresh:
    def __init__(self, state: ServiceState, settings: Settings) -> None:
        self.state = state
        self.source = settings.price_refresh_source.strip()
        self.format = settings.price_refresh_format
        self.interval = settings.price_refresh_interval_seconds
        self.max_factor = settings.price_refresh_max_factor
        self.status = RefreshStatus(
            "off" if not self.source else "pending",
            message="" if self.source else "no MODELROUTER_PRICE_REFRESH_SOURCE configured",
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> PriceRefresh:
        if self.source:
            self._thread = threading.Thread(target=self._run, name="price-refresh", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.run()

    def _read(self) -> Any:
        if self.source.startswith(("http://", "https://")):
            with httpx.stream("GET", self.source, timeout=30, follow_redirects=True) as answer:
                answer.raise_for_status()
                body = b""
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > MAX_SOURCE_BYTES:
                        raise ValueError(f"the source is larger than {MAX_SOURCE_BYTES} bytes")
            return yaml.safe_load(body)
        return yaml.safe_load(Path(self.source).read_text(encoding="utf-8"))

    def _catalog(self, raw: Any) -> Catalog:
        where = f"refresh {self.source}"
        if self.format == "litellm":
            return Catalog.from_layers(
                [(where, import_litellm_cost_map(raw, source=where).document)]
            )
        return Catalog.from_layers([(where, raw)])

    def run(self, *, force: bool = False, author: str | None = None) -> RefreshStatus:
        """One refresh, now: the status it ends in (also ``self.status``)."""
        with self._lock:
            self.status = self._refresh(force=force, author=author)
            self.state.metrics.count_refresh(self.status.result)
            return self.status

    def _refresh(self, *, force: bool, author: str | None) -> RefreshStatus:
        now = datetime.now(UTC)
        at = now.isoformat()
        if not self.source:
            return RefreshStatus(
                "off", at, message="no MODELROUTER_PRICE_REFRESH_SOURCE configured"
            )
        try:
            fresh = self._catalog(self._read())
        except (OSError, ValueError, yaml.YAMLError, httpx.HTTPError, ModelRouterError) as exc:
            _log.warning("price refresh from %s failed: %s", self.source, exc)
            return RefreshStatus("failed", at, message=f"{type(exc).__name__}: {exc}")
        current = self.state.catalog
        if fresh.version == current.version:
            return RefreshStatus("unchanged", at, current.version, "the source matches")
        problems = check_change(current, fresh, at=now, max_price_factor=self.max_factor)
        if problems and not force:
            message = f"refused: {len(problems)} problems; the catalog in force stays"
            _log.warning(
                "price refresh from %s %s: %s",
                self.source,
                message,
                "; ".join(p.message for p in problems[:5]),
            )
            return RefreshStatus(
                "refused", at, current.version, message, [p.to_dict() for p in problems]
            )
        self.state.put_in_force(
            fresh, origin="refresh", source=f"price refresh from {self.source}", author=author
        )
        note = "forced past the problems listed" if problems else "accepted"
        return RefreshStatus("accepted", at, fresh.version, note, [p.to_dict() for p in problems])

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
