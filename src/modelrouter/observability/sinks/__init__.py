"""Event sinks: ``JsonLinesSink`` (the embedded default: a file, one document a line)
and ``NatsSink`` (NATS JetStream). Both take ``publish()`` calls from any
thread and never block them: events go on a bounded queue that a background
thread drains in batches. When the queue is full the event is dropped and
counted in ``dropped``. Events, unlike decisions, are best-effort telemetry:
the decision record that must never be lost is the store's (DecisionWriter
and its spool); an event stream that falls behind sheds load instead of
slowing routing down.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from modelrouter.observability.events import EventSink
from modelrouter.observability.sinks.jsonl import JsonLinesSink
from modelrouter.observability.sinks.nats import NatsSink

__all__ = ["NATS_URL_ENV", "JsonLinesSink", "NatsSink", "sink_from_env"]

NATS_URL_ENV: Final = "MODELROUTER_NATS_URL"


def sink_from_env(data_dir: Path) -> EventSink:
    """``NatsSink`` at ``MODELROUTER_NATS_URL`` when it is set, else a
    ``JsonLinesSink`` writing ``data_dir / "events.jsonl"``."""
    url = os.environ.get(NATS_URL_ENV, "").strip()
    if url:
        return NatsSink(url)
    return JsonLinesSink(Path(data_dir) / "events.jsonl")
