"""The caller's half of every sink: a bounded queue that ``publish`` never
blocks on, a drop counter, and the background drain loop."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time

from modelrouter.observability.events import Event

__all__ = ["QueuedSink"]

_log = logging.getLogger(__name__)

# Seconds between looks at an empty queue (see QueuedSink._first): how long
# an event may wait before its sink takes it.
POLL_SECONDS = 0.02


class QueuedSink:
    """The caller's half of a sink: a bounded queue and a drop counter."""

    def __init__(self, queue_size: int, batch_size: int) -> None:
        if queue_size < 1 or batch_size < 1:
            raise ValueError("queue_size and batch_size must be at least 1")
        self.batch_size = batch_size
        # None is a wake-up, never an event.
        self._queue: queue.Queue[Event | None] = queue.Queue(maxsize=queue_size)
        self._stopping = threading.Event()
        self._counts_lock = threading.Lock()
        self._dropped = 0

    @property
    def dropped(self) -> int:
        """Events given up on: queue full, sink closed, or undeliverable."""
        return self._dropped

    def _drop(self, count: int = 1) -> None:
        with self._counts_lock:
            self._dropped += count

    def publish(self, event: Event) -> None:
        """Queue ``event`` and return at once; drop it (and count it) if the
        queue is full or the sink is closed."""
        if self._stopping.is_set():
            self._drop()
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._drop()
            return
        self._queued()

    def _queued(self) -> None:
        """Hook: an event was queued."""

    def _take(self, timeout: float | None) -> list[Event]:
        """Up to ``batch_size`` events; waits up to ``timeout`` for the first
        (None: do not wait). Every event taken must be ``_done`` later."""
        try:
            first = self._first(timeout)
        except queue.Empty:
            return []
        batch: list[Event] = []
        item: Event | None = first
        while True:
            if item is None:
                self._queue.task_done()
            else:
                batch.append(item)
            if len(batch) >= self.batch_size:
                return batch
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch

    def _first(self, timeout: float | None) -> Event | None:
        """The first item, looked for every ``POLL_SECONDS`` up to ``timeout``.
        Not a blocking ``get``: that would make every ``publish`` wake this
        thread, which then takes the interpreter lock from the request that
        published, once per event; polled, it takes what a poll's worth of
        requests published in one go."""
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            if timeout is None or self._stopping.is_set():
                raise
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise queue.Empty
            self._stopping.wait(min(POLL_SECONDS, remaining))
            try:
                return self._queue.get_nowait()
            except queue.Empty:
                if self._stopping.is_set():
                    raise

    def _done(self, count: int) -> None:
        for _ in range(count):
            self._queue.task_done()

    def _drop_queued(self) -> int:
        """Drop (and count) whatever is still queued; for a stopped worker."""
        dropped = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            self._queue.task_done()
            if item is not None:
                dropped += 1
        if dropped:
            self._drop(dropped)
        return dropped

    def _wake(self) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every event queued so far is written (or given up on);
        False if ``timeout`` seconds passed first. Not for the hot path."""
        end = time.monotonic() + timeout
        done = self._queue.all_tasks_done
        with done:
            while self._queue.unfinished_tasks:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    return False
                done.wait(remaining)
        return True
