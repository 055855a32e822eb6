"""API keys on the real SQLite and PostgreSQL: list, revoke and expiry; two
KeyStores on one database standing for two workers (a revocation through one
is refused by the other within a second, a key created through one is usable
in the other); the negative cache (an unknown id costs no query per request);
the admin endpoints; the CLI; migration 0003 both ways."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, inspect, select, text
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from modelrouter.cli.app import app as cli_app
from modelrouter.errors import InvalidInputError, StoreUnavailable
from modelrouter.service.app import build_state, create_app
from modelrouter.service.state import ServiceState
from modelrouter.store.database import _alembic_config, create_engine_for, upgrade
from modelrouter.store.keys import (
    MISS,
    TRUST_SECONDS,
    KeyStore,
    Principal,
    UnknownKeyError,
)
from modelrouter.store.tables import ApiKeyRevision

# What "every worker within a second" is measured against.
WITHIN = 1.0


@pytest.fixture
def store(engine: Engine) -> KeyStore:
    with engine.begin() as connection:  # the PostgreSQL database lives for the session
        connection.execute(text("DELETE FROM api_keys"))
    return KeyStore(engine)


@pytest.fixture
def other_engine(database_url: str, store: KeyStore) -> Iterator[Engine]:
    """A second engine (its own pool) on the same database: another worker."""
    engine = create_engine_for(database_url)
    yield engine
    engine.dispose()


def answer(keys: KeyStore, presented: str) -> Principal | None:
    """What the service's ``authenticate`` does: memory first, then the database."""
    cached = keys.verify_cached(presented)
    return keys.verify(presented) if cached is MISS else cached


def until(check: Callable[[], bool], within: float) -> float | None:
    """Seconds until ``check()`` held, polled every 5 ms; None if it never did."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if check():
            return time.monotonic() - started
        time.sleep(0.005)
    return None


class Queries:
    """Statements an engine sends, counted by a before_cursor_execute listener."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _count(self, *args: Any) -> None:
        self.statements.append(args[2])

    def __enter__(self) -> Queries:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def on(self, table: str) -> int:
        return sum(bool(re.search(rf"\bFROM {table}\b", s)) for s in self.statements)


# -- list, revoke, expiry ---------------------------------------------------------------


def test_list_shows_every_key_and_never_a_secret(store: KeyStore) -> None:
    admin = store.create("admin")
    tenant = store.create("tenant", "acme")
    later = datetime.now(UTC) + timedelta(days=30)
    gateway = store.create("gateway", expires_at=later)
    listed = store.list()
    assert [(k.role, k.tenant_id) for k in listed] == [
        ("admin", None),
        ("tenant", "acme"),
        ("gateway", None),
    ]
    assert [k.id for k in listed] == [key.split("_")[1] for key in (admin, tenant, gateway)]
    assert listed[2].expires_at is not None
    assert abs(listed[2].expires_at - later) < timedelta(milliseconds=1)
    assert all(k.created_at.tzinfo is not None and k.revoked_at is None for k in listed)
    assert {k.status() for k in listed} == {"active"}
    dumped = json.dumps([k.to_dict() for k in listed])
    for key in (admin, tenant, gateway):
        secret = key.split("_", 2)[2]
        assert secret not in dumped
        assert hashlib.sha256(secret.encode()).hexdigest() not in dumped
    assert set(listed[0].to_dict()) == {
        "id",
        "role",
        "tenant_id",
        "status",
        "created_at",
        "expires_at",
        "revoked_at",
    }


def test_revoke_refuses_the_key_and_is_idempotent(store: KeyStore) -> None:
    key = store.create("tenant", "acme")
    key_id = key.split("_")[1]
    assert store.verify(key) == Principal(key_id, "tenant", "acme")
    revoked = store.revoke(key_id)
    assert revoked.revoked_at is not None and revoked.status() == "revoked"
    assert store.verify(key) is None  # at once in the process that revoked it
    again = store.revoke(key_id)
    assert again.revoked_at == revoked.revoked_at  # the first revocation stands
    assert [k.status() for k in store.list()] == ["revoked"]
    with pytest.raises(UnknownKeyError, match="no key 'feedfacefeedface'"):
        store.revoke("feedfacefeedface")


def test_an_expired_key_is_refused_like_a_revoked_one(store: KeyStore) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=0.3)
    key = store.create("gateway", expires_at=expires)
    assert answer(store, key) is not None
    assert until(lambda: answer(store, key) is None, within=2.0) is not None
    assert datetime.now(UTC) >= expires
    assert [k.status() for k in store.list()] == ["expired"]


