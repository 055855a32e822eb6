"""The NATS JetStream event sink: its subjects, and publish never blocking
while the server is away (a full queue drops and counts)."""

from __future__ import annotations

import time

from modelrouter.observability.sinks.nats import NatsSink, subject_matches


def test_subject_matching() -> None:
    assert subject_matches("modelrouter.>", "modelrouter.decisions")
    assert not subject_matches("modelrouter.>", "modelrouter")
    assert subject_matches("modelrouter.*", "modelrouter.outcomes")
    assert not subject_matches("modelrouter.*", "modelrouter.outcomes.x")
    assert not subject_matches("other.>", "modelrouter.decisions")


def test_nats_sink_never_blocks_while_the_server_is_away(closed_port: int) -> None:
    sink = NatsSink(f"nats://127.0.0.1:{closed_port}", queue_size=3, reconnect_wait=0.05)
    assert (sink.subject, sink.outcome_subject) == (
        "modelrouter.decisions",
        "modelrouter.outcomes",
    )
    assert sink.stream_subjects == ("modelrouter.>",)
    assert sink.subject_for({"type": "outcome"}) == "modelrouter.outcomes"
    started = time.perf_counter()
    for i in range(5):
        sink.publish({"type": "decision", "event_id": f"e{i}"})
    assert time.perf_counter() - started < 0.5
    assert sink.dropped == 2
    started = time.perf_counter()
    sink.close(timeout=0.3)
    assert time.perf_counter() - started < 2.0
    assert (sink.published, sink.dropped) == (0, 5)  # the queued three were given up
