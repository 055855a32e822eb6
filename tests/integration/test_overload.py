"""Admission control on the real server: beyond ``MODELROUTER_MAX_IN_FLIGHT``
requests in flight a worker answers 503 ``overloaded`` with ``Retry-After``
(the error shape of every other error), the probes and ``/metrics`` still
answer, and once the load is gone requests are served again; the library's
client waits and retries through it."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from modelrouter.client import Client
from modelrouter.client.errors import ServiceUnavailable
from modelrouter.client.http import Retries
from tests.integration.server import Server

LIMIT = 3
ROUTE = {"model": "gpt-4o-mini", "input_tokens": 100, "max_output_tokens": 50}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("overload")
    running = Server(folder, f"sqlite:///{folder / 'overload.db'}")
    running.env["MODELROUTER_MAX_IN_FLIGHT"] = str(LIMIT)
    # The held requests below stay in flight until the test lets them go.
    running.env["MODELROUTER_BODY_TIMEOUT_SECONDS"] = "120"
    running.start()
    yield running
    running.stop()


def _metric(server: Server, name: str) -> float:
    text = httpx.get(f"{server.base}/metrics", timeout=10).text
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match is not None, f"{name} not in /metrics"
    return float(match.group(1))


def _until(condition: object, what: str, polls: int = 300) -> None:
    """Poll ``condition`` (a callable) a bounded number of times."""
    assert callable(condition)
    for _ in range(polls):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def _hold(server: Server, count: int) -> list[socket.socket]:
    """``count`` requests in flight: each sends its head and part of a body it
    declares longer, then waits."""
    held = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(
            b"POST /v1/route HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {server.gateway_key}\r\n".encode()
            + b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
            + b'{"model": "gpt-4o'
        )
        held.append(sock)
    _until(lambda: _metric(server, "modelrouter_requests_in_flight") == count, "all held")
    return held


def _release(server: Server, held: list[socket.socket]) -> None:
    for sock in held:
        sock.close()
    _until(lambda: _metric(server, "modelrouter_requests_in_flight") == 0, "all released")


def test_beyond_the_limit_the_answer_is_503_overloaded_and_probes_still_answer(
    server: Server,
) -> None:
    headers = {"Authorization": f"Bearer {server.gateway_key}"}
    refused_before = _metric(server, "modelrouter_overloaded_requests_total")
    assert _metric(server, "modelrouter_max_in_flight") == LIMIT
    held = _hold(server, LIMIT)
    try:
        with httpx.Client(base_url=server.base, headers=headers, timeout=10) as http:
            for _ in range(3):
                response = http.post("/v1/route", json=ROUTE)
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "1"
                assert response.headers["content-type"] == "application/json"
                error = response.json()["error"]
                assert error["code"] == "overloaded"
                assert "MODELROUTER_MAX_IN_FLIGHT=3" in error["message"]
                assert error["retry_after_seconds"] == 1
            # Any route is refused, even without a key: nothing is checked first.
            assert httpx.get(f"{server.base}/v1/catalog", timeout=10).status_code == 503
            # The probes and the metrics are never refused.
            assert http.get("/healthz").status_code == 200
            ready = http.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["status"] == "ready"
            assert _metric(server, "modelrouter_overloaded_requests_total") == refused_before + 4
            assert _metric(server, "modelrouter_requests_in_flight") == LIMIT
    finally:
        _release(server, held)
    # The load is gone: served again, on a fresh connection and a kept-alive one.
    with httpx.Client(base_url=server.base, headers=headers, timeout=10) as http:
        for _ in range(2 * LIMIT):
            response = http.post("/v1/route", json=ROUTE)
            assert response.status_code == 200, response.text
            assert "decision_id" in response.json()


def test_one_request_under_the_limit_is_served_while_others_are_held(server: Server) -> None:
    held = _hold(server, LIMIT - 1)
    try:
        response = httpx.post(
            f"{server.base}/v1/route",
            json=ROUTE,
            headers={"Authorization": f"Bearer {server.gateway_key}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
    finally:
        _release(server, held)


def test_a_refused_connection_is_kept_alive_for_the_next_request(server: Server) -> None:
    """The refusal does not read the body; the server drops what is left of
    it and answers the next request on the same connection."""
    held = _hold(server, LIMIT)
    body = b'{"model": "gpt-4o-mini", "input_tokens": 100, "max_output_tokens": 50}'
    request = (
        b"POST /v1/route HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Authorization: Bearer {server.gateway_key}\r\n".encode()
        + b"Content-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        reader = sock.makefile("rb")
        try:
            sock.sendall(request)
            assert _answer(reader)[0] == 503
        finally:
            _release(server, held)
        sock.sendall(request)
        status, answer = _answer(reader)
        assert status == 200, answer


def _answer(reader: object) -> tuple[int, bytes]:
    readline = reader.readline  # type: ignore[attr-defined]
    status = int(readline().split()[1])
    length = 0
    while (line := readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return status, reader.read(length)  # type: ignore[attr-defined]


def test_the_client_waits_and_retries_through_an_overload(server: Server) -> None:
    held = _hold(server, LIMIT)
    refused_before = _metric(server, "modelrouter_overloaded_requests_total")

    def release_once_refused() -> None:
        try:
            _until(
                lambda: _metric(server, "modelrouter_overloaded_requests_total") > refused_before,
                "the client refused",
            )
        finally:
            _release(server, held)

    releaser = threading.Thread(target=release_once_refused)
    releaser.start()
    try:
        with Client(server.base, server.gateway_key, retries=Retries(attempts=5)) as client:
            plan = client.route(ROUTE)
        assert plan.decision_id
    finally:
        releaser.join(30)


def test_the_client_says_overloaded_once_its_retries_are_spent(server: Server) -> None:
    held = _hold(server, LIMIT)
    try:
        client = Client(server.base, server.gateway_key, retries=Retries(attempts=0))
        with client, pytest.raises(ServiceUnavailable) as raised:
            client.route(ROUTE)
        assert raised.value.status == 503
        assert raised.value.code == "overloaded"
    finally:
        _release(server, held)
