"""Bodies over the limit are refused with 413 however they are sent, and a
client that sends its head or its body too slowly is cut off, on the real
server."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelrouter.service.app import build_state, create_app
from tests.integration.server import Server


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.delenv("MODELROUTER_NATS_URL", raising=False)
    monkeypatch.setenv("MODELROUTER_MAX_BODY_BYTES", "2048")
    state = build_state(database_url=f"sqlite:///{tmp_path / 'svc.db'}", directory=tmp_path)
    state.max_body_bytes = 2048
    with TestClient(create_app(state)) as test_client:
        yield test_client
    state.close()


def test_a_chunked_body_over_the_limit_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * 1024

    response = client.post("/v1/route", content=chunks(), headers={"Authorization": "Bearer x"})
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "body_too_large"
    declared = client.post("/v1/route", content=b"x" * 4096)
    assert declared.status_code == 413


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path, f"sqlite:///{tmp_path / 'slow.db'}")
    running.env["MODELROUTER_HEADER_TIMEOUT_SECONDS"] = "1"
    running.env["MODELROUTER_BODY_TIMEOUT_SECONDS"] = "1"
    running.start()
    yield running
    running.stop()


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    sock.settimeout(seconds)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        return False, received
    return True, received


def test_half_sent_heads_and_bodies_are_timed_out(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as head:
        head.sendall(b"POST /v1/route HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        started = time.monotonic()
        closed, _ = _closed_within(head, 5)
        assert closed and time.monotonic() - started < 4
    with socket.create_connection(("127.0.0.1", server.port)) as body:
        body.sendall(
            b"POST /v1/route HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + server.gateway_key.encode()
            + b'\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model"'
        )
        closed, answer = _closed_within(body, 5)
        assert b" 408 " in answer.split(b"\r\n", 1)[0], answer[:200]