@pytest.mark.parametrize(
    ("arguments", "field", "message"),
    [
        (("root",), "role", "role must be one of admin, gateway, tenant"),
        (("tenant",), "tenant_id", "a tenant key needs a tenant id"),
        (("admin", "acme"), "tenant_id", "only a tenant key takes one"),
        (("tenant", ""), "tenant_id", "1 to 200 characters"),
        (("tenant", "x" * 201), "tenant_id", "1 to 200 characters"),
        (("tenant", "ac\x00me"), "tenant_id", "control character"),
        (("gateway", None, datetime(2001, 1, 1, tzinfo=UTC)), "expires_at", "not in the future"),
        (("gateway", None, datetime(2150, 1, 1, tzinfo=UTC)), "expires_at", "between 2000"),
    ],
)
def test_create_refuses_bad_input(
    store: KeyStore, arguments: tuple[Any, ...], field: str, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as raised:
        store.create(*arguments)
    assert raised.value.field == field
    assert store.list() == []


def test_a_naive_expiry_is_utc(store: KeyStore) -> None:
    naive = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=2)
    _, info = store.issue("gateway", expires_at=naive)
    assert info.expires_at == naive.replace(tzinfo=UTC)
    assert store.list()[0].expires_at == naive.replace(tzinfo=UTC)


# -- two workers on one database -------------------------------------------------------


def test_a_revocation_reaches_another_worker_within_a_second(
    store: KeyStore, other_engine: Engine
) -> None:
    other = KeyStore(other_engine)
    delays = []
    for _ in range(3):
        key = store.create("gateway")
        assert answer(other, key) is not None  # cached by the other worker
        time.sleep(0.1)
        assert answer(other, key) is not None
        store.revoke(key.split("_")[1])

        def refused(key: str = key) -> bool:
            return answer(other, key) is None

        delay = until(refused, within=WITHIN)
        assert delay is not None, "the other worker still accepts a key revoked a second ago"
        delays.append(delay)
        assert answer(other, key) is None
    assert max(delays) < WITHIN


def test_a_key_created_in_one_worker_is_usable_in_another_within_a_second(
    store: KeyStore, other_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = KeyStore(other_engine)
    fresh = store.create("gateway")
    assert answer(other, fresh) is not None  # never presented before: read at once
    # A key id the other worker has already been told is unknown (cached as such).
    monkeypatch.setattr(secrets, "token_hex", lambda _: "00aa11bb22cc33dd")
    monkeypatch.setattr(secrets, "token_urlsafe", lambda _: "s3cret")
    presented = "mr_00aa11bb22cc33dd_s3cret"
    assert answer(other, presented) is None
    assert answer(other, presented) is None
    assert store.create("tenant", "acme") == presented
    delay = until(lambda: answer(other, presented) is not None, within=WITHIN + 0.2)
    assert delay is not None and delay < WITHIN
    assert answer(other, presented) == Principal("00aa11bb22cc33dd", "tenant", "acme")


def test_an_unknown_key_costs_a_handful_of_queries(store: KeyStore, other_engine: Engine) -> None:
    known = store.create("gateway")
    worker = KeyStore(other_engine)
    assert answer(worker, known) is not None  # warm: the revision is read
    unknown = "mr_0123456789abcdef_nosuchsecret"
    wrong_secret = f"mr_{known.split('_')[1]}_wrong"
    with Queries(other_engine) as queries:
        for _ in range(1000):
            assert answer(worker, unknown) is None
    assert queries.on("api_keys") <= 1, queries.statements
    assert len(queries.statements) <= 3, queries.statements
    with Queries(other_engine) as queries:
        for _ in range(1000):
            assert answer(worker, wrong_secret) is None
    assert len(queries.statements) <= 3, queries.statements
    with Queries(other_engine) as queries:
        for malformed in ("mr_x_y", "mr_" + "a" * 33 + "_s", "sk-123", "mr__s", "mr_abc_"):
            assert answer(worker, malformed) is None
    assert queries.statements == []
    # Spread over 1.5 s: about one read of the revision per 0.5 s and of the id per second.
    with Queries(other_engine) as queries:
        for _ in range(300):
            assert answer(worker, unknown) is None
            time.sleep(0.005)
    assert queries.on("api_keys") <= 3 and len(queries.statements) <= 10, queries.statements


def test_the_revision_moves_with_every_create_and_revoke(store: KeyStore) -> None:
    def revision() -> int:
        with store.engine.connect() as connection:
            value: int = connection.execute(select(ApiKeyRevision.revision)).scalar_one()
        return value

    start = revision()
    key = store.create("admin")
    assert revision() == start + 1
    store.revoke(key.split("_")[1])
    assert revision() == start + 2
    store.revoke(key.split("_")[1])  # already revoked: nothing changed
    assert revision() == start + 2


class _Down:
    """An engine whose database has gone away."""

    def connect(self) -> Any:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))

    begin = connect


