"""``modelrouter keys``: create (with an expiry), list (a table, or JSON) and
revoke, on a SQLite file; every mistake is one line, never a traceback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from modelrouter.cli.app import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    monkeypatch.setenv("MODELROUTER_DATABASE_URL", url)
    return url


def keys(*args: str) -> Any:
    return runner.invoke(app, ["keys", *args])


def created(*args: str) -> dict[str, Any]:
    result = keys("create", *args, "--json")
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def test_create_prints_the_key_once() -> None:
    result = keys("create", "--role", "admin")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("mr_") and len(key.split("_", 2)) == 3
    listed = keys("list", "--json")
    assert key.split("_", 2)[2] not in listed.stdout


def test_create_with_an_expiry() -> None:
    before = datetime.now(UTC)
    month = created("--role", "tenant", "--tenant", "acme", "--expires-in", "30d")
    expires = datetime.fromisoformat(month["expires_at"])
    assert before + timedelta(days=30) <= expires <= datetime.now(UTC) + timedelta(days=30)
    assert (month["role"], month["tenant_id"], month["status"]) == ("tenant", "acme", "active")
    combined = created("--role", "gateway", "--expires-in", "1w2d12h")
    assert datetime.fromisoformat(combined["expires_at"]) - before >= timedelta(days=9, hours=12)
    dated = created("--role", "gateway", "--expires-at", "2030-01-31")
    assert dated["expires_at"] == "2030-01-31T00:00:00+00:00"  # no offset: UTC
    offset = created("--role", "gateway", "--expires-at", "2030-01-31T18:00:00+02:00")
    assert offset["expires_at"] == "2030-01-31T16:00:00+00:00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "root"], "role must be one of admin, gateway, tenant"),
        (["--role", "tenant"], "a tenant key needs a tenant id"),
        (["--role", "admin", "--tenant", "acme"], "only a tenant key takes one"),
        (["--role", "tenant", "--tenant", "x" * 201], "1 to 200 characters"),
        (["--role", "tenant", "--tenant", "ac\x1bme"], "control character"),
        (["--role", "gateway", "--expires-in", "30x"], "not a duration such as 30d"),
        (["--role", "gateway", "--expires-in", "0d"], "not in the future"),
        (["--role", "gateway", "--expires-in", "99999999999d"], "too long"),
        (["--role", "gateway", "--expires-at", "next week"], "not an ISO 8601 date or time"),
        (["--role", "gateway", "--expires-at", "2020-01-01"], "not in the future"),
        (["--role", "gateway", "--expires-at", "2150-01-01"], "between 2000-01-01 and 2100"),
        (
            ["--role", "gateway", "--expires-in", "1d", "--expires-at", "2030-01-01"],
            "--expires-in or --expires-at, not both",
        ),
    ],
)
def test_bad_input_is_one_line(args: list[str], message: str) -> None:
    result = keys("create", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output
    assert json.loads(keys("list", "--json").stdout) == {"keys": []}


def test_list_and_revoke() -> None:
    admin = created("--role", "admin")
    tenant = created("--role", "tenant", "--tenant", "acme", "--expires-in", "12h")
    table = keys("list")
    assert table.exit_code == 0, table.output
    assert "2 API keys" in table.stdout
    for word in (admin["id"], tenant["id"], "acme", "active", "tenant", "admin"):
        assert word in table.stdout
    assert "mr_" not in table.stdout

    revoked = keys("revoke", tenant["id"])
    assert revoked.exit_code == 0, revoked.output
    assert f"key {tenant['id']} (tenant acme) revoked at " in revoked.stdout
    again = keys("revoke", tenant["id"])
    assert again.exit_code == 0 and "was already revoked" in again.stdout
    by_key = keys("revoke", admin["key"])  # the whole key names its id
    assert by_key.exit_code == 0 and f"key {admin['id']} (admin) revoked" in by_key.stdout

    listed = json.loads(keys("list", "--json").stdout)["keys"]
    assert [(k["id"], k["status"]) for k in listed] == [
        (admin["id"], "revoked"),
        (tenant["id"], "revoked"),
    ]
    assert all(k["revoked_at"] for k in listed)
    assert not any("key" in k or "secret_sha256" in k for k in listed)
    assert "revoked" in keys("list").stdout


def test_revoking_an_unknown_key_is_a_message() -> None:
    result = keys("revoke", "feedfacefeedface")
    assert result.exit_code == 2
    assert "error (unknown_key): no key 'feedfacefeedface'" in result.stderr
    assert "Traceback" not in result.output


def test_an_unreachable_store_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELROUTER_DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:1/x")
    for args in (["list"], ["revoke", "feedfacefeedface"], ["create", "--role", "admin"]):
        result = keys(*args)
        assert result.exit_code == 2, result.output
        assert "postgresql://nobody:***@127.0.0.1:1/x" in result.stderr
        assert "secret" not in result.output and "Traceback" not in result.output
