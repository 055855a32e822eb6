"""LiteLLM's own example proxy configs, read from the installed ``litellm``
wheel (pinned in the ``peers`` extra, never downloaded here): every file
imports (none refused whole) and each report lists what was dropped. Plus the
import from the CLI (table, --json, --policy-out, --strict, the wrong
--format) and over HTTP (the report and the policy fragment)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.sources.litellm import ImportResult, import_litellm_config
from modelrouter.catalog.sources.litellm.params import (
    ENTRY_FIELDS,
    INFO_FIELDS,
    PARAM_FIELDS,
    is_fact,
)
from modelrouter.cli.app import app
from modelrouter.policy.document import parse_policy

FIXTURES = Path(__file__).parents[1] / "fixtures" / "litellm"
FULL = FIXTURES / "full_config.yaml"
runner = CliRunner()

# What the report is checked to name as dropped, independently of the importer:
# every top-level section, and every setting, that has no counterpart.
_READ_SECTIONS = {"model_list", "router_settings", "litellm_settings", "general_settings"}
_CONVERTED = {
    "routing_strategy",
    "num_retries",
    "allowed_fails",
    "cooldown_time",
    "enable_tag_filtering",
    "fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "default_fallbacks",
    "model_group_alias",
    "provider_budget_config",
    "max_budget",
    "budget_duration",
}


def example_configs() -> list[Path]:
    # Found, not imported: importing litellm may fetch its cost map over the network.
    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        pytest.fail(
            "litellm is not installed: `make test` installs it (pinned in the peers extra: "
            "pip install -e '.[peers]')"
        )
    root = Path(spec.origin).parent / "proxy"  # Path(litellm.__file__).parent / "proxy"
    # The examples directory, and the proxy configs LiteLLM ships beside it.
    return sorted([*root.glob("example_config_yaml/*.yaml"), *root.glob("*.yaml")])


@pytest.fixture(scope="module")
def base() -> Catalog:
    return Catalog.bundled()


def _expected_drops(raw: dict[str, Any]) -> set[str]:
    """Names the report must give as dropped (a substring of a dropped subject)."""
    names = {str(key) for key in raw if key not in _READ_SECTIONS}
    for section in ("router_settings", "litellm_settings", "general_settings"):
        values = raw.get(section) or {}
        names |= {f"{section}.{key}" for key in values if key not in _CONVERTED}
    for index, entry in enumerate(raw.get("model_list") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("litellm_params"), dict):
            continue
        info = entry.get("model_info") or {}
        if info.get("mode") not in (None, "chat"):
            names.add(f"model_list[{index}] ")
            continue
        params = entry["litellm_params"]
        names |= {
            f"litellm_params.{key}"
            for key in params
            if key not in PARAM_FIELDS and not is_fact(str(key))
        }
        names |= {
            f"model_info.{key}" for key in info if key not in INFO_FIELDS and not is_fact(str(key))
        }
        names |= {str(key) for key in entry if key not in ENTRY_FIELDS}
    return names


def test_litellms_example_configs_are_all_there() -> None:
    assert len(example_configs()) >= 21  # 1.77.7 ships 21


@pytest.mark.parametrize("path", example_configs(), ids=lambda path: path.name)
def test_every_example_imports_and_reports_what_it_dropped(path: Path, base: Catalog) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    result = import_litellm_config(raw, base, source=path.name)  # never refused whole
    catalog = Catalog.from_layers([(path.name, result.document)])
    parse_policy(result.policy, source=path.name)
    dropped = [line.subject for line in result.report.of("dropped")]
    for name in _expected_drops(raw):
        assert any(name in subject for subject in dropped), f"{path.name}: {name} not reported"
    for line in result.report.of("dropped"):
        assert line.detail  # every drop says why
    # Every imported entry is in the report, and every skip is a warning too.
    skipped = result.report.of("skipped")
    assert len([w for w in result.warnings if w.startswith("skipped")]) == len(skipped)
    if catalog.deployments:
        assert result.report.of("kept") or result.report.of("converted")


def test_the_examples_three_former_refusals_import(base: Catalog) -> None:
    by_name = {path.name: path for path in example_configs()}
    results: dict[str, ImportResult] = {}
    for name in ("_super_secret_config.yaml", "langfuse_config.yaml", "oai_misc_config.yaml"):
        raw = yaml.safe_load(by_name[name].read_text(encoding="utf-8"))
        results[name] = import_litellm_config(raw, base, source=name)
    # A bare Bedrock id with no region: skipped and named, the rest imported.
    secret = results["_super_secret_config.yaml"]
    assert any("bedrock-anthropic-claude-3" in line.subject for line in secret.report.of("skipped"))
    assert len(Catalog.from_layers([("s", secret.document)]).deployments) >= 9
    # An entry without litellm_params: skipped and named.
    (line,) = results["langfuse_config.yaml"].report.of("skipped")
    assert "litellm_params" in line.detail
    # "*" over openai/*: the base catalog's openai models.
    misc = Catalog.from_layers([("m", results["oai_misc_config.yaml"].document)])
    assert misc.lookup_target("openai/gpt-4o")


# -- the CLI ---------------------------------------------------------------------------


def test_cli_prints_the_report_table_and_writes_the_policy(tmp_path: Path) -> None:
    out, policy = tmp_path / "catalog.yaml", tmp_path / "policy.yaml"
    result = runner.invoke(
        app,
        [
            "catalog",
            "import",
            str(FULL),
            "--format",
            "litellm-config",
            "--out",
            str(out),
            "--policy-out",
            str(policy),
        ],
    )
    assert result.exit_code == 0, result.output
    for word in ("kept", "converted", "dropped", "router_settings.routing_strategy"):
        assert word in result.stdout
    assert f"policy fragment (routing, limits, health, budgets) written to {policy}" in (
        result.stdout
    )
    assert f"modelrouter policy check {policy}" in result.stdout
    assert f"modelrouter serve --platform-policy {policy}" in result.stdout
    fragment = yaml.safe_load(policy.read_text())
    assert fragment["routing"] == {"strategy": "balanced"}
    parse_policy(fragment)
    assert "contoso-eu" in out.read_text()
    checked = runner.invoke(app, ["policy", "check", str(policy)])
    assert checked.exit_code == 0, checked.output


def test_cli_json_report(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "catalog",
            "import",
            str(FULL),
            "--format",
            "litellm-config",
            "--out",
            str(tmp_path / "c.yaml"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["report"]["counts"]["skipped"] == 0
    subjects = {line["subject"] for line in answer["report"]["lines"]}
    assert "general_settings.master_key" in subjects
    assert answer["policy"]["limits"] == {"max_fallbacks": 2}
    assert "document" not in answer  # it went to --out
    assert "sk-master-SECRET-FULL-0005" not in result.stdout


def test_cli_strict_refuses_a_file_with_an_entry_it_cannot_import(tmp_path: Path) -> None:
    config = tmp_path / "proxy.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model_list": [
                    {"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o"}},
                    {"model_name": "mystery", "litellm_params": {"model": "mystery-model"}},
                ]
            }
        )
    )
    args = ["catalog", "import", str(config), "--format", "litellm-config"]
    lenient = runner.invoke(app, [*args, "--out", str(tmp_path / "c.yaml")])
    assert lenient.exit_code == 0, lenient.output
    assert "skipped" in lenient.stdout and "model_list[1] (mystery)" in lenient.stdout
    strict = runner.invoke(app, [*args, "--strict"])
    assert strict.exit_code != 0
    assert "model_list[1] (mystery)" in strict.output


def test_cli_says_which_format_the_file_looks_like() -> None:
    result = runner.invoke(app, ["catalog", "import", str(FULL), "--format", "litellm"])
    assert result.exit_code != 0
    assert "looks like a LiteLLM proxy config" in result.output
    assert "--format litellm-config" in result.output


# -- HTTP ------------------------------------------------------------------------------


def test_http_import_answers_the_report_and_the_policy(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    content = yaml.safe_load(FULL.read_text())
    answered = client.post(
        "/v1/catalog/import",
        json={"format": "litellm-config", "content": content},
        headers=keys["admin"],
    )
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["report"]["counts"]["converted"] > 0
    subjects = {line["subject"] for line in body["report"]["lines"]}
    assert {"router_settings.routing_strategy", "general_settings.master_key"} <= subjects
    assert body["policy"]["routing"] == {"strategy": "balanced"}
    assert "sk-master-SECRET-FULL-0005" not in answered.text


def test_http_import_strict_and_wrong_format(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    bad = {"model_list": [{"model_name": "mystery", "litellm_params": {"model": "mystery-model"}}]}
    strict = client.post(
        "/v1/catalog/import",
        json={"format": "litellm-config", "content": bad, "strict": True},
        headers=keys["admin"],
    )
    assert strict.status_code == 422, strict.text
    assert "model_list[0] (mystery)" in strict.text
    wrong = client.post(
        "/v1/catalog/import",
        json={"format": "litellm", "content": yaml.safe_load(FULL.read_text())},
        headers=keys["admin"],
    )
    assert wrong.status_code == 422, wrong.text
    assert "looks like a LiteLLM proxy config" in wrong.text
