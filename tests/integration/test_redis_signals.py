"""Live signals shared through Redis, on a real server at 127.0.0.1:6379 (or
MODELROUTER_TEST_REDIS_URL): the server's scripts follow the in-process
transitions exactly, instances see one another's circuits, rpm leases never
add up past the limit, and an unreachable server leaves routing on the last
view, saying so. Each test writes under its own key prefix and deletes its keys after."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.backoff import NoBackoff
from redis.retry import Retry

from modelrouter.catalog.index import Catalog
from modelrouter.feedback.attempt import Attempt
from modelrouter.feedback.classify import ErrorClass
from modelrouter.feedback.ratelimits import RateLimitHeaders
from modelrouter.feedback.view import DeploymentState
from modelrouter.policy.document import HealthPolicy, parse_policy
from modelrouter.router import Router
from modelrouter.signals.live import LocalSignals, Observation, to_ms
from modelrouter.signals.memory import MemorySignals
from modelrouter.signals.redis import RedisSignals
from modelrouter.types import Rejection, RejectionCode, RoutingPlan
from tests.conftest import FIXED_NOW, small_document
from tests.integration.conftest import REDIS_HOST, REDIS_PORT, REDIS_URL
from tests.integration.proxy import CuttableProxy

ALPHA, BETA = "alpha/chat-large", "beta/chat-large"
FASTEST = {"model": "chat-large", "input_tokens": 2000, "max_output_tokens": 500}
T0 = to_ms(FIXED_NOW)
E = ErrorClass
# Small enough that the scenarios below cross the 40 half-lives that rescale a histogram.
HEALTH = HealthPolicy(min_attempts=4, latency_half_life_seconds=Decimal(10))


def connect(**options: Any) -> redis.Redis:
    return redis.Redis.from_url(
        REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0, **options
    )


@pytest.fixture(scope="module")
def client(redis_client: redis.Redis) -> redis.Redis:
    return redis_client


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix


class Clock:
    """One time for a test's routers and signal stores, moved by hand."""

    def __init__(self) -> None:
        self.now = FIXED_NOW

    def set(self, **delta: float) -> None:
        self.now = FIXED_NOW + timedelta(**delta)

    def seconds(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def make(prefix: str) -> Iterator[Callable[..., RedisSignals]]:
    """RedisSignals on the test's prefix, each with its own connection; all closed after."""
    made: list[RedisSignals] = []

    def build(clock: Clock | None = None, **options: Any) -> RedisSignals:
        signals = RedisSignals(
            options.pop("redis_client", None) or connect(),
            prefix=prefix,
            clock=time.time if clock is None else clock.seconds,
            **options,
        )
        made.append(signals)
        return signals

    yield build
    for signals in made:
        signals.close()


def state(signals: LocalSignals, deployment: str) -> DeploymentState:
    return signals._states[deployment]


def rejection(plan: RoutingPlan, deployment: str) -> Rejection:
    [found] = [r for r in plan.rejected if r.deployment == deployment]
    return found


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")


# -- the server follows the in-process transitions -------------------------------------------


def same_state(server: DeploymentState, local: DeploymentState, now_ms: int) -> None:
    assert server.circuit == local.circuit  # consecutive, trips, deadline, reason, window
    assert server.provider == local.provider
    half_life = int(HEALTH.latency_half_life_seconds * 1000)
    for theirs, ours in ((server.ttft, local.ttft), (server.speed, local.speed)):
        assert theirs.landmark_ms == ours.landmark_ms
        assert theirs.weights == pytest.approx(ours.weights, rel=1e-12)
        for q in (0.01, 0.1, 0.5, 0.9, 0.99):
            assert theirs.quantile(q) == ours.quantile(q)
        assert theirs.effective_samples(now_ms, half_life) == pytest.approx(
            ours.effective_samples(now_ms, half_life), rel=1e-12
        )


def run_both(
    observations: list[Observation], make: Callable[..., RedisSignals], **options: Any
) -> tuple[MemorySignals, RedisSignals]:
    """The observations applied in process and through Redis; what a second
    instance then reads from the server alone."""
    local = MemorySignals(HEALTH)
    sender = make(health=HEALTH, **options)
    for observation in observations:
        local.observe(observation)
        sender.observe(observation)
    assert sender.refresh()
    reader = make(health=HEALTH, **options)
    assert reader.refresh()
    return local, reader


def observation(
    deployment: str, after_ms: int, error: ErrorClass | None = None, **fields: Any
) -> Observation:
    return Observation(deployment, T0 + after_ms, error, **fields)


SCRIPT = [
    # a: a streak opens it; a rate limit in flight pushes the deadline out; a
    # success while open proves nothing; a bad request says nothing; a probe
    # closes it; a quota opens it for the reset the headers give.
    observation("a", 0, E.SERVER_ERROR, ttft_ms=120.0, tokens_per_s=80.0),
    observation("a", 1_000, E.TIMEOUT, ttft_ms=150.0),
    observation("a", 2_000, E.OVERLOADED, tokens_per_s=95.5),
    observation("a", 3_000, E.RATE_LIMITED, reset_at_ms=T0 + 60_000),
    observation("a", 4_000, None, ttft_ms=133.3, tokens_per_s=70.25),
    observation("a", 5_000, E.BAD_REQUEST),
    observation("a", 61_000, None, ttft_ms=90.0, tokens_per_s=101.0),
    observation(
        "a",
        62_000,
        E.QUOTA_EXHAUSTED,
        limits=RateLimitHeaders(
            retry_after_s=Decimal(7200), remaining_requests=0, requests_reset_s=Decimal("7200")
        ),
    ),
    observation("a", 61_500, None, ttft_ms=80.0),  # reported late, out of order
    # Past 40 half-lives: rescaled, the oldest samples dropped and the newer kept.
    observation("a", 450_000, None, ttft_ms=300.0, tokens_per_s=40.0),
    observation("a", 460_000, None, tokens_per_s=math.inf),
    observation("a", 7_300_000, E.SERVER_ERROR),  # a failed probe: twice the backoff
    observation("a", 7_300_500, None, ttft_ms=0.0),  # rescaled again: only this one is left
    # b: the error rate opens it (2 of 4), then the backoff doubles on each failed probe.
    observation("b", 0, None, ttft_ms=400.0),
    observation("b", 10, E.SERVER_ERROR),
    observation("b", 20, None),
    observation("b", 30, E.SERVER_ERROR),
    observation("b", 5_030, E.SERVER_ERROR),
    observation("b", 15_030, E.OVERLOADED),
    observation("b", 15_031, E.AUTH_ERROR),
    # c: a deadline met exactly keeps its reason; a bucket exactly a window old leaves.
    observation("c", 0, E.RATE_LIMITED, reset_at_ms=T0 + 90_000),
    observation("c", 1_000, E.OVERLOADED, reset_at_ms=T0 + 90_000),
    observation("c", 60_000, None),
    observation(
        "b",
        15_032,
        None,
        limits=RateLimitHeaders(
            remaining_requests=7, remaining_tokens=900, tokens_reset_s=Decimal("1.5")
        ),
    ),
]


def test_the_server_reaches_the_state_the_process_does(make: Callable[..., RedisSignals]) -> None:
    local, reader = run_both(SCRIPT, make)
    a, b = state(local, "a"), state(local, "b")
    # The scenario went where it meant to (so the comparison covers those paths).
    assert (a.circuit.trips, a.circuit.reason) == (2, "server_error")
    assert a.circuit.open_until_ms == T0 + 7_300_000 + 10_000
    assert (b.circuit.reason, b.circuit.open_until_ms) == ("auth_error", T0 + 15_031 + 3_600_000)
    # Speeds: of the four before the rescale only the one at 61 s is kept, beside 40 and inf.
    assert (a.speed.landmark_ms, len(a.speed.weights)) == (T0 + 450_000, 3)
    assert (a.ttft.landmark_ms, len(a.ttft.weights)) == (T0 + 7_300_500, 1)
    c = state(local, "c").circuit
    assert (c.reason, c.window) == ("rate_limited", ((T0 + 60_000, 1, 0),))
    for deployment in ("a", "b", "c"):
        same_state(state(reader, deployment), state(local, deployment), T0 + 7_400_000)


ERRORS = st.none() | st.sampled_from(list(ErrorClass))
LATENCY = st.none() | st.floats(0.5, 50_000)
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        # A little out of order now and then; whole seconds meet bucket edges.
        st.integers(-2_000, 150_000) | st.integers(-2, 150).map(lambda s: s * 1000),
        ERRORS,
        st.none() | st.integers(0, 400_000),
        LATENCY,
        LATENCY,
    ),
    max_size=25,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_any_sequence_reaches_the_same_state(
    steps: list[tuple[str, int, ErrorClass | None, int | None, float | None, float | None]],
    prefix: str,
    client: redis.Redis,
) -> None:
    observations, at = [], T0
    for deployment, step, error, reset_in, ttft, speed in steps:
        at = max(at + step, T0)
        reset = None if reset_in is None else at + reset_in
        observations.append(Observation(deployment, at, error, reset, ttft, speed))

    sub = f"{prefix}-{uuid.uuid4().hex[:8]}"  # each example on keys of its own
    local = MemorySignals(HEALTH)
    sender = RedisSignals(client, prefix=sub, health=HEALTH)
    for o in observations:
        local.observe(o)
        sender.observe(o)
    assert sender.refresh()
    reader = RedisSignals(client, prefix=sub, health=HEALTH)
    assert reader.refresh()
    assert reader.known() == local.known()
    for deployment in local.known():
        same_state(state(reader, deployment), state(local, deployment), at)


