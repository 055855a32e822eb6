"""Real databases for the persistence tests: a SQLite file, and a fresh
PostgreSQL database per run on the server at 127.0.0.1:5432 (or
MODELROUTER_TEST_POSTGRES_URL). An unreachable server skips its tests with a
message naming it; with CI=true it fails them instead."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from modelrouter.store.database import create_engine_for, redact, upgrade
from modelrouter.store.repository import Repository

POSTGRES_URL = os.environ.get(
    "MODELROUTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def unavailable(what: str, exc: Exception) -> None:
    message = f"{what} is unreachable ({type(exc).__name__}: {exc})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    admin_url = "postgresql+psycopg://" + POSTGRES_URL.split("://", 1)[1]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"modelrouter_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        unavailable(f"PostgreSQL at {redact(POSTGRES_URL)}", exc)
    base, _, _ = POSTGRES_URL.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'modelrouter.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine_for(database_url)
    upgrade(engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:  # each test starts from empty tables
            connection.execute(
                text(
                    "TRUNCATE inference_requests, tenants, catalog_versions, platform_policies, "
                    "budget_spend, budget_reservations RESTART IDENTITY"
                )
            )
    yield engine
    engine.dispose()


@pytest.fixture
def repository(engine: Engine) -> Repository:
    return Repository(engine)
