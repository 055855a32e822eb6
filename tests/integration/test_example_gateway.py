"""The example gateway (examples/gateway/) as a user runs it: the mock
provider, a real ``modelrouter serve``, and ``gateway.py`` in a process of its
own, called by the real ``openai`` SDK. A completion comes back from the mock
provider with the decision id in ``x-modelrouter-decision-id``; a 429 on the
cheaper hop is served by the next; a stream arrives whole and is priced.

And the README's client sections run as pasted, on the same service and
gateway: every ``python`` block under each heading in ``README_SECTIONS``, in
order, in one namespace per section, with ``gpt-4o``'s deployments calling the
mock provider and the blocks' ``127.0.0.1:8090`` pointed at the gateway. A
README without a heading skips its test, naming it;
``MODELROUTER_README_PATH`` checks a draft instead of README.md."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelrouter.client import Client
from tests.integration.client_service import (
    MockProvider,
    catalog_layer,
    gateway_process,
    python_blocks,
    start_service,
)
from tests.integration.server import ROOT, Server

openai = pytest.importorskip("openai", reason="the openai SDK is in the peers extra")

README = Path(os.environ.get("MODELROUTER_README_PATH", ROOT / "README.md"))
README_SECTIONS = ("### Client", "### Running a plan with `run`", "### The example gateway")
GATEWAY_IN_README = "127.0.0.1:8090"


@pytest.fixture(scope="module")
def provider() -> Iterator[Any]:
    server = MockProvider().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def service(provider: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("gateway")
    layer = catalog_layer(provider.base, ["mock-chat"])
    # The README's examples route gpt-4o: its deployments call the mock too.
    layer["models"]["gpt-4o"] = {
        "deployments": {
            name: {"endpoint": {"api_base": f"{provider.base}/gpt-4o-{name}/v1"}}
            for name in ("openai", "azure", "openrouter")
        }
    }
    server = start_service(data, f"sqlite:///{data / 'svc.db'}", layer)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(service: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("gateway-log") / "gateway.log"
    process, url = gateway_process(service.base, service.gateway_key, log)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def sdk(gateway: str) -> Iterator[Any]:
    client = openai.OpenAI(base_url=f"{gateway}/v1", api_key="unused", max_retries=0)
    yield client
    client.close()


def test_the_openai_sdk_gets_a_completion_with_the_decision_id(
    sdk: Any, provider: Any, service: Server
) -> None:
    raw = sdk.chat.completions.with_raw_response.create(
        model="mock-chat", messages=[{"role": "user", "content": "hello"}], max_tokens=20
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "mock-chat-a says: hello"
    assert completion.usage.completion_tokens > 0
    decision_id = raw.headers["x-modelrouter-decision-id"]
    assert raw.headers["x-modelrouter-deployment"] == "mock-a/mock-chat"
    with Client(service.base, service.gateway_key) as client:
        decision = client.decision(decision_id)
    assert decision.plan.decision_id == decision_id
    assert [a.status for a in decision.attempts] == ["ok"]
    assert decision.actual_cost is not None
    assert str(decision.actual_cost.total_usd) == raw.headers["x-modelrouter-cost-usd"]


def test_a_rate_limited_hop_falls_back_and_a_stream_is_relayed(
    sdk: Any, provider: Any, service: Server
) -> None:
    provider.failing.add("mock-chat-a")
    raw = sdk.chat.completions.with_raw_response.create(
        model="mock-chat", messages=[{"role": "user", "content": "again"}], stream=True
    )
    assert raw.headers["x-modelrouter-decision-id"].startswith("dec_")
    assert raw.headers["x-modelrouter-deployment"] == "mock-b/mock-chat"
    chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() == "mock-chat-b says: again"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert ("mock-chat-a", 429) in provider.calls
    with Client(service.base, service.gateway_key) as client:
        decision = client.decision(raw.headers["x-modelrouter-decision-id"])
    assert [a.status for a in decision.attempts] == ["rate_limited", "ok"]
    served = decision.attempts[-1]
    assert served.cost is not None
    assert served.cost.usage.output_tokens == chunks[-1].usage.completion_tokens
    assert "ttft_ms" in served.raw["report"]


@pytest.mark.parametrize("heading", README_SECTIONS)
def test_the_readme_examples_run_as_pasted(
    heading: str, service: Server, gateway: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"), heading)
    if blocks is None:
        pytest.skip(f"{README.name} has no section {heading!r} yet")
    assert blocks, f"the section {heading!r} has no python block"
    monkeypatch.setenv("MODELROUTER_URL", service.base)
    monkeypatch.setenv("MODELROUTER_API_KEY", service.gateway_key)
    for secret in ("OPENAI_API_KEY", "AZURE_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.setenv(secret, "sk-mock")  # the mock provider reads no key
    namespace: dict[str, Any] = {"__name__": "readme"}
    for index, pasted in enumerate(blocks):
        block = pasted.replace(GATEWAY_IN_README, gateway.removeprefix("http://"))
        exec(compile(block, f"{README.name}: {heading} block {index + 1}", "exec"), namespace)
