"""The admission middleware on a tiny ASGI app: it counts HTTP requests in
flight, refuses beyond the limit with 503 ``overloaded`` and ``Retry-After``
without reading the body, passes probes, other scopes and a limit of 0
through, and gives a place back however a request ends."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from pydantic import ValidationError
from starlette.types import Message, Receive, Scope, Send

from modelrouter.observability.overload import track_admission
from modelrouter.service.admission import AdmissionControl, AdmissionGate
from modelrouter.service.app import max_in_flight
from modelrouter.service.settings import Settings


class Held:
    """An app whose requests wait until released; ``fail`` makes them raise."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0
        self.fail = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.started += 1
        await self.release.wait()
        if self.fail:
            raise RuntimeError("the app failed")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _scope(path: str = "/v1/route", kind: str = "http") -> Scope:
    return {"type": kind, "path": path, "method": "POST", "headers": []}


async def _call(app: AdmissionControl, path: str = "/v1/route") -> list[Message]:
    sent: list[Message] = []
    reads = 0

    async def receive() -> Message:
        nonlocal reads
        reads += 1
        raise AssertionError("the body must not be read")

    async def send(message: Message) -> None:
        sent.append(message)

    await app(_scope(path), receive, send)
    assert reads == 0
    return sent


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_beyond_the_limit_503_overloaded_with_retry_after() -> None:
    async def scenario() -> None:
        inner = Held()
        gate = AdmissionGate(limit=2)
        app = AdmissionControl(inner, gate)
        first = [asyncio.create_task(_call(app)) for _ in range(2)]
        await _settle()
        assert gate.in_flight == 2
        refused = await _call(app)
        start, body = refused
        assert start["status"] == 503
        headers = dict(start["headers"])
        assert headers[b"retry-after"] == b"1"
        assert headers[b"content-type"] == b"application/json"
        assert int(headers[b"content-length"]) == len(body["body"])
        error: dict[str, Any] = json.loads(body["body"])["error"]
        assert error["code"] == "overloaded"
        assert isinstance(error["message"], str)
        assert gate.rejected == 1
        assert inner.started == 2  # the refused one never reached the app
        # Probes are neither refused nor counted.
        probe = asyncio.create_task(_call(app, "/healthz"))
        await _settle()
        assert inner.started == 3
        assert gate.in_flight == 2
        inner.release.set()
        for done in await asyncio.gather(*first, probe):
            assert done[0]["status"] == 200
        assert gate.in_flight == 0
        assert (await _call(app))[0]["status"] == 200

    asyncio.run(scenario())


def test_a_failing_request_gives_its_place_back() -> None:
    async def scenario() -> None:
        inner = Held()
        inner.fail = True
        inner.release.set()
        gate = AdmissionGate(limit=1)
        app = AdmissionControl(inner, gate)
        with pytest.raises(RuntimeError):
            await _call(app)
        assert gate.in_flight == 0
        inner.fail = False
        assert (await _call(app))[0]["status"] == 200

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["lifespan", "websocket"])
def test_other_scopes_pass_through(kind: str) -> None:
    async def scenario() -> None:
        seen: list[str] = []

        async def inner(scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(scope["type"])

        gate = AdmissionGate(limit=1, in_flight=1)  # full
        await AdmissionControl(inner, gate)(_scope(kind=kind), _never, _never_send)
        assert seen == [kind]
        assert gate.rejected == 0

    asyncio.run(scenario())


def test_a_limit_of_zero_is_off() -> None:
    async def scenario() -> None:
        inner = Held()
        inner.release.set()
        gate = AdmissionGate(limit=0, in_flight=10_000)
        assert (await _call(AdmissionControl(inner, gate)))[0]["status"] == 200
        assert gate.rejected == 0

    asyncio.run(scenario())


def test_the_counts_are_metrics() -> None:
    registry = CollectorRegistry()
    gate = AdmissionGate(limit=7, in_flight=3, rejected=5)
    track_admission(registry, gate)
    track_admission(registry, AdmissionGate())  # a second gate: the first stays
    text = generate_latest(registry).decode()
    assert "modelrouter_overloaded_requests_total 5.0" in text
    assert "modelrouter_requests_in_flight 3.0" in text
    assert "modelrouter_max_in_flight 7.0" in text


async def _never() -> Message:
    raise AssertionError("not read")


async def _never_send(message: Message) -> None:
    raise AssertionError("nothing sent")


@pytest.mark.parametrize(("raw", "limit"), [("", 256), ("0", 0), (" 32 ", 32)])
def test_the_limit_comes_from_the_environment(
    raw: str, limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELROUTER_MAX_IN_FLIGHT", raw)
    assert max_in_flight() == limit


@pytest.mark.parametrize("raw", ["-1", "many", "2000000"])
def test_a_bad_limit_stops_the_start_naming_the_variable(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELROUTER_MAX_IN_FLIGHT", raw)
    with pytest.raises(SystemExit, match="MODELROUTER_MAX_IN_FLIGHT"):
        max_in_flight()
    with pytest.raises(ValidationError, match="max_in_flight"):
        Settings(max_in_flight=raw)
