"""Where the database is, how to connect to it, and how to bring it up to date.

``MODELROUTER_DATABASE_URL`` names it (``postgresql://user@host/db`` or
``sqlite:///path``); by default it is a SQLite file in the data directory
(``MODELROUTER_DATA_DIR``, default ``./data``).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

__all__ = ["create_engine_for", "data_dir", "database_url", "redact", "upgrade"]


def data_dir() -> Path:
    return Path(os.environ.get("MODELROUTER_DATA_DIR", "data"))


def database_url() -> str:
    url = os.environ.get("MODELROUTER_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir() / 'modelrouter.db'}"


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


# Prepared statements sqlite3 keeps per connection (its default is 128).
SQLITE_STATEMENTS = 16


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    # WAL lets readers run beside the writer; a busy timeout instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine_for(url: str | None = None, **options: Any) -> Engine:
    url = url or database_url()
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Each cached statement keeps the values last bound to it. The writer's
        # batched INSERT has one statement per batch size, each holding up to a
        # hundred snapshots: with sqlite3's default of 128 cached statements a
        # worker kept tens of MB (heaptrack: sqlite3VdbeMemGrow from bind_param).
        connect_args = {"check_same_thread": False, "cached_statements": SQLITE_STATEMENTS}
        engine = create_engine(url, connect_args=connect_args, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    options.setdefault("pool_pre_ping", True)
    return create_engine(url, **options)


def _alembic_config() -> Config:
    config = Config()
    location = resources.files("modelrouter.store").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    return config


def upgrade(engine: Engine) -> None:
    """Apply every migration not yet applied (idempotent)."""
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
