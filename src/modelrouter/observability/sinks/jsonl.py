"""The embedded default sink: one JSON document a line, appended to a file."""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import IO

from modelrouter.observability.events import Event, encode_event
from modelrouter.observability.sinks.queue import QueuedSink

__all__ = ["JsonLinesSink"]

_log = logging.getLogger(__name__)


class JsonLinesSink(QueuedSink):
    """Appends one JSON document per line to ``path``, from a background thread.

    ``publish`` only puts the event on a bounded queue: a slow or stuck file
    system never blocks the caller. When the queue is full the event is
    dropped and counted in ``dropped``: events, unlike decisions, are
    best-effort telemetry. Lines are flushed to the operating system after
    every batch (not fsynced). A write error is logged, counted in ``failed``
    (those events are lost) and the file is reopened for the next batch.
    """

    def __init__(self, path: Path, *, queue_size: int = 10_000, batch_size: int = 500) -> None:
        super().__init__(queue_size, batch_size)
        self.path = Path(path)
        self.written = 0
        self.failed = 0
        self._thread = threading.Thread(
            target=self._run, name="modelrouter-events-jsonl", daemon=True
        )
        self._thread.start()

    def _open(self) -> IO[str] | None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self.path.open("a", encoding="utf-8")
        except OSError as exc:
            _log.warning("cannot open the event log %s: %s", self.path, exc)
            return None

    def _run(self) -> None:
        # Opened before the first event is taken, so a stuck file system holds
        # the thread here and the queue (not the caller) absorbs the wait.
        file = self._open()
        try:
            while not (self._stopping.is_set() and self._queue.empty()):
                batch = self._take(timeout=1.0)
                if batch:
                    try:
                        file = self._write(file, batch)
                    finally:
                        self._done(len(batch))
        finally:
            if file is not None:
                with contextlib.suppress(OSError):
                    file.close()
            self._drop_queued()  # a publish that raced with close()

    def _write(self, file: IO[str] | None, batch: list[Event]) -> IO[str] | None:
        lines: list[str] = []
        for event in batch:
            try:
                lines.append(encode_event(event).decode("utf-8") + "\n")
            except (TypeError, ValueError) as exc:
                _log.warning("event not written, it is not JSON: %s", exc)
                self.failed += 1
        if file is None:
            file = self._open()
        if file is None:
            self.failed += len(lines)
            return None
        try:
            file.write("".join(lines))
            file.flush()
        except OSError as exc:
            _log.warning("writing %d events to %s failed: %s", len(lines), self.path, exc)
            self.failed += len(lines)
            with contextlib.suppress(OSError):
                file.close()
            return None
        self.written += len(lines)
        return file

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued and stop, waiting at most ``timeout`` seconds.
        Events published after ``close`` are dropped."""
        self._stopping.set()
        self._wake()
        self._thread.join(timeout)
        if self._thread.is_alive():
            _log.warning(
                "the event log writer did not finish within %ss; %d events still queued",
                timeout,
                self._queue.qsize(),
            )
