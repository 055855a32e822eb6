"""Choosing the event sink from the environment: NATS when
MODELROUTER_NATS_URL is set, else a JSON-lines file in the data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrouter.observability.sinks import sink_from_env
from modelrouter.observability.sinks.jsonl import JsonLinesSink
from modelrouter.observability.sinks.nats import NatsSink


def test_sink_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, closed_port: int) -> None:
    monkeypatch.delenv("MODELROUTER_NATS_URL", raising=False)
    local = sink_from_env(tmp_path)
    assert isinstance(local, JsonLinesSink)
    assert local.path == tmp_path / "events.jsonl"
    local.close()

    monkeypatch.setenv("MODELROUTER_NATS_URL", f"nats://127.0.0.1:{closed_port}")
    remote = sink_from_env(tmp_path)
    assert isinstance(remote, NatsSink)
    assert remote.stream == "MODELROUTER"
    remote.close(timeout=0.1)