# -- instances see one another ---------------------------------------------------------------


def test_a_circuit_opened_on_one_instance_is_honoured_by_another_within_a_second(
    small_catalog: Catalog, make: Callable[..., RedisSignals]
) -> None:
    first = Router(small_catalog, signals=make(refresh_ms=50).start())
    second = Router(small_catalog, signals=make(refresh_ms=50).start())
    request = {**FASTEST, "strategy": "fastest"}
    assert second.route(request).primary.deployment == ALPHA

    plan = first.route(request)
    for i in range(3):
        first.record_attempt(plan, Attempt(ALPHA, E.SERVER_ERROR, attempt_id=f"try-{i}"))
    assert first.route(request).primary.deployment == BETA  # its own view at once

    deadline = time.monotonic() + 1.0
    seen = second.route(request)
    while seen.primary.deployment == ALPHA and time.monotonic() < deadline:
        time.sleep(0.02)
        seen = second.route(request)
    assert seen.primary.deployment == BETA
    fell = rejection(seen, ALPHA)
    assert (fell.code, fell.error_class) == (RejectionCode.CIRCUIT_OPEN, "server_error")


def test_a_short_retry_after_does_not_shorten_a_long_cool_down(
    small_catalog: Catalog, make: Callable[..., RedisSignals]
) -> None:
    clock = Clock()
    writer = make(clock)
    first = Router(small_catalog, signals=writer, clock=lambda: clock.now)
    plan = first.route({**FASTEST, "strategy": "fastest"})
    first.record_attempt(
        plan, Attempt(ALPHA, E.RATE_LIMITED, attempt_id="1", reset_after_s=Decimal(60))
    )
    clock.set(seconds=1)
    headers = RateLimitHeaders(retry_after_s=Decimal(1))
    first.record_attempt(plan, Attempt(ALPHA, E.RATE_LIMITED, attempt_id="2", rate_limits=headers))
    assert writer.refresh()

    reader = make(clock)
    second = Router(small_catalog, signals=reader, clock=lambda: clock.now)
    clock.set(seconds=59)
    assert reader.refresh()
    out = second.route({**FASTEST, "strategy": "fastest"})
    fell = rejection(out, ALPHA)
    assert (fell.code, fell.resets_at) == (
        RejectionCode.CIRCUIT_OPEN,
        iso(FIXED_NOW + timedelta(seconds=60)),
    )


