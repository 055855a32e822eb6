from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from modelrouter.cli.app import app
from tests.conftest import small_document

runner = CliRunner()


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_document()), encoding="utf-8")
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelrouter", *args], capture_output=True, text=True, check=False
    )


def test_route_json_prints_the_plan_and_is_stable() -> None:
    args = [
        "route",
        "gpt-4o",
        "--input-tokens",
        "2000",
        "--max-output-tokens",
        "500",
        "--strategy",
        "cheapest",
        "--json",
    ]
    # Without a request id each run is a decision of its own.
    fresh = [json.loads(runner.invoke(app, args).stdout)["decision_id"] for _ in range(2)]
    assert fresh[0] != fresh[1]
    args += ["--request-id", "r-1"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    plan = json.loads(first.stdout)
    assert plan["primary"]["provider"] and plan["primary"]["model"] == "gpt-4o"
    assert isinstance(plan["fallbacks"], list)
    assert plan["primary"]["estimate"]["expected_usd"]
    assert plan["plan_hash"].startswith("sha256:")
    second = json.loads(runner.invoke(app, args).stdout)
    assert second["plan_hash"] == plan["plan_hash"]
    assert second["decision_id"] == plan["decision_id"]


def test_replay_in_a_fresh_process(tmp_path: Path) -> None:
    routed = cli(
        "route",
        "gpt-4o",
        "--input-tokens",
        "2000",
        "--max-output-tokens",
        "500",
        "--strategy",
        "cheapest",
        "--json",
    )
    assert routed.returncode == 0, routed.stderr
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(routed.stdout, encoding="utf-8")
    replayed = cli("replay", str(plan_file))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "match" in replayed.stdout
    assert json.loads(routed.stdout)["plan_hash"] in replayed.stdout

    tampered = json.loads(routed.stdout)
    tampered["snapshot"]["output"]["primary"]["deployment"] = "azure/gpt-4o-but-not"
    plan_file.write_text(json.dumps(tampered), encoding="utf-8")
    mismatch = runner.invoke(app, ["replay", str(plan_file)])
    assert mismatch.exit_code == 1
    assert "primary.deployment" in mismatch.stdout


def test_no_route_exits_non_zero_and_explains() -> None:
    result = runner.invoke(app, ["route", "gpt-4o", "--input-tokens", "5000000"])
    assert result.exit_code == 3
    assert "openai/gpt-4o" in result.stderr and "azure/gpt-4o" in result.stderr
    assert "context_window_too_small" in result.stderr
    assert "Traceback" not in result.output


def test_explain_lists_rejections(small_file: Path) -> None:
    result = runner.invoke(
        app,
        [
            "route",
            "smart",
            "--input-tokens",
            "100",
            "--region",
            "us",
            "--catalog",
            str(small_file),
            "--no-bundled",
            "--explain",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "region_not_allowed" in result.stdout and "gamma/chat-large" in result.stdout
    assert "serves regions [eu], the request policy allows [us]" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["route", "gpt-4o"], "exactly one of --input-tokens or --messages"),
        (["route", "gpt-4o", "--input-tokens", "10", "--require", "telepathy"], "require"),
        (["route", "no-such-model-xyz", "--input-tokens", "10"], "no-such-model-xyz"),
        (["route", "gpt-4o", "--input-tokens", "10", "--max-cost", "lots"], "max_cost_usd"),
        (
            ["route", "gpt-4o", "--input-tokens", "10", "--catalog", "/nonexistent.yaml"],
            "cannot read catalog file",
        ),
        (["replay", "/nonexistent.json"], "cannot read snapshot"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_bad_catalog_file_names_file_entry_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  m:\n    context_window: -3\n", encoding="utf-8")
    result = runner.invoke(app, ["catalog", "list", "--catalog", str(bad)])
    assert result.exit_code == 2
    assert str(bad) in result.stderr and "models.m" in result.stderr
    assert "context_window" in result.stderr


def test_catalog_commands(small_file: Path) -> None:
    listed = runner.invoke(app, ["catalog", "list", "--catalog", str(small_file), "--no-bundled"])
    assert listed.exit_code == 0 and "beta/chat-small" in listed.stdout
    shown = runner.invoke(
        app, ["catalog", "show", "chat-large", "--catalog", str(small_file), "--no-bundled"]
    )
    assert shown.exit_code == 0 and "input 2.5" in shown.stdout
    assert "prices [standard]" in shown.stdout
    aliases = runner.invoke(app, ["catalog", "aliases"])
    assert aliases.exit_code == 0 and "claude-sonnet" in aliases.stdout


def test_messages_file(tmp_path: Path) -> None:
    messages = tmp_path / "messages.json"
    messages.write_text(json.dumps([{"role": "user", "content": "Hello!"}]), encoding="utf-8")
    result = runner.invoke(app, ["route", "gpt-4o-mini", "--messages", str(messages), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["primary"]["estimate"]["input_tokens"] > 0


def test_route_takes_a_body_as_a_gateway_sends_it(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(
        json.dumps(
            {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": "hello there"}],
                "max_tokens": 200,
                "stream": True,
                "temperature": 0.3,
                "request_id": "cli-body",
            }
        )
    )
    result = runner.invoke(app, ["route", "--body", str(body), "--strategy", "cheapest", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["strategy"] == "cheapest"  # the command line adds to the body
    request = plan["snapshot"]["inputs"]["request"]
    assert request["max_output_tokens"] == 200 and "streaming" in request["require"]
    assert any("max_tokens taken as max_output_tokens" in n for n in plan["notes"])
    missing = runner.invoke(app, ["route"])
    assert missing.exit_code != 0 and "--body" in missing.output