def test_an_unreadable_revision_is_a_refusal_not_a_stale_yes(
    store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = store.create("gateway")
    assert answer(store, key) is not None
    monkeypatch.setattr(store, "engine", _Down())
    time.sleep(TRUST_SECONDS + 0.05)
    assert store.verify_cached(key) is MISS
    with pytest.raises(StoreUnavailable, match="unavailable"):
        store.verify(key)
    with pytest.raises(StoreUnavailable):
        store.revoke(key.split("_")[1])


# -- the HTTP endpoints ------------------------------------------------------------------


def _state(database_url: str, directory: Path) -> ServiceState:
    directory.mkdir(parents=True, exist_ok=True)
    return build_state(database_url=database_url, directory=directory)


@pytest.fixture
def workers(
    database_url: str, store: KeyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, TestClient, dict[str, dict[str, str]]]]:
    """Two service workers on one database, and keys of every role."""
    monkeypatch.delenv("MODELROUTER_NATS_URL", raising=False)
    first, second = _state(database_url, tmp_path / "a"), _state(database_url, tmp_path / "b")

    def header(role: str, tenant: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {first.keys.create(role, tenant)}"}

    keys = {
        "admin": header("admin"),
        "gateway": header("gateway"),
        "acme": header("tenant", "acme"),
    }
    try:
        with TestClient(create_app(first)) as a, TestClient(create_app(second)) as b:
            yield a, b, keys
    finally:
        first.close()
        second.close()


Workers = tuple[TestClient, TestClient, dict[str, dict[str, str]]]


def test_only_an_admin_key_manages_keys(workers: Workers) -> None:
    client, _, keys = workers
    calls = [("GET", "/v1/keys", None), ("POST", "/v1/keys", {"role": "gateway"})]
    calls.append(("DELETE", "/v1/keys/0123456789abcdef", None))
    for method, url, body in calls:
        assert client.request(method, url, json=body).status_code == 401
        for role in ("gateway", "acme"):
            refused = client.request(method, url, json=body, headers=keys[role])
            assert refused.status_code == 403, (method, url, role)
            assert refused.json()["error"]["code"] == "forbidden"
    listed = client.get("/v1/keys", headers=keys["admin"])
    assert listed.status_code == 200
    rows = listed.json()["keys"]
    assert [(k["role"], k["tenant_id"], k["status"]) for k in rows] == [
        ("admin", None, "active"),
        ("gateway", None, "active"),
        ("tenant", "acme", "active"),
    ]
    assert "secret" not in listed.text and "key" not in rows[0]


def test_create_answers_the_key_once_and_revoke_refuses_it(workers: Workers) -> None:
    client, _, keys = workers
    expires = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    created = client.post(
        "/v1/keys",
        json={"role": "tenant", "tenant_id": "globex", "expires_at": expires.isoformat()},
        headers=keys["admin"],
    )
    assert created.status_code == 201, created.text
    assert created.headers["Cache-Control"] == "no-store"
    body = created.json()
    assert body["key"].startswith(f"mr_{body['id']}_")
    assert datetime.fromisoformat(body["expires_at"]) == expires
    assert (body["role"], body["tenant_id"], body["status"]) == ("tenant", "globex", "active")
    new_key = {"Authorization": f"Bearer {body['key']}"}
    assert client.get("/v1/tenants/globex/spend", headers=new_key).status_code == 200
    listed = client.get("/v1/keys", headers=keys["admin"])
    assert body["key"] not in listed.text
    assert body["key"].split("_", 2)[2] not in listed.text

    revoked = client.delete(f"/v1/keys/{body['id']}", headers=keys["admin"])
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked" and revoked.json()["revoked_at"]
    refused = client.get("/v1/tenants/globex/spend", headers=new_key)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    again = client.delete(f"/v1/keys/{body['id']}", headers=keys["admin"])
    assert again.status_code == 200 and again.json() == revoked.json()
    missing = client.delete("/v1/keys/0123456789abcdef", headers=keys["admin"])
    assert missing.status_code == 404
    assert missing.json()["error"] == {"code": "not_found", "message": "no key 0123456789abcdef"}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"role": "root"}, "role", "Input should be 'admin', 'gateway', 'tenant' or 'runtime'"),
        ({}, "role", "required field is missing"),
        ({"role": "tenant"}, "tenant_id", "a tenant key needs a tenant id"),
        ({"role": "admin", "tenant_id": "acme"}, "tenant_id", "only a tenant key takes one"),
        ({"role": "tenant", "tenant_id": "x" * 201}, "tenant_id", "at most 200 characters"),
        ({"role": "tenant", "tenant_id": ""}, "tenant_id", "at least 1 character"),
        ({"role": "tenant", "tenant_id": "ac\u0007me"}, "tenant_id", "control character"),
        ({"role": "tenant", "tenant_id": 7}, "tenant_id", "valid string"),
        ({"role": "gateway", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at", "future"),
        ({"role": "gateway", "expires_at": "next tuesday"}, "expires_at", "datetime"),
        ({"role": "gateway", "expires_at": "2150-01-01T00:00:00Z"}, "expires_at", "2000"),
        ({"role": "gateway", "secret": "mine"}, "secret", "unknown field"),
    ],
)
def test_create_refuses_bad_input_with_a_clear_422(
    workers: Workers, body: dict[str, Any], field: str, message: str
) -> None:
    client, _, keys = workers
    refused = client.post("/v1/keys", json=body, headers=keys["admin"])
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_input" and error["field"] == field
    assert message in error["message"]


