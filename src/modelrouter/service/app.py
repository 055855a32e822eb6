"""The FastAPI application: ``create_app()`` builds it, on the embedded
defaults or on whatever the environment names (see README, Configuration)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI
from pydantic import TypeAdapter, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from modelrouter import __version__
from modelrouter.catalog.index import Catalog
from modelrouter.errors import first_problem
from modelrouter.observability.metrics import Metrics
from modelrouter.observability.overload import track_admission
from modelrouter.observability.sinks import sink_from_env
from modelrouter.observability.sinks.jsonl import JsonLinesSink
from modelrouter.observability.sinks.nats import NatsSink
from modelrouter.observability.tracing import configure_tracing
from modelrouter.policy.budgets import BudgetStore
from modelrouter.service.admission import DEFAULT_MAX_IN_FLIGHT, AdmissionControl, AdmissionGate
from modelrouter.service.allocator import limit_malloc_arenas
from modelrouter.service.collector import settle_collector
from modelrouter.service.config_watch import ConfigWatcher
from modelrouter.service.errors import error_body, install_error_handlers
from modelrouter.service.fast_route import FastRoute
from modelrouter.service.refresh import PriceRefresh
from modelrouter.service.replay_body import replaying
from modelrouter.service.routes import (
    attempts,
    catalog,
    decisions,
    health,
    keys,
    policies,
    routing,
    runtime,
    signals,
)
from modelrouter.service.settings import Settings
from modelrouter.service.startup import (
    StartupError,
    catalog_in_force,
    platform_policy_in_force,
    start_catalog,
)
from modelrouter.service.state import ServiceState
from modelrouter.signals.live import SignalStore
from modelrouter.signals.memory import MemorySignals
from modelrouter.signals.redis import RedisSignals
from modelrouter.signals.redis_budgets import RedisBudgetStore
from modelrouter.store.budgets import SqlBudgetStore
from modelrouter.store.config_log import ConfigLog
from modelrouter.store.database import create_engine_for, upgrade
from modelrouter.store.keys import KeyStore
from modelrouter.store.repository import Repository
from modelrouter.store.writer import DecisionWriter

__all__ = ["DEFAULT_MAX_BODY_BYTES", "BodyLimit", "create_app"]

DEFAULT_MAX_BODY_BYTES = 1_048_576
# A body must arrive within this long of its headers.
BODY_TIMEOUT_SECONDS = 10.0


class BodyLimit:
    """413 for a body over the limit, whether it declares its length or is
    sent in chunks, and 408 for one that is not complete within the body
    deadline. The body (at most ``limit`` bytes) is read here, before the app
    sees the request, so an oversized stream is refused as such rather than as
    a parse error."""

    def __init__(self, app: ASGIApp, limit: int, timeout: float = BODY_TIMEOUT_SECONDS) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(
                send, 413, "body_too_large", f"the body is larger than {self.limit} bytes"
            )
            return
        chunks: list[bytes] = []
        seen = 0
        # One deadline over the whole body, on this task: ``asyncio.wait_for``
        # would make a task (and a loop turn) of every ``receive()``.
        deadline = asyncio.get_running_loop().time() + self.timeout
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return  # the client went away
                    chunk = message.get("body", b"")
                    seen += len(chunk)
                    if seen > self.limit:
                        break
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await self._refuse(
                send, 408, "body_timeout", f"the body was not sent within {self.timeout:g} s"
            )
            return
        if seen > self.limit:
            await self._refuse(
                send, 413, "body_too_large", f"the body is larger than {self.limit} bytes"
            )
            return
        await self.app(scope, replaying(b"".join(chunks), receive), send)

    @staticmethod
    async def _refuse(send: Send, status: int, code: str, message: str) -> None:
        body = json.dumps(error_body(code, message)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def build_state(
    *,
    database_url: str | None = None,
    catalog: Catalog | None = None,
    directory: Path | None = None,
    settings: Settings | None = None,
) -> ServiceState:
    """The running service: ``settings`` (default: read from the environment
    and ``modelrouter.toml``); ``database_url``, ``catalog`` and ``directory``
    override them (the tests' way in)."""
    settings = settings or Settings()
    limit_malloc_arenas(settings.malloc_arenas)  # before any of the threads below starts
    directory = directory or settings.data_dir
    engine = create_engine_for(database_url or settings.database_url or None)
    upgrade(engine)
    repository = Repository(engine)
    config = ConfigLog(engine)
    seen = config.latest()  # before reading what is in force: see ConfigWatcher
    try:
        start, source = start_catalog(settings.catalog, base=catalog)
        in_use, catalog_seq = catalog_in_force(repository, config, start, source)
        platform_policy_in_force(repository, config, settings.platform_policy)
    except StartupError as exc:
        engine.dispose()
        raise SystemExit(f"modelrouter: {exc}") from None
    metrics = Metrics()
    events = sink_from_env(directory)
    if isinstance(events, JsonLinesSink | NatsSink):  # both count what they drop
        metrics.track_sink("events", events)
    writer = DecisionWriter(
        repository,
        directory / "spool" / "decisions.jsonl",
        batch_size=100,  # short batches: the writer holds the interpreter less at a time
    ).start()
    settle_collector()
    signals, budgets = _live_stores(engine, settings)
    state = ServiceState(
        signals=signals,
        budgets=budgets,
        engine=engine,
        repository=repository,
        keys=KeyStore(engine),
        writer=writer,
        catalog=in_use,
        metrics=metrics,
        events=events,
        data_dir=directory,
        max_body_bytes=settings.max_body_bytes,
        max_request_seconds=settings.max_request_seconds,
        config=config,
        catalog_seq=catalog_seq,
    )
    state.watcher = ConfigWatcher(state, config, poll_ms=settings.config_poll_ms, seen=seen).start()
    state.refresh = PriceRefresh(state, settings).start()
    return state


def _live_stores(engine: Any, settings: Settings) -> tuple[SignalStore, BudgetStore]:
    """The signal store and the budget ledger the settings ask for: a Redis
    URL shares signals through Redis, and ``budget_ledger = redis`` moves the
    ledger there too."""
    url = settings.redis_url.strip()
    if settings.budget_ledger == "redis" and not url:
        raise SystemExit("modelrouter: MODELROUTER_BUDGET_LEDGER=redis needs MODELROUTER_REDIS_URL")
    if not url:
        return MemorySignals(), SqlBudgetStore(engine)
    signals = RedisSignals.from_url(
        url,
        prefix=settings.redis_prefix,
        refresh_ms=settings.signals_refresh_ms,
        stale_after_ms=settings.signals_stale_after_ms,
    ).start()
    if settings.budget_ledger == "redis":
        return signals, RedisBudgetStore.from_url(url, prefix=settings.redis_prefix)
    return signals, SqlBudgetStore(engine)


def create_app(
    state: ServiceState | None = None, *, fast_route: bool = True, **options: Any
) -> FastAPI:
    """The service. Without ``state`` it is built at start-up from the
    environment (``MODELROUTER_DATABASE_URL``, ``MODELROUTER_DATA_DIR``,
    ``MODELROUTER_NATS_URL``, ``OTEL_*``). ``fast_route=False`` leaves every
    ``POST /v1/route`` to the declared route (``service.fast_route``: the
    tests compare the two)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = getattr(app.state, "service", None) is None
        if owned:
            app.state.service = build_state(**options)
        track_admission(app.state.service.metrics.registry, gate)
        configure_tracing()
        try:
            yield
        finally:
            if owned:  # a state handed in is closed by whoever made it
                app.state.service.close()
                app.state.service = None

    app = FastAPI(
        title="modelrouter",
        version=__version__,
        summary="Which deployment serves a request, the fallbacks, the cost, and why.",
        lifespan=lifespan,
    )
    app.state.service = state
    install_error_handlers(app)
    modules = (routing, attempts, decisions, signals, policies, keys, catalog, runtime, health)
    for module in modules:
        app.include_router(module.router)
    limit = (
        state.max_body_bytes
        if state
        else int(os.environ.get("MODELROUTER_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))
    )
    timeout = float(os.environ.get("MODELROUTER_BODY_TIMEOUT_SECONDS", BODY_TIMEOUT_SECONDS))
    if fast_route:
        # Innermost: inside the gate and the body limit, ahead of FastAPI's
        # exception middleware and router, for the requests it answers alone.
        app.add_middleware(FastRoute, handlers=app.exception_handlers)
    app.add_middleware(BodyLimit, limit=limit, timeout=timeout)
    # Added last, so outermost: a request beyond the limit is refused before
    # its body is read (service/admission.py).
    gate = AdmissionGate(limit=max_in_flight())
    app.add_middleware(AdmissionControl, gate=gate)
    if state is not None:
        track_admission(state.metrics.registry, gate)
    return app


# The setting's own type and bounds (settings.py), to check the variable alone.
_MAX_IN_FLIGHT: TypeAdapter[int] = TypeAdapter(
    Annotated[int, *Settings.model_fields["max_in_flight"].metadata]
)


def max_in_flight() -> int:
    """``MODELROUTER_MAX_IN_FLIGHT`` as the worker's environment has it
    (``serve`` has checked it, with the other settings, before any worker
    starts; checked again here for an app started some other way)."""
    raw = os.environ.get("MODELROUTER_MAX_IN_FLIGHT", "").strip()
    if not raw:
        return DEFAULT_MAX_IN_FLIGHT
    try:
        return _MAX_IN_FLIGHT.validate_python(raw)
    except ValidationError as exc:
        _, message = first_problem(exc.errors())
        raise SystemExit(
            f"modelrouter: bad setting MODELROUTER_MAX_IN_FLIGHT (max_in_flight): {message}"
        ) from None
