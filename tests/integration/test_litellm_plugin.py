"""The LiteLLM plugin against the real ``litellm`` package (the ``peers``
extra), offline: every call is answered by LiteLLM's ``mock_response``. A
LiteLLM ``Router`` with three deployments of clearly different prices routes
by modelrouter's plan, its failures open modelrouter's circuits, its retries
walk the plan, and its successes settle spend; over HTTP too, against a real
``modelrouter serve``. The README's section runs as pasted (a README without
the heading skips that test, naming it; ``MODELROUTER_README_PATH`` checks a
draft)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.integration.client_service import python_blocks
from tests.integration.conftest import unavailable
from tests.integration.server import ROOT

# LiteLLM fetches its cost map at import unless told to use the bundled copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

README = Path(os.environ.get("MODELROUTER_README_PATH", ROOT / "README.md"))
HEADING = "### LiteLLM plugin"
CHAT = [{"role": "user", "content": "Hello"}]
# LiteLLM's mock answers count 10 prompt and 20 completion tokens.
PRICES = {"large": (10e-6, 30e-6), "medium": (1e-6, 3e-6), "small": (0.1e-6, 0.3e-6)}
POLICY = {
    "budgets": [{"name": "daily", "period": "day", "limit_usd": "5"}],
    "health": {"consecutive_failures": 1},
}


@pytest.fixture(scope="module")
def litellm() -> ModuleType:
    try:
        import litellm
    except ImportError as exc:
        unavailable("the litellm package (the peers extra: `make test` installs it)", exc)
    litellm.telemetry = False
    return litellm


def entry(name: str, *, stated_id: bool = True, **params: Any) -> dict[str, Any]:
    input_price, output_price = PRICES[name]
    out: dict[str, Any] = {
        "model_name": "chat",
        "litellm_params": {
            "model": f"openai/{name}",
            "api_base": "http://127.0.0.1:9/v1",
            "api_key": "sk-test",
            "input_cost_per_token": input_price,
            "output_cost_per_token": output_price,
            **params,
        },
        "model_info": {"max_input_tokens": 128000, "max_output_tokens": 4096},
    }
    if stated_id:
        out["model_info"]["id"] = name
    return out


@pytest.fixture
def installed(litellm: ModuleType) -> Iterator[list[Any]]:
    """Every plugin a test installs, uninstalled after it (LiteLLM's callbacks are global)."""
    from modelrouter.integrations.litellm import uninstall

    plugins: list[Any] = []
    yield plugins
    for plugin in plugins:
        uninstall(plugin)


def served_by(reply: Any) -> str:
    model_id: str = reply._hidden_params["model_id"]
    return model_id


def test_cheapest_circuits_and_spend(litellm: ModuleType, installed: list[Any]) -> None:
    """Deployments without a stated id: LiteLLM derives them, the plan maps back."""
    from modelrouter.integrations.litellm import install

    router = litellm.Router(
        model_list=[entry(name, stated_id=False) for name in ("large", "medium", "small")]
    )
    ids = {e["litellm_params"]["model"]: e["model_info"]["id"] for e in router.model_list}
    plugin = install(router, strategy="cheapest", platform_policy=POLICY)
    installed.append(plugin)
    mr = plugin.router
    assert mr is not None
    ours = {litellm_id: deployment for deployment, litellm_id in plugin.fleet.litellm_ids.items()}

    async def scenario() -> None:
        first = await router.acompletion(model="chat", messages=CHAT, mock_response="Hi!")
        assert served_by(first) == ids["openai/small"]
        assert await plugin.await_reported()
        spent = [state.spent for window, state in mr.budget_windows(None)]
        # 10 input and 20 output tokens at small's prices.
        assert spent == [Decimal("0.000007")]

        with pytest.raises(litellm.InternalServerError):
            await router.acompletion(
                model="chat",
                messages=CHAT,
                mock_response="litellm.InternalServerError",
                num_retries=0,
            )
        assert await plugin.await_reported()
        small = ours[ids["openai/small"]]
        signals = mr.signals.view(mr.catalog, mr.now())[small]
        assert (signals.circuit, signals.circuit_reason) == ("open", "server_error")

        third = await router.acompletion(model="chat", messages=CHAT, mock_response="Hi!")
        assert served_by(third) == ids["openai/medium"]
        assert await plugin.await_reported()
        spent = [state.spent for window, state in mr.budget_windows(None)]
        assert spent == [Decimal("0.000077")]

    asyncio.run(scenario())


def test_a_retry_walks_the_decision(litellm: ModuleType, installed: list[Any]) -> None:
    """LiteLLM's retry of a call is the same decision: its next hop, not a new plan."""
    from modelrouter.integrations.litellm import install

    router = litellm.Router(
        model_list=[
            entry("large", mock_response="large"),
            entry("medium", mock_response="medium"),
            entry("small", mock_response="litellm.RateLimitError"),
        ],
        num_retries=1,
    )
    plugin = install(router, strategy="cheapest", platform_policy=POLICY)
    installed.append(plugin)
    mr = plugin.router
    assert mr is not None
    metadata: dict[str, Any] = {"request_id": "retry-1"}
    reply = router.completion(model="chat", messages=CHAT, metadata=metadata)
    assert served_by(reply) == "medium"
    assert plugin.wait_reported()
    # One decision for the call and its retry (its id kept in the call's metadata).
    assert len(metadata["modelrouter"]["decisions"]) == 1
    decision = plugin.plan_of(metadata["modelrouter"]["decisions"]["chat"])
    assert decision is not None and decision.request_id == "retry-1"
    assert [c.deployment for c in decision.hops[:2]] == ["small/small", "medium/medium"]
    view = mr.signals.view(mr.catalog, mr.now())
    assert view["small/small"].circuit_reason == "rate_limited"
    assert view["medium/medium"].circuit == "closed"
    # Only the served attempt cost anything: 10 and 20 tokens at medium's prices.
    assert [state.spent for _, state in mr.budget_windows(None)] == [Decimal("0.00007")]


def test_tags_and_tenant_reach_the_plan(litellm: ModuleType, installed: list[Any]) -> None:
    """With LiteLLM's tag filtering on, a request's tags select deployments."""
    from modelrouter.integrations.litellm import install

    tagged = [entry("large", tags=["team-a"]), entry("medium", tags=["team-a"]), entry("small")]
    router = litellm.Router(model_list=tagged, enable_tag_filtering=True)
    plugin = install(router, strategy="cheapest")
    installed.append(plugin)
    metadata: dict[str, Any] = {"tags": ["team-a"], "tenant_id": "acme", "request_id": "tagged-1"}
    reply = router.completion(model="chat", messages=CHAT, mock_response="ok", metadata=metadata)
    assert served_by(reply) == "medium"
    assert plugin.wait_reported()
    plan = plugin.plan_of(metadata["modelrouter"]["decisions"]["chat"])
    assert plan is not None
    assert (plan.tenant_id, plan.request_id) == ("acme", "tagged-1")
    assert plan.inputs is not None
    assert plan.inputs.to_dict()["request"]["tags"] == ["team-a"]


def test_a_stream_is_reported_once_with_its_usage(
    litellm: ModuleType, installed: list[Any]
) -> None:
    from modelrouter.integrations.litellm import install

    router = litellm.Router(model_list=[entry(name) for name in ("large", "medium", "small")])
    plugin = install(router, strategy="cheapest", platform_policy=POLICY)
    installed.append(plugin)
    mr = plugin.router
    assert mr is not None

    async def scenario() -> None:
        stream = await router.acompletion(
            model="chat", messages=CHAT, mock_response="Hello there", stream=True
        )
        async for _ in stream:
            pass
        assert await plugin.await_reported()

    asyncio.run(scenario())
    [(_, state)] = mr.budget_windows(None)
    assert state.spent > 0
    small = mr.signals.view(mr.catalog, mr.now())["small/small"]
    assert small.samples == 1 and small.ttft_ms is not None


def test_a_group_modelrouter_does_not_know_is_left_to_litellm(
    litellm: ModuleType, installed: list[Any]
) -> None:
    from modelrouter.integrations.litellm import install

    legacy = {
        "model_name": "legacy",
        "litellm_params": {"model": "text-completion-openai/davinci-002", "api_key": "sk-test"},
    }
    router = litellm.Router(model_list=[entry("small"), legacy])
    plugin = install(router, strategy="cheapest")
    installed.append(plugin)
    assert not plugin.fleet.routes("legacy")
    reply = router.completion(model="legacy", messages=CHAT, mock_response="ok")
    assert served_by(reply) == router.model_list[1]["model_info"]["id"]
    assert plugin.wait_reported(timeout=0.5)  # nothing of ours to report


def test_over_http(litellm: ModuleType, installed: list[Any], tmp_path: Path) -> None:
    """The plan from a running service whose catalog imported the same config."""
    from modelrouter.catalog.index import Catalog
    from modelrouter.catalog.sources.litellm import import_litellm_config
    from modelrouter.client import Client
    from modelrouter.integrations.litellm import install
    from tests.integration.client_service import start_service

    model_list = [entry(name) for name in ("large", "medium", "small")]
    layer = import_litellm_config({"model_list": model_list}, Catalog.bundled(), source="t")
    server = start_service(tmp_path, f"sqlite:///{tmp_path / 'svc.db'}", layer.document)
    try:
        with Client(server.base, api_key=server.gateway_key) as client:
            router = litellm.Router(model_list=model_list)
            plugin = install(router, strategy="cheapest", client=client)
            installed.append(plugin)
            reply = router.completion(model="chat", messages=CHAT, mock_response="Hi!")
            assert served_by(reply) == "small"
            with pytest.raises(litellm.RateLimitError):
                router.completion(
                    model="chat",
                    messages=CHAT,
                    mock_response="litellm.RateLimitError",
                    num_retries=0,
                )
            assert plugin.wait_reported()
            served, failed = (plugin.plan_of(d) for d in list(plugin._plans))
            assert served is not None and failed is not None
            first = client.decision(served.decision_id)
            assert first.actual_cost is not None and first.actual_cost.total_usd > 0
            second = client.decision(failed.decision_id)
            assert [a.status for a in second.attempts] == ["rate_limited"]
    finally:
        server.stop()


def test_the_readme_example_runs_as_pasted(
    litellm: ModuleType, installed: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"), HEADING)
    if not blocks:
        pytest.skip(f"{README} has no {HEADING!r} section")
    namespace: dict[str, Any] = {"__name__": "readme"}
    try:
        for block in blocks:
            exec(compile(block, f"{README.name}: {HEADING}", "exec"), namespace)
    finally:
        if "plugin" in namespace:
            installed.append(namespace["plugin"])
    printed = capsys.readouterr().out.split()
    assert printed == ["small", "open", "medium", "daily", "0.000077"]
