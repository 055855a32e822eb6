"""Running a plan whose answer streams.

The call returns the provider's stream: an iterable of events (dicts, or SDK
objects such as the OpenAI SDK's chunks), or for the async run an async
iterable or an awaitable of one. A hop is served once its first event
arrives: that is its time to first token. A hop that fails before then (the
call raises, or the stream raises at once) is reported and the next is tried,
as ``run`` does. Once events flow there is no going back; the attempt is
reported when the stream ends, with the usage of its last event that carries
one (OpenAI's final chunk with ``stream_options.include_usage``, Anthropic's
``message_delta``), or of a stream cut short as ``partial``::

    with client.run_stream(request, call) as stream:   # routed, first event in hand
        for event in stream:
            ...
    stream.result.actual_cost
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any

from modelrouter.client.hop import Hop, Observed, Reply, observe, plain, usage_of
from modelrouter.client.run import (
    AsyncBackend,
    Backend,
    Measure,
    RunResult,
    Walk,
    attempt_id,
    elapsed_ms,
    prepared,
)
from modelrouter.pricing.usage import Usage
from modelrouter.request.model import RouteRequest
from modelrouter.types import RoutingPlan

__all__ = ["AsyncStreamRun", "StreamRun", "open_async", "open_sync"]

_EMPTY = object()  # a stream that ended before its first event


class _Stream:
    def __init__(self, walk: Walk, first: Any, started: float, ttft_ms: Decimal) -> None:
        self.walk = walk
        self._pending = first
        self._started = started
        self.ttft_ms = ttft_ms
        self._usage: Usage | None = None
        self._reported = False
        self.result: RunResult | None = None  # set once the stream has ended

    @property
    def plan(self) -> RoutingPlan:
        return self.walk.plan

    @property
    def decision_id(self) -> str:
        return self.walk.plan.decision_id

    @property
    def hop(self) -> Hop:
        return self.walk.hop

    def _track(self, event: Any) -> Any:
        found = usage_of(plain(event), self.hop.usage_api)
        if found is not None:
            self._usage = found
        return event

    def _served(self, whole: bool) -> tuple[Observed, Measure]:
        self._reported = True
        source = None if self._usage is None else "measured" if whole else "partial"
        observed = Observed(None, usage=self._usage)
        return observed, Measure(
            attempt_id(self.hop), elapsed_ms(self._started), self.ttft_ms, source
        )

    def _failed(self, exc: BaseException) -> tuple[Observed, Measure] | None:
        self._reported = True
        try:
            observed = observe(self.hop, raised=exc)
        except BaseException:
            return None  # not the provider's failure: the caller's to see
        return observed, Measure(attempt_id(self.hop), elapsed_ms(self._started), self.ttft_ms)


class StreamRun(_Stream):
    """The served hop's stream: iterate it for the events; ``result`` once it ends."""

    def __init__(
        self, backend: Backend, walk: Walk, first: Any, rest: Iterator[Any], started: float
    ) -> None:
        super().__init__(walk, first, started, elapsed_ms(started))
        self._backend = backend
        self._rest = rest

    def __iter__(self) -> StreamRun:
        return self

    def __next__(self) -> Any:
        if self._pending is not _EMPTY:
            event, self._pending = self._pending, _EMPTY
            return self._track(event)
        if self._reported:
            raise StopIteration
        try:
            event = next(self._rest)
        except StopIteration:
            self._report(*self._served(whole=True))
            raise
        except Exception as exc:
            failed = self._failed(exc)
            if failed is not None:
                self._backend.record(self.plan, self.hop, *failed, True)
            raise
        return self._track(event)

    def _report(self, observed: Observed, measure: Measure) -> None:
        reported = self._backend.record(self.plan, self.hop, observed, measure, True)
        self.result = self.walk.done(observed, measure, reported)

    def close(self) -> None:
        """Stop early: the attempt is reported with what was counted so far."""
        if not self._reported:
            self._report(*self._served(whole=False))
        closer = getattr(self._rest, "close", None)
        if callable(closer):
            closer()

    def __enter__(self) -> StreamRun:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncStreamRun(_Stream):
    """The async twin of ``StreamRun``: ``async for``, ``aclose()``, ``async with``."""

    def __init__(
        self,
        backend: AsyncBackend,
        walk: Walk,
        first: Any,
        rest: AsyncIterator[Any],
        started: float,
    ) -> None:
        super().__init__(walk, first, started, elapsed_ms(started))
        self._backend = backend
        self._rest = rest

    def __aiter__(self) -> AsyncStreamRun:
        return self

    async def __anext__(self) -> Any:
        if self._pending is not _EMPTY:
            event, self._pending = self._pending, _EMPTY
            return self._track(event)
        if self._reported:
            raise StopAsyncIteration
        try:
            event = await anext(self._rest)
        except StopAsyncIteration:
            await self._report(*self._served(whole=True))
            raise
        except Exception as exc:
            failed = self._failed(exc)
            if failed is not None:
                await self._backend.record(self.plan, self.hop, *failed, True)
            raise
        return self._track(event)

    async def _report(self, observed: Observed, measure: Measure) -> None:
        reported = await self._backend.record(self.plan, self.hop, observed, measure, True)
        self.result = self.walk.done(observed, measure, reported)

    async def aclose(self) -> None:
        if not self._reported:
            await self._report(*self._served(whole=False))
        closer = getattr(self._rest, "aclose", None)
        if callable(closer):
            await closer()

    async def __aenter__(self) -> AsyncStreamRun:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _unstreamed(hop: Hop, returned: Any) -> Observed | None:
    """A call that answered with a whole (error) answer instead of a stream."""
    if isinstance(returned, Reply) or hasattr(returned, "status_code"):
        observed = observe(hop, returned=returned)
        if not observed.ok:
            return observed
    return None


