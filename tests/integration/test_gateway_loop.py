"""A gateway loop against a mock provider over real HTTP: it follows each
plan hop by hop and reports every attempt. When one deployment starts
answering 429 with retry-after: 30 it leaves the primary slot at once; after
the cool-down, probes find it healthy and it comes back."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.feedback.attempt import Attempt
from modelrouter.feedback.classify import classify
from modelrouter.feedback.ratelimits import parse_rate_limit_headers
from modelrouter.pricing.extract import extract_usage
from modelrouter.router import Router
from modelrouter.types import RoutingPlan


class MockProvider(ThreadingHTTPServer):
    """``POST /<deployment id>``: an OpenAI chat completion, or the 429 the
    test has set for that deployment."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.failing: set[str] = set()
        self.calls: list[tuple[str, int]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: MockProvider

    def do_POST(self) -> None:
        deployment = self.path.lstrip("/")
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if deployment in self.server.failing:
            status, headers = 429, {"retry-after": "30"}
            body: dict[str, Any] = {
                "error": {
                    "message": "Rate limit reached for requests",
                    "type": "requests",
                    "code": "rate_limit_exceeded",
                }
            }
        else:
            status, headers = 200, {"x-ratelimit-remaining-requests": "5000"}
            body = {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
                "usage": {"prompt_tokens": 900, "completion_tokens": 120, "total_tokens": 1020},
            }
        self.server.calls.append((deployment, status))
        payload = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {**headers, "content-type": "application/json"}.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def provider() -> Iterator[MockProvider]:
    server = MockProvider()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class Gateway:
    """What a gateway does with a plan: try each hop in order, report each attempt."""

    def __init__(self, router: Router, provider: MockProvider) -> None:
        self.router = router
        self.http = httpx.Client(base_url=provider.base, timeout=5)
        self.count = 0

    def serve(self) -> tuple[RoutingPlan, str]:
        self.count += 1
        plan = self.router.route(
            {"model": "gpt-4o", "input_tokens": 900, "request_id": f"req-{self.count}"}
        )
        for index, hop in enumerate(plan.chain):
            started = time.perf_counter()
            answer = self.http.post(f"/{hop.deployment}", json={"model": hop.model})
            latency = Decimal(round((time.perf_counter() - started) * 1000, 1))
            limits = parse_rate_limit_headers(answer.headers, self.router.now())
            if answer.status_code == 200:
                usage = extract_usage(answer.json(), "openai-chat").usage
                self.router.record_attempt(
                    plan,
                    Attempt(
                        hop.deployment,
                        attempt_id=str(index),
                        usage=usage,
                        latency_ms=latency,
                        rate_limits=limits,
                    ),
                )
                return plan, hop.deployment
            error = classify(answer.status_code, answer.json(), headers=dict(answer.headers))
            self.router.record_attempt(
                plan,
                Attempt(
                    hop.deployment,
                    error.error_class,
                    attempt_id=str(index),
                    latency_ms=latency,
                    rate_limits=limits,
                    reset_after_s=error.reset_after_s,
                ),
            )
        raise AssertionError(f"no hop of {plan.decision_id} served")


def test_a_rate_limited_deployment_leaves_the_primary_slot_and_comes_back(
    provider: MockProvider,
) -> None:
    clock = [datetime(2026, 12, 2, 12, 0, tzinfo=UTC)]
    router = Router(Catalog.bundled(), clock=lambda: clock[0])
    gateway = Gateway(router, provider)

    plan, served = gateway.serve()
    victim = plan.primary.deployment
    assert served == victim

    provider.failing.add(victim)
    primaries = [gateway.serve()[0].primary.deployment for _ in range(5)]
    # The first plan still names it (nothing said otherwise yet); its 429
    # opens the circuit, and the next plans route around it.
    assert primaries[0] == victim
    assert victim not in primaries[1:]
    assert provider.calls.count((victim, 429)) == 1  # never tried again while cooling down

    # Past the provider's 30 s: half-open. Probes go through, find it healthy,
    # and close the circuit; it is the primary again.
    provider.failing.clear()
    clock[0] += timedelta(seconds=31)
    served_by = [gateway.serve()[1] for _ in range(20)]
    assert victim in served_by
    first_success = served_by.index(victim)
    later = [gateway.serve()[0].primary.deployment for _ in range(5)]
    assert later == [victim] * 5, (first_success, later)
    health = router.signals.health(router.catalog, clock[0])
    [report] = [h for h in health if h["deployment"] == victim]
    assert report["circuit"]["state"] == "closed"
