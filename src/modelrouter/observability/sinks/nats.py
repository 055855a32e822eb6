"""NATS JetStream sink.

Subjects (in stream ``MODELROUTER``, which captures ``modelrouter.>`` and is
created if missing)::

    modelrouter.decisions   one ``decision`` event per routed request
    modelrouter.outcomes    one ``outcome`` event per settled request

Every message carries a ``Nats-Msg-Id`` header equal to the document's
``event_id``, so a publish retried after a lost acknowledgement is stored once
(within the stream's duplicate window, two minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from modelrouter.observability.events import DECISIONS_SUBJECT, Event, encode_event
from modelrouter.observability.sinks.queue import QueuedSink

__all__ = ["STREAM", "NatsSink", "subject_matches"]

_log = logging.getLogger(__name__)

STREAM: Final = "MODELROUTER"
T = TypeVar("T")


@dataclass
class _Pending:
    subject: str
    msg_id: str
    payload: bytes
    attempts: int = 0


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, a final ``>`` one or more."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token not in ("*", have[i])):
            return False
    return len(want) == len(have)


class NatsSink(QueuedSink):
    """Publishes events to NATS JetStream from a background thread that runs
    its own asyncio loop (the callers are sync code; ``publish`` only queues).

    Decisions go to ``subject`` (``modelrouter.decisions``), outcomes to
    ``outcome_subject`` (default: ``outcomes`` next to ``subject``, so
    ``modelrouter.outcomes``). The stream ``stream`` is created if missing,
    capturing ``stream_subjects`` (default: everything under the subject's
    prefix, ``modelrouter.>``), file storage, kept ``max_age`` seconds (7 days);
    an existing stream is used as it is. Publishes are acknowledged by
    JetStream and carry ``Nats-Msg-Id`` = ``event_id``.

    The connection is made and remade on its own (every ``reconnect_wait``
    seconds while the server is away); events wait on the bounded queue in the
    meantime, and are dropped and counted in ``dropped`` when it is full, or
    after ``max_attempts`` failed publishes while connected. Events, unlike
    decisions, are best-effort telemetry. ``close(timeout)`` publishes what is
    queued and gives up on the rest after ``timeout`` seconds.
    """

    def __init__(
        self,
        url: str,
        subject: str = DECISIONS_SUBJECT,
        stream: str = STREAM,
        *,
        outcome_subject: str | None = None,
        stream_subjects: tuple[str, ...] | None = None,
        max_age: float | None = 7 * 24 * 3600.0,
        queue_size: int = 10_000,
        batch_size: int = 256,
        publish_timeout: float = 5.0,
        connect_timeout: float = 2.0,
        reconnect_wait: float = 1.0,
        max_attempts: int = 5,
    ) -> None:
        super().__init__(queue_size, batch_size)
        self.url = url
        self.subject = subject
        prefix = subject.rsplit(".", 1)[0] if "." in subject else subject
        self.outcome_subject = outcome_subject or f"{prefix}.outcomes"
        self.stream = stream
        self.stream_subjects = stream_subjects or (f"{prefix}.>",)
        self.max_age = max_age
        self.publish_timeout = publish_timeout
        self.connect_timeout = connect_timeout
        self.reconnect_wait = reconnect_wait
        self.max_attempts = max_attempts
        self.published = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle = threading.Event()  # the loop is waiting for events
        self._close_deadline = 0.0
        # Created on the loop (asyncio primitives belong to one loop).
        self._wakeup: asyncio.Event | None = None
        self._stop_requested: asyncio.Event | None = None
        self._expired: asyncio.Event | None = None
        self._stream_ready = False
        self._warned_down = False
        self._warned_stream = False
        self._thread = threading.Thread(
            target=self._run, name="modelrouter-events-nats", daemon=True
        )
        self._thread.start()

    def subject_for(self, event: Event) -> str:
        return self.outcome_subject if event.get("type") == "outcome" else self.subject

    # -- the caller's side ------------------------------------------------------------

    def _queued(self) -> None:
        # Wake the loop only when it sleeps: an idle-to-busy edge costs one
        # self-pipe write, a busy loop costs the caller nothing.
        if self._idle.is_set():
            self._call_soon(self._set_wakeup)

    def _call_soon(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(callback)

    def _set_wakeup(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    def close(self, timeout: float = 5.0) -> None:
        """Publish what is queued, then disconnect; after ``timeout`` seconds
        give up on what is left (counted in ``dropped``). Idempotent."""
        if not self._stopping.is_set():
            self._close_deadline = time.monotonic() + timeout
            self._stopping.set()
        self._call_soon(self._begin_stop)
        self._thread.join(max(0.0, self._close_deadline - time.monotonic()) + 2.0)
        if self._thread.is_alive():
            _log.warning("the NATS event publisher did not stop within %ss", timeout)

    # -- the loop's side --------------------------------------------------------------

    def _begin_stop(self) -> None:
        if self._stop_requested is None or self._expired is None or self._wakeup is None:
            return
        if self._stop_requested.is_set():
            return
        self._stop_requested.set()
        self._wakeup.set()
        expired = self._expired
        remaining = max(0.0, self._close_deadline - time.monotonic())
        asyncio.get_running_loop().call_later(remaining, expired.set)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            _log.exception("the NATS event publisher stopped")
        finally:
            self._stopping.set()  # from now on publish() drops at once
            self._drop_queued()

    async def _main(self) -> None:
        self._wakeup = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._expired = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        if self._stopping.is_set():  # close() came before the loop existed
            self._begin_stop()
        client: NatsClient | None = None
        pending: list[_Pending] = []
        try:
            client = await self._race(self._connect())
            if client is None:
                return
            js = client.jetstream(timeout=self.publish_timeout)
            while not self._expired.is_set():
                if not pending:
                    pending = self._take_pending()
                if not pending:
                    if self._stop_requested.is_set():
                        return
                    await self._wait_for_events()
                    continue
                if not self._stream_ready:
                    ready = await self._race(self._ensure_stream(js))
                    if not ready:
                        await self._pause(self.reconnect_wait)
                        continue
                pending = await self._send(client, js, pending)
                if pending and self._stream_ready:  # else: make the stream, then retry
                    await self._pause(self.reconnect_wait)
        finally:
            if pending:
                self._drop(len(pending))
                self._done(len(pending))
            self._drop_queued()
            if client is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.close(), 2.0)

    def _take_pending(self) -> list[_Pending]:
        batch = self._take(timeout=None)
        out: list[_Pending] = []
        for event in batch:
            try:
                payload = encode_event(event)
            except (TypeError, ValueError) as exc:
                _log.warning("event not published, it is not JSON: %s", exc)
                self._drop()
                self._done(1)
                continue
            msg_id = str(event.get("event_id") or "")
            out.append(_Pending(self.subject_for(event), msg_id, payload))
        return out

    async def _wait_for_events(self) -> None:
        assert self._wakeup is not None
        self._wakeup.clear()
        self._idle.set()
        try:
            # Re-check after announcing idleness: an event queued before
            # ``_idle`` was set did not wake us.
            if self._queue.empty() and not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), 1.0)
        finally:
            self._idle.clear()

    async def _pause(self, seconds: float) -> None:
        assert self._stop_requested is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), seconds)

    async def _race(self, work: Awaitable[T]) -> T | None:
        """``work``'s result, or None if the close deadline comes first."""
        assert self._expired is not None
        task = asyncio.ensure_future(work)
        expiry = asyncio.ensure_future(self._expired.wait())
        try:
            await asyncio.wait({task, expiry}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            expiry.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return None

    async def _connect(self) -> NatsClient:
        client = NatsClient()

        async def on_error(exc: Exception) -> None:
            if not self._warned_down:
                self._warned_down = True
                _log.warning("NATS at %s: %s; retrying", self.url, exc)
            else:
                _log.debug("NATS at %s: %s", self.url, exc)

        async def on_disconnected() -> None:
            if not self._stopping.is_set():
                _log.warning("disconnected from NATS at %s; reconnecting", self.url)

        async def on_reconnected() -> None:
            _log.info("reconnected to NATS at %s", self.url)
            self._warned_down = False
            self._stream_ready = False  # a restarted server may have lost it

        try:
            # max_reconnect_attempts=-1: nats-py retries the first connection
            # too, every reconnect_wait seconds, until it succeeds or is cancelled.
            await client.connect(
                self.url,
                name="modelrouter-events",
                connect_timeout=max(1, round(self.connect_timeout)),
                reconnect_time_wait=self.reconnect_wait,  # type: ignore[arg-type]
                max_reconnect_attempts=-1,
                allow_reconnect=True,
                error_cb=on_error,
                disconnected_cb=on_disconnected,
                reconnected_cb=on_reconnected,
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await client.close()
            raise
        if self._warned_down:
            _log.info("connected to NATS at %s", self.url)
        self._warned_down = False
        return client

    async def _ensure_stream(self, js: JetStreamContext) -> bool:
        try:
            try:
                info = await js.stream_info(self.stream)
            except nats.js.errors.NotFoundError:
                await js.add_stream(
                    StreamConfig(
                        name=self.stream,
                        subjects=list(self.stream_subjects),
                        storage=StorageType.FILE,
                        max_age=self.max_age,
                        duplicate_window=120.0,
                    )
                )
                _log.info("created JetStream stream %s (%s)", self.stream, self.stream_subjects)
            else:
                subjects = info.config.subjects or []
                for wanted in (self.subject, self.outcome_subject):
                    if not any(subject_matches(pattern, wanted) for pattern in subjects):
                        _log.warning(
                            "JetStream stream %s (subjects %s) does not capture %s",
                            self.stream,
                            subjects,
                            wanted,
                        )
        except Exception as exc:
            # Warn once per outage (JetStream disabled, no permission...), then quietly retry.
            log = _log.debug if self._warned_stream else _log.warning
            log("JetStream stream %s is not ready: %r; retrying", self.stream, exc)
            self._warned_stream = True
            return False
        self._warned_stream = False
        self._stream_ready = True
        return True

    async def _send(
        self, client: NatsClient, js: JetStreamContext, batch: list[_Pending]
    ) -> list[_Pending]:
        """Publish a batch concurrently; returns the events to try again."""
        timeout = self.publish_timeout
        if self._stop_requested is not None and self._stop_requested.is_set():
            timeout = max(0.05, min(timeout, self._close_deadline - time.monotonic()))
        publishes = asyncio.gather(
            *(
                js.publish(
                    item.subject,
                    item.payload,
                    timeout=timeout,
                    headers={"Nats-Msg-Id": item.msg_id} if item.msg_id else None,
                )
                for item in batch
            ),
            return_exceptions=True,
        )
        results = await self._race(publishes)
        if results is None:  # the close deadline: the caller drops what is left
            return batch
        retry: list[_Pending] = []
        failures: list[BaseException] = []
        given_up = 0
        connected = client.is_connected
        for item, result in zip(batch, results, strict=True):
            if not isinstance(result, BaseException):
                self.published += 1
                self._done(1)
                continue
            failures.append(result)
            if isinstance(result, nats.js.errors.NoStreamResponseError):
                self._stream_ready = False  # deleted, or a server that lost it
            permanent = isinstance(
                result, nats.js.errors.BadRequestError | nats.errors.MaxPayloadError
            )
            if connected:  # while reconnecting, waiting costs no attempt
                item.attempts += 1
            if permanent or item.attempts >= self.max_attempts:
                given_up += 1
            else:
                retry.append(item)
        if given_up:
            _log.warning("%d events dropped after failed publishes: %r", given_up, failures[0])
            self._drop(given_up)
            self._done(given_up)
        elif failures:
            _log.debug("%d of %d publishes failed: %r", len(failures), len(batch), failures[0])
        return retry
