"""Admission control: a worker that has too many requests in flight answers
503 at once instead of queueing more.

Each worker counts the HTTP requests it is serving, from the moment their
headers are parsed until their answer is sent. Beyond ``MODELROUTER_MAX_IN_FLIGHT``
a new request is answered ``503 {"error": {"code": "overloaded", ...}}`` with
``Retry-After``, before its body is read and before anything else is done for
it (no key is checked, nothing is routed or stored), so a client may safely
send it again, and the library's client does (it retries 503 after
``Retry-After``). The health and readiness probes and ``/metrics`` are never
refused and not counted: an overloaded worker still tells its orchestrator it
is alive, and its metrics can still be read.

Why 256 by default. One worker routes about 1,500 requests a second on one
core (BENCHMARKS.md), and its throughput is flat from 16 requests in flight
upwards: past that point a further request adds only waiting, about 0.7 ms
per request ahead of it. 256 in flight is about 170 ms of queued work, well
under any client's timeout, and four times the concurrency a gateway usually
keeps open to one worker (the benchmarks' 64), so a healthy service never
refuses anything; it is a guard against a burst or a stall that would
otherwise make every waiting request late, not a rate limit. A request still
sending its body holds its place (up to the body deadline,
``MODELROUTER_BODY_TIMEOUT_SECONDS``), so the limit also bounds what slow
clients can tie up. ``0`` turns admission control off.

Unlike uvicorn's ``--limit-concurrency`` (which counts connections, idle
keep-alive ones too, and answers a plain-text 503 without ``Retry-After``),
this counts requests and answers in the service's error shape.

The counts are exposed on ``/metrics`` (``modelrouter_overloaded_requests_total``,
``modelrouter_requests_in_flight``, see ``observability/overload.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from modelrouter.service.errors import error_body

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "EXEMPT_PATHS",
    "RETRY_AFTER_SECONDS",
    "AdmissionControl",
    "AdmissionGate",
]

DEFAULT_MAX_IN_FLIGHT = 256
# An overload is a burst: a second is long enough for it to drain, short
# enough not to idle a client that could be served.
RETRY_AFTER_SECONDS = 1
# The probes and the metrics: never refused, never counted.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass
class AdmissionGate:
    """The worker's count of requests in flight, and of those refused. Used
    from the event loop only: plain integers, no lock."""

    limit: int = DEFAULT_MAX_IN_FLIGHT  # 0: no limit
    retry_after: int = RETRY_AFTER_SECONDS
    exempt: frozenset[str] = field(default=EXEMPT_PATHS)
    in_flight: int = 0
    rejected: int = 0

    def refusal(self) -> bytes:
        return json.dumps(
            error_body(
                "overloaded",
                f"this worker is serving {self.in_flight} requests, its limit "
                f"(MODELROUTER_MAX_IN_FLIGHT={self.limit}); retry after {self.retry_after} s",
                retry_after_seconds=self.retry_after,
            ),
            separators=(",", ":"),
        ).encode()


class AdmissionControl:
    """Pure ASGI: 503 ``overloaded`` with ``Retry-After`` for an HTTP request
    beyond the gate's limit; everything else passes through untouched."""

    def __init__(self, app: ASGIApp, gate: AdmissionGate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gate = self.gate
        if scope["type"] != "http" or gate.limit <= 0 or scope["path"] in gate.exempt:
            await self.app(scope, receive, send)
            return
        if gate.in_flight >= gate.limit:
            gate.rejected += 1
            await self._refuse(send)
            return
        gate.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            gate.in_flight -= 1

    async def _refuse(self, send: Send) -> None:
        # The body is not read: the server discards what the client still
        # sends of it and keeps the connection for the next request.
        body = self.gate.refusal()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.gate.retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