# -- rpm leases ------------------------------------------------------------------------------


def rpm_catalog(rpm: int) -> Catalog:
    document = small_document()
    document["models"]["chat-small"]["deployments"]["alpha"]["rpm"] = rpm
    return Catalog.from_layers([("rpm", document)])


def test_instances_together_never_take_more_than_the_rpm_limit(
    make: Callable[..., RedisSignals],
) -> None:
    catalog = rpm_catalog(20)
    deployment = catalog.deployments["alpha/chat-small"]
    clock = Clock()
    fleet = [make(clock) for _ in range(3)]
    for signals in fleet:
        signals.track(catalog)
    taken: list[int] = []
    for second in range(0, 40, 2):  # 20 rounds within the minute
        clock.set(seconds=second)
        for signals in fleet:
            assert signals.refresh()  # renews this instance's lease
            taken.append(sum(signals.take(deployment, 100, clock.now) for _ in range(4)))
    assert sum(taken) == 20  # all of the limit was used, and no more

    clock.set(seconds=61)  # the minute has passed: the limit is there again
    for signals in fleet:
        assert signals.refresh()
    assert sum(signals.take(deployment, 100, clock.now) for signals in fleet) > 0


# -- an unreachable server -------------------------------------------------------------------


def test_a_server_that_never_answered_leaves_routing_on_an_empty_stale_view(
    small_catalog: Catalog, make: Callable[..., RedisSignals]
) -> None:
    clock = Clock()
    nowhere = redis.Redis(port=1, retry=Retry(NoBackoff(), 0))
    signals = make(clock, redis_client=nowhere)
    assert not signals.refresh()
    router = Router(small_catalog, signals=signals, clock=lambda: clock.now)
    clock.set(seconds=3)

    plan = router.route({**FASTEST, "strategy": "fastest"})
    assert plan.primary.deployment == ALPHA  # the catalog's priors, as without signals
    view = signals.view(small_catalog, clock.now)
    assert view.stale and view.age_ms == 3000
    assert plan.snapshot is not None
    inputs = plan.snapshot["inputs"]
    assert (inputs["signals_stale"], inputs["signals_age_ms"]) == (True, 3000)
    assert any("3000 ms old" in note and "not answering" in note for note in plan.notes)


