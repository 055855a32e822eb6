"""Real databases for the persistence tests: a SQLite file, and a fresh
PostgreSQL database per run on the server at 127.0.0.1:5432 (or
MODELROUTER_TEST_POSTGRES_URL). An unreachable server skips its tests with a
message naming it; with CI=true it fails them instead."""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from modelrouter.service.app import build_state, create_app
from modelrouter.service.state import ServiceState
from modelrouter.store.database import create_engine_for, redact, upgrade
from modelrouter.store.repository import Repository
from tests.integration.proxy import CuttableProxy

POSTGRES_URL = os.environ.get(
    "MODELROUTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("MODELROUTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_REDIS_AT = urlsplit(REDIS_URL)
REDIS_HOST, REDIS_PORT = _REDIS_AT.hostname or "127.0.0.1", _REDIS_AT.port or 6379
REDIS_NAME = f"Redis at {REDIS_HOST}:{REDIS_PORT}"


def unavailable(what: str, exc: Exception) -> None:
    message = f"{what} is unreachable ({type(exc).__name__}: {exc})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def own_postgres_database(prefix: str = "modelrouter_test") -> Generator[str, None, None]:
    """A PostgreSQL database of the caller's own, dropped afterwards (skips,
    or fails under CI=true, when the server is unreachable)."""
    admin_url = "postgresql+psycopg://" + POSTGRES_URL.split("://", 1)[1]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        unavailable(f"PostgreSQL at {redact(POSTGRES_URL)}", exc)
    base, _, _ = POSTGRES_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    yield from own_postgres_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'modelrouter.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="module")
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2.0, socket_connect_timeout=2.0)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        unavailable(REDIS_NAME, exc)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix of the test's own; its keys are deleted after it."""
    name = f"test-{uuid.uuid4().hex}"
    yield name
    for key in redis_client.scan_iter(f"{name}*"):
        redis_client.delete(key)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine_for(database_url)
    upgrade(engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:  # each test starts from empty tables
            connection.execute(
                text(
                    "TRUNCATE inference_requests, tenants, catalog_versions, platform_policies, "
                    "budget_spend, budget_reservations, decision_attempts, config_events, "
                    "snapshot_parts RESTART IDENTITY"
                )
            )
    yield engine
    engine.dispose()


@pytest.fixture
def repository(engine: Engine) -> Repository:
    return Repository(engine)


# -- PostgreSQL behind a link the test can cut -------------------------------------------


@pytest.fixture
def proxied_url(postgres_url: str) -> Iterator[tuple[str, CuttableProxy]]:
    rest = postgres_url.split("://", 1)[1]
    credentials, _, location = rest.rpartition("@")
    hostport, _, database = location.partition("/")
    host, _, port = hostport.partition(":")
    proxy = CuttableProxy(host, int(port or 5432)).start()
    user = f"{credentials}@" if credentials else ""
    yield f"postgresql://{user}127.0.0.1:{proxy.port}/{database}", proxy
    proxy.close()


# -- a service on SQLite, for the HTTP tests -------------------------------------------


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceState]:
    monkeypatch.delenv("MODELROUTER_NATS_URL", raising=False)
    service = build_state(database_url=f"sqlite:///{tmp_path / 'svc.db'}", directory=tmp_path)
    yield service
    service.close()


@pytest.fixture
def client(state: ServiceState) -> Iterator[TestClient]:
    with TestClient(create_app(state)) as test_client:
        yield test_client


@pytest.fixture
def keys(state: ServiceState) -> dict[str, dict[str, str]]:
    def header(role: str, tenant: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {state.keys.create(role, tenant)}"}

    return {
        "admin": header("admin"),
        "gateway": header("gateway"),
        "acme": header("tenant", "acme"),
        "globex": header("tenant", "globex"),
    }