def open_sync(
    backend: Backend, request: RouteRequest | Mapping[str, Any], call: Callable[[Hop], Any]
) -> StreamRun:
    walk = Walk(backend.route_plan(prepared(request)))
    while True:
        hop, started = walk.hop, time.perf_counter()
        try:
            returned = call(hop)
            observed = _unstreamed(hop, returned)
            if observed is None:
                events: Iterator[Any] = iter(_iterable(returned))
                first = next(events, _EMPTY)
                return StreamRun(backend, walk, first, events, started)
        except BaseException as exc:
            observed = observe(hop, raised=exc)
        measure = Measure(attempt_id(hop), elapsed_ms(started))
        reported = backend.record(walk.plan, hop, observed, measure, walk.final(observed))
        walk.done(observed, measure, reported)  # raises when no hop is left


async def open_async(
    backend: AsyncBackend,
    request: RouteRequest | Mapping[str, Any],
    call: Callable[[Hop], Awaitable[Any] | Any],
) -> AsyncStreamRun:
    walk = Walk(await backend.route_plan(prepared(request)))
    while True:
        hop, started = walk.hop, time.perf_counter()
        try:
            returned = call(hop)
            if inspect.isawaitable(returned):
                returned = await returned
            observed = _unstreamed(hop, returned)
            if observed is None:
                events = _async_events(returned)
                first = await anext(events, _EMPTY)
                return AsyncStreamRun(backend, walk, first, events, started)
        except BaseException as exc:
            observed = observe(hop, raised=exc)
        measure = Measure(attempt_id(hop), elapsed_ms(started))
        reported = await backend.record(walk.plan, hop, observed, measure, walk.final(observed))
        walk.done(observed, measure, reported)


def _iterable(value: Any) -> Iterable[Any]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"a streaming call returns an iterable of events, got {type(value)}")
    return value


def _async_events(value: Any) -> AsyncIterator[Any]:
    if hasattr(value, "__aiter__"):
        return aiter(value)

    async def events() -> AsyncIterator[Any]:
        for event in _iterable(value):
            yield event

    return events()
