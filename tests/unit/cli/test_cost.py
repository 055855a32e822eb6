from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from modelrouter.cli.app import app

runner = CliRunner()
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_cost_json_shape_and_exact_total() -> None:
    result = runner.invoke(
        app,
        [
            "cost",
            "gpt-4o",
            "--provider",
            "openai",
            "--input-tokens",
            "10000",
            "--cache-read-tokens",
            "4000",
            "--output-tokens",
            "500",
            "--at",
            "2026-11-01T12:00:00Z",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    # 6,000 x 2.5/M + 4,000 x 1.25/M + 500 x 10/M
    assert body["total_usd"] == "0.025"
    assert body["components"] == {"input": "0.015", "cache_read": "0.005", "output": "0.005"}
    assert body["catalog_version"].startswith("cat_")
    assert body["price_rule"] == "openai/gpt-4o standard"


def test_cost_tier_and_history() -> None:
    args = [
        "cost",
        "o3",
        "--provider",
        "openai",
        "--input-tokens",
        "1000000",
        "--output-tokens",
        "1000000",
        "--json",
    ]
    before = runner.invoke(app, [*args, "--at", "2025-06-09T12:00:00"])
    after = runner.invoke(app, [*args, "--at", "2025-06-10T12:00:00"])
    flex = runner.invoke(app, [*args, "--at", "2026-11-01T12:00:00", "--tier", "flex"])
    assert json.loads(before.stdout)["total_usd"] == "50"
    assert json.loads(after.stdout)["total_usd"] == "10"
    assert Decimal(json.loads(flex.stdout)["total_usd"]) == Decimal("5")


def test_cost_of_a_response_body() -> None:
    result = runner.invoke(
        app,
        [
            "cost",
            "--response",
            str(FIXTURES / "responses" / "anthropic_message_cache_1h.json"),
            "--provider",
            "anthropic",
            "--at",
            "2026-11-01T12:00:00Z",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["deployment"].startswith("anthropic/claude")
    assert Decimal(body["total_usd"]) == sum(Decimal(v) for v in body["components"].values())


def test_cost_errors_are_messages() -> None:
    unknown = runner.invoke(app, ["cost", "nope-model", "--input-tokens", "10"])
    assert unknown.exit_code == 2 and "nope-model" in unknown.stderr
    ambiguous = runner.invoke(app, ["cost", "gpt-4o", "--input-tokens", "10", "--json"])
    assert ambiguous.exit_code == 2 and "--provider" in ambiguous.stderr
    bad = runner.invoke(
        app,
        [
            "cost",
            "gpt-4o",
            "--provider",
            "openai",
            "--input-tokens",
            "10",
            "--cache-read-tokens",
            "11",
        ],
    )
    assert bad.exit_code == 2 and "cache_read_tokens (11) exceeds input_tokens" in bad.stderr
    bad_time = runner.invoke(app, ["cost", "gpt-4o", "--input-tokens", "1", "--at", "yesterday"])
    assert bad_time.exit_code == 2 and "ISO 8601" in bad_time.stderr
    assert "Traceback" not in unknown.output + ambiguous.output + bad.output


def test_calibration_from_outcome_lines(tmp_path: Path) -> None:
    routed = runner.invoke(
        app,
        ["route", "gpt-4o-mini", "--input-tokens", "1000", "--max-output-tokens", "400", "--json"],
    )
    plan = json.loads(routed.stdout)
    lines = [
        {"plan": plan, "usage": {"input_tokens": 1000, "output_tokens": 256}},
        {"plan": plan, "usage": {"input_tokens": 1000, "output_tokens": 400}},
    ]
    outcomes = tmp_path / "outcomes.jsonl"
    outcomes.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    result = runner.invoke(app, ["cost", "calibration", "--outcomes", str(outcomes), "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert row["model"] == "gpt-4o-mini" and row["count"] == 2
    assert row["worst_case_exceeded"] == 0

    plan["primary"]["estimate"]["expected_usd"] = "0"
    outcomes.write_text(json.dumps({"plan": plan, "usage": {"input_tokens": 1}}), encoding="utf-8")
    tampered = runner.invoke(app, ["cost", "calibration", "--outcomes", str(outcomes)])
    assert tampered.exit_code == 2 and "altered" in tampered.stderr
