"""What the client tests share: the example's mock provider, a catalog layer
whose deployments call it, a real ``modelrouter serve`` on that layer (SQLite
or a PostgreSQL database of its own), and the sync and async clients behind
one blocking face, so one test body runs against both."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from modelrouter.client import AsyncClient, Client, Hop, ProviderError, RunResult
from tests.integration.server import ROOT, Server, free_port

_T = TypeVar("_T")

EXAMPLE = ROOT / "examples" / "gateway"


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


mock_provider = _load("gateway_mock_provider", EXAMPLE / "mock_provider.py")
MockProvider = mock_provider.MockProvider


def catalog_layer(base: str, models: Sequence[str]) -> dict[str, Any]:
    """Two providers; each model has a cheaper deployment on ``mock-a`` and a
    dearer one on ``mock-b``, each calling the mock under ``<model>-a`` / ``-b``."""
    providers = {
        name: {
            "name": name,
            "regions": ["us"],
            "endpoint": {"api_shape": "openai-chat", "credential_ref": key},
        }
        for name, key in (("mock-a", "MOCK_A_KEY"), ("mock-b", "MOCK_B_KEY"))
    }
    out: dict[str, Any] = {"providers": providers, "models": {}}
    for model in models:
        out["models"][model] = {
            "vendor": "openai",
            "context_window": 128000,
            "max_output_tokens": 4096,
            "capabilities": {"streaming": True},
            "deployments": {
                "mock-a": {
                    "prices": {"input": "1", "output": "2"},
                    "endpoint": {"api_base": f"{base}/{model}-a/v1"},
                },
                "mock-b": {
                    "prices": {"input": "2", "output": "4"},
                    "endpoint": {"api_base": f"{base}/{model}-b/v1"},
                },
            },
        }
    return out


def start_service(
    data_dir: Path, database_url: str, layer: dict[str, Any], env: dict[str, str] | None = None
) -> Server:
    """``modelrouter serve`` with ``layer`` over the bundled catalog."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "mock-catalog.yaml"
    path.write_text(yaml.safe_dump(layer), encoding="utf-8")
    return Server(
        data_dir, database_url, env={"MODELROUTER_CATALOG": str(path), **(env or {})}
    ).start()


def gateway_process(base: str, api_key: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``examples/gateway/gateway.py`` on a free port, once it answers."""
    port = free_port()
    env = {**os.environ, "MODELROUTER_URL": base, "MODELROUTER_API_KEY": api_key}
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE / "gateway.py"), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited with {process.returncode}")
        try:
            httpx.get(f"{url}/docs", timeout=1)
            return process, url
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the gateway did not start") from None
            time.sleep(0.1)


def _chat(hop: Hop, stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": hop.upstream_model,
        "messages": [{"role": "user", "content": "hello there"}],
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.startswith("data: ") and line != "data: [DONE]":
            yield json.loads(line[len("data: ") :])


class SyncFlavour:
    """``Client``, and a call that returns the provider's ``httpx.Response``."""

    name = "sync"

    def __init__(self, base: str, api_key: str) -> None:
        self.client = Client(base, api_key)
        self.http = httpx.Client(timeout=10)

    def call(self, hop: Hop) -> httpx.Response:
        return self.http.post(f"{hop.api_base}/chat/completions", json=_chat(hop))

    def stream_call(self, hop: Hop) -> Iterator[dict[str, Any]]:
        def events() -> Iterator[dict[str, Any]]:
            url = f"{hop.api_base}/chat/completions"
            with self.http.stream("POST", url, json=_chat(hop, stream=True)) as answer:
                if answer.status_code != 200:
                    answer.read()
                    raise ProviderError(answer.status_code, answer.json(), answer.headers)
                yield from _events(answer.iter_lines())

        return events()

    def do(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.client, method)(*args, **kwargs)

    def run(self, request: dict[str, Any], call: Callable[[Hop], Any] | None = None) -> RunResult:
        return self.client.run(request, call or self.call)

    def stream(self, request: dict[str, Any]) -> tuple[list[Any], RunResult]:
        with self.client.run_stream(request, self.stream_call) as running:
            events = list(running)
        assert running.result is not None
        return events, running.result

    def close(self) -> None:
        self.client.close()
        self.http.close()


class AsyncFlavour:
    """``AsyncClient`` on a loop of its own, and a coroutine call that raises
    ``httpx.HTTPStatusError`` for an error answer."""

    name = "async"

    def __init__(self, base: str, api_key: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = AsyncClient(base, api_key)
        self.http = httpx.AsyncClient(timeout=10)

    def _wait(self, work: Coroutine[Any, Any, _T]) -> _T:
        return self.loop.run_until_complete(work)

    async def call(self, hop: Hop) -> Any:
        answer = await self.http.post(f"{hop.api_base}/chat/completions", json=_chat(hop))
        answer.raise_for_status()
        return answer.json()

    def stream_call(self, hop: Hop) -> Any:
        async def events() -> Any:
            url = f"{hop.api_base}/chat/completions"
            async with self.http.stream("POST", url, json=_chat(hop, stream=True)) as answer:
                if answer.status_code != 200:
                    await answer.aread()
                    raise ProviderError(answer.status_code, answer.json(), answer.headers)
                async for line in answer.aiter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        yield json.loads(line[len("data: ") :])

        return events()

    def do(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._wait(getattr(self.client, method)(*args, **kwargs))

    def run(self, request: dict[str, Any], call: Callable[[Hop], Any] | None = None) -> RunResult:
        return self._wait(self.client.arun(request, call or self.call))

    def stream(self, request: dict[str, Any]) -> tuple[list[Any], RunResult]:
        async def consume() -> tuple[list[Any], RunResult]:
            running = await self.client.arun_stream(request, self.stream_call)
            async with running:
                events = [event async for event in running]
            assert running.result is not None
            return events, running.result

        return self._wait(consume())

    def close(self) -> None:
        self._wait(self.client.aclose())
        self._wait(self.http.aclose())
        self.loop.close()


Flavour = SyncFlavour | AsyncFlavour
FLAVOURS: dict[str, type[SyncFlavour] | type[AsyncFlavour]] = {
    "sync": SyncFlavour,
    "async": AsyncFlavour,
}


def python_blocks(text: str, heading: str, language: str = "python") -> list[str] | None:
    """The ``language`` blocks of the section under ``heading`` (up to the next
    heading of its level or above), or None when there is no such heading."""
    level = len(heading) - len(heading.lstrip("#"))
    blocks: list[str] = []
    inside, fence, current = False, None, list[str]()
    for line in text.splitlines():
        if fence is not None:
            if line.strip() == "```":
                if fence == language and inside:
                    blocks.append("\n".join(current))
                fence, current = None, []
            else:
                current.append(line)
            continue
        if line.startswith("```"):
            fence = line[3:].strip()
            continue
        if line.startswith("#"):
            depth = len(line) - len(line.lstrip("#"))
            if line.strip() == heading:
                inside = True
            elif inside and depth <= level and line[depth : depth + 1] == " ":
                break
    return blocks if inside else None
