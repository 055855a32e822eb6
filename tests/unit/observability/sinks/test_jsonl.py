"""The JSON-lines event sink: one document a line, appended; publish never
blocks (a stuck file system fills the queue, which then drops and counts);
failed writes are counted, never raised; publish is thread-safe."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from modelrouter.observability.events import decision_event, outcome_event
from modelrouter.observability.sinks.jsonl import JsonLinesSink
from modelrouter.pricing.cost import ActualCost
from modelrouter.types import RoutingPlan


def test_json_lines_sink_writes_one_document_per_line(
    tmp_path: Path, plan: RoutingPlan, cost: ActualCost
) -> None:
    path = tmp_path / "data" / "events.jsonl"
    events = [decision_event(plan), outcome_event(plan, cost)]
    sink = JsonLinesSink(path)
    for event in events:
        sink.publish(event)
    assert sink.flush(5.0)
    sink.close()
    again = JsonLinesSink(path)  # appends
    again.publish({"type": "decision", "amount": Decimal("1.50")})
    again.close()

    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [*events, {"type": "decision", "amount": "1.5"}]
    assert (sink.written, sink.dropped, sink.failed) == (2, 0, 0)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_stuck_file_system_never_blocks_publish(tmp_path: Path) -> None:
    # A named pipe nobody reads: opening it for writing blocks until a reader
    # comes, like a hung network file system. The writer thread waits there.
    path = tmp_path / "events.jsonl"
    os.mkfifo(path)
    sink = JsonLinesSink(path, queue_size=4)
    started = time.perf_counter()
    for i in range(10):
        sink.publish({"type": "decision", "n": i})
    assert time.perf_counter() - started < 0.5
    assert sink.dropped == 6  # the queue took four
    assert not sink.flush(0.05)

    started = time.perf_counter()
    sink.close(timeout=0.1)
    assert time.perf_counter() - started < 1.0
    sink.publish({"type": "decision", "n": 10})  # closed: dropped
    assert sink.dropped == 7

    # The file system comes back: what was queued is written.
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        sink.close(timeout=5.0)
        data = os.read(reader, 65536).decode("utf-8")
    finally:
        os.close(reader)
    assert [json.loads(line)["n"] for line in data.splitlines()] == [0, 1, 2, 3]


def test_a_failing_write_is_counted_and_never_raises(tmp_path: Path) -> None:
    directory = tmp_path / "a-directory"
    directory.mkdir()
    sink = JsonLinesSink(directory)  # cannot be opened as a file
    sink.publish({"type": "decision"})
    sink.publish({"type": "decision", "bad": object()})
    assert sink.flush(5.0)
    sink.close()
    assert (sink.written, sink.failed) == (0, 2)


def test_publish_is_thread_safe(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path / "events.jsonl", queue_size=100_000)

    def publish(worker: int) -> None:
        for i in range(500):
            sink.publish({"type": "decision", "worker": worker, "n": i})

    workers = [threading.Thread(target=publish, args=(w,)) for w in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    sink.close()
    lines = (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4000 == sink.written
    assert Counter(json.loads(line)["worker"] for line in lines) == dict.fromkeys(range(8), 500)