def test_a_key_revoked_through_one_worker_is_refused_by_the_other_within_a_second(
    workers: Workers,
) -> None:
    first, second, keys = workers
    created = client_json(first.post("/v1/keys", json={"role": "gateway"}, headers=keys["admin"]))
    key = {"Authorization": f"Bearer {created['key']}"}
    assert second.get("/v1/catalog", headers=key).status_code == 200  # usable there at once
    assert first.delete(f"/v1/keys/{created['id']}", headers=keys["admin"]).status_code == 200
    delay = until(lambda: second.get("/v1/catalog", headers=key).status_code == 401, WITHIN)
    assert delay is not None and delay < WITHIN


def test_the_service_answers_503_when_it_cannot_check_keys(
    database_url: str, store: KeyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELROUTER_NATS_URL", raising=False)
    state = _state(database_url, tmp_path / "svc")
    key = {"Authorization": f"Bearer {state.keys.create('gateway')}"}
    try:
        with TestClient(create_app(state)) as client:
            assert client.get("/v1/catalog", headers=key).status_code == 200
            monkeypatch.setattr(state.keys, "engine", _Down())
            time.sleep(TRUST_SECONDS + 0.05)
            refused = client.get("/v1/catalog", headers=key)
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"]["code"] == "store_unavailable"
    finally:
        state.close()


def client_json(response: Any) -> dict[str, Any]:
    assert response.status_code < 300, response.text
    body: dict[str, Any] = response.json()
    return body


# -- the CLI on both databases, and the migration ---------------------------------------------

runner = CliRunner()


def test_the_cli_lists_and_revokes(
    store: KeyStore, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELROUTER_DATABASE_URL", database_url)
    created = runner.invoke(cli_app, ["keys", "create", "--role", "gateway", "--json"])
    assert created.exit_code == 0, created.output
    key = json.loads(created.stdout)
    listed = runner.invoke(cli_app, ["keys", "list", "--json"])
    assert [k["id"] for k in json.loads(listed.stdout)["keys"]] == [key["id"]]
    revoked = runner.invoke(cli_app, ["keys", "revoke", key["id"]])
    assert revoked.exit_code == 0 and f"key {key['id']} (gateway) revoked" in revoked.stdout
    assert store.verify(key["key"]) is None


def test_migration_0003_goes_down_and_up_again(engine: Engine) -> None:
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        assert "expires_at" not in {c["name"] for c in inspect(engine).get_columns("api_keys")}
        assert "api_key_revision" not in inspect(engine).get_table_names()
    finally:
        upgrade(engine)
    columns = {c["name"]: c for c in inspect(engine).get_columns("api_keys")}
    assert columns["expires_at"]["nullable"]
    with engine.connect() as connection:
        assert connection.execute(select(ApiKeyRevision.id, ApiKeyRevision.revision)).all() == [
            (1, 0)
        ]