@dataclass
class Outage:
    proxy: CuttableProxy

    def __enter__(self) -> Outage:
        self.proxy.cut()
        return self

    def __exit__(self, *_: object) -> None:
        self.proxy.restore()


def test_a_server_that_stops_answering_leaves_routing_on_the_last_view(
    small_catalog: Catalog, make: Callable[..., RedisSignals]
) -> None:
    host, port = REDIS_HOST, REDIS_PORT
    proxy = CuttableProxy(host, port).start()
    clock = Clock()
    # One retry: after the outage, a pooled connection found dead is replaced.
    through = redis.Redis(port=proxy.port, socket_timeout=0.5, retry=Retry(NoBackoff(), 1))
    signals = make(clock, redis_client=through, stale_after_ms=1000)
    router = Router(small_catalog, signals=signals, clock=lambda: clock.now)
    request = {**FASTEST, "strategy": "fastest"}
    try:
        plan = router.route(request)
        router.record_attempt(
            plan, Attempt(ALPHA, E.RATE_LIMITED, attempt_id="1", reset_after_s=Decimal(30))
        )
        assert signals.refresh()
        with Outage(proxy):
            clock.set(seconds=2.5)
            assert not signals.refresh()
            routed = router.route(request)
            # Still out on the view last read; the plan says how old that is.
            assert routed.primary.deployment == BETA
            assert rejection(routed, ALPHA).code is RejectionCode.CIRCUIT_OPEN
            assert routed.snapshot is not None
            inputs = routed.snapshot["inputs"]
            assert (inputs["signals_stale"], inputs["signals_age_ms"]) == (True, 2500)
            assert any("2500 ms old" in note for note in routed.notes)
            # What is reported meanwhile waits for the server.
            router.record_attempt(routed, Attempt(BETA, E.AUTH_ERROR, attempt_id="2"))
        assert signals.refresh()
        fresh = router.route(request)
        assert not any("ms old" in note for note in fresh.notes)
        reader = make(clock)
        assert reader.refresh()
        assert state(reader, BETA).circuit.reason == "auth_error"
    finally:
        proxy.close()


def test_the_health_settings_of_the_platform_reach_the_scripts(
    small_catalog: Catalog, make: Callable[..., RedisSignals]
) -> None:
    clock = Clock()
    policy = parse_policy({"health": {"consecutive_failures": 1, "base_cooldown_seconds": 7}})
    writer = make(clock)
    router = Router(small_catalog, policy, signals=writer, clock=lambda: clock.now)
    plan = router.route({**FASTEST, "strategy": "fastest"})
    router.record_attempt(plan, Attempt(ALPHA, E.TIMEOUT, attempt_id="1"))
    assert writer.refresh()
    reader = make(clock)
    assert reader.refresh()
    assert state(reader, ALPHA).circuit.open_until_ms == T0 + 7_000
