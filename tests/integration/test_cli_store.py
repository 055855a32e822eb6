"""The CLI against a real store: db upgrade, route --save, replay by id and by date."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from modelrouter.cli.app import app

runner = CliRunner()


@pytest.fixture
def store_env(monkeypatch: pytest.MonkeyPatch, database_url: str, engine: Engine) -> str:
    monkeypatch.setenv("MODELROUTER_DATABASE_URL", database_url)
    return database_url


def test_store_round_trip_through_the_cli(store_env: str, tmp_path: Path) -> None:
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert "up to date" in upgraded.stdout
    decision_ids = []
    for tenant in ("acme", "acme", "globex"):
        routed = runner.invoke(
            app,
            [
                "route",
                "gpt-4o-mini",
                "--input-tokens",
                "900",
                "--tenant",
                tenant,
                "--save",
                "--json",
            ],
        )
        assert routed.exit_code == 0, routed.output
        decision_ids.append(json.loads(routed.stdout)["decision_id"])
    one = runner.invoke(app, ["replay", decision_ids[0]])
    assert one.exit_code == 0 and "match" in one.stdout
    every = runner.invoke(app, ["replay", "--since", "2000-01-01", "--json"])
    assert every.exit_code == 0, every.output
    report = json.loads(every.stdout)
    assert report["replayed"] == 3 and report["match_rate"] == "100.00%"
    acme = json.loads(
        runner.invoke(app, ["replay", "--since", "2000-01-01", "--tenant", "acme", "--json"]).stdout
    )
    assert acme["replayed"] == 2 and acme["failed"] == []
    missing = runner.invoke(app, ["replay", "dec_doesnotexist"])
    assert missing.exit_code == 2 and "no decision" in missing.stderr


def test_unreachable_store_is_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELROUTER_DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:1/x")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "cannot migrate postgresql://nobody:***@127.0.0.1:1/x" in result.stderr
    assert "secret" not in result.output and "Traceback" not in result.output
