"""Circuit transitions: when a deployment is taken out, for how long, and how it comes back."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrouter.feedback.circuit import Circuit, CircuitRules, failure, success
from modelrouter.feedback.classify import HEALTH_CLASSES, ErrorClass

RULES = CircuitRules()  # 3 in a row, 50 % of >= 10 in 60 s; 5 s doubling to 300 s; quota 1 h
T = 1_780_000_000_000  # a fixed "now", in ms since the epoch
E = ErrorClass


def failures(circuit: Circuit, error: ErrorClass, times: list[int], rules: CircuitRules) -> Circuit:
    for at in times:
        circuit = failure(circuit, error, at, rules)
    return circuit


def test_consecutive_failures_open_it() -> None:
    two = failures(Circuit(), E.SERVER_ERROR, [T, T + 1], RULES)
    assert two.state(T + 2) == "closed"
    three = failure(two, E.TIMEOUT, T + 2, RULES)
    assert three.state(T + 2) == "open"
    assert (three.open_until_ms, three.reason, three.trips) == (T + 2 + 5_000, "timeout", 1)


def test_a_success_breaks_the_streak() -> None:
    circuit = failures(Circuit(), E.OVERLOADED, [T, T + 1], RULES)
    circuit = success(circuit, T + 2, RULES)
    circuit = failures(circuit, E.OVERLOADED, [T + 3, T + 4], RULES)
    assert circuit.state(T + 5) == "closed"
    assert circuit.consecutive == 2


def test_error_rate_over_the_window_opens_it_once_there_are_enough_attempts() -> None:
    rules = CircuitRules(consecutive_failures=100)  # only the rate can open it
    circuit = Circuit()
    for i in range(9):  # success, failure, success, ...: 4 of 9 failed
        at = T + i * 1000
        circuit = (
            success(circuit, at, rules)
            if i % 2 == 0
            else failure(circuit, E.SERVER_ERROR, at, rules)
        )
    assert circuit.state(T + 9_000) == "closed"
    circuit = failure(circuit, E.SERVER_ERROR, T + 9_000, rules)  # 5 of 10
    assert circuit.state(T + 9_000) == "open"
    assert circuit.reason == "server_error"


def test_a_high_error_rate_on_too_few_attempts_does_not_open_it() -> None:
    rules = CircuitRules(consecutive_failures=100, min_attempts=10)
    circuit = failures(Circuit(), E.SERVER_ERROR, [T + i for i in range(9)], rules)
    assert circuit.error_rate(T + 9, rules) == 1
    assert circuit.state(T + 9) == "closed"


@pytest.mark.parametrize(
    ("error", "cooldown_ms"),
    [(E.RATE_LIMITED, 5_000), (E.QUOTA_EXHAUSTED, 3_600_000), (E.AUTH_ERROR, 3_600_000)],
)
def test_the_provider_saying_stop_opens_it_at_once(error: ErrorClass, cooldown_ms: int) -> None:
    circuit = failure(Circuit(), error, T, RULES)
    assert circuit.state(T) == "open"
    assert circuit.open_until_ms == T + cooldown_ms
    assert circuit.reason == error.value


def test_the_deadline_is_the_latest_of_reset_and_backoff() -> None:
    by_reset = failure(Circuit(), E.RATE_LIMITED, T, RULES, reset_at_ms=T + 30_000)
    assert by_reset.open_until_ms == T + 30_000
    by_backoff = failure(Circuit(), E.RATE_LIMITED, T, RULES, reset_at_ms=T + 1_000)
    assert by_backoff.open_until_ms == T + 5_000


def test_a_later_shorter_signal_never_shortens_the_deadline() -> None:
    circuit = failure(Circuit(), E.RATE_LIMITED, T, RULES, reset_at_ms=T + 60_000)
    later = failure(circuit, E.RATE_LIMITED, T + 1_000, RULES, reset_at_ms=T + 2_000)
    assert later.open_until_ms == T + 60_000
    assert later.reason == "rate_limited"
    assert later.trips == 1  # an attempt that was in flight does not double the backoff
    longer = failure(later, E.QUOTA_EXHAUSTED, T + 2_000, RULES)
    assert longer.open_until_ms == T + 2_000 + 3_600_000
    assert longer.reason == "quota_exhausted"  # the reason follows the deadline


def test_half_open_once_the_deadline_passes() -> None:
    circuit = failure(Circuit(), E.RATE_LIMITED, T, RULES, reset_at_ms=T + 30_000)
    assert circuit.state(T + 29_999) == "open"
    assert circuit.state(T + 30_000) == "half_open"


def test_a_success_closes_a_half_open_circuit() -> None:
    circuit = failure(Circuit(), E.RATE_LIMITED, T, RULES)
    closed = success(circuit, T + 5_000, RULES)
    assert closed.state(T + 5_000) == "closed"
    assert (closed.consecutive, closed.trips, closed.open_until_ms, closed.reason) == (
        0,
        0,
        0,
        None,
    )
    # The next trip starts the backoff again from the base.
    again = failure(closed, E.RATE_LIMITED, T + 6_000, RULES)
    assert again.open_until_ms == T + 6_000 + 5_000


def test_a_success_that_was_in_flight_does_not_close_an_open_circuit() -> None:
    circuit = failure(Circuit(), E.RATE_LIMITED, T, RULES)
    after = success(circuit, T + 1_000, RULES)
    assert after.state(T + 1_000) == "open"
    assert after.open_until_ms == T + 5_000


def test_each_failed_probe_doubles_the_backoff_up_to_the_cap() -> None:
    circuit = failure(Circuit(), E.SERVER_ERROR, T, RULES, reset_at_ms=None)
    circuit = failures(circuit, E.SERVER_ERROR, [T, T], RULES)
    assert circuit.open_until_ms == T + 5_000
    cooldowns = []
    for _ in range(8):
        probe_at = circuit.open_until_ms  # half-open: a probe goes through, and fails
        circuit = failure(circuit, E.SERVER_ERROR, probe_at, RULES)
        assert circuit.state(probe_at) == "open"
        cooldowns.append((circuit.open_until_ms - probe_at) // 1000)
    assert cooldowns == [10, 20, 40, 80, 160, 300, 300, 300]


@pytest.mark.parametrize("error", [E.BAD_REQUEST, E.CONTENT_POLICY, E.CONTEXT_WINDOW_EXCEEDED])
def test_errors_of_the_request_say_nothing_about_the_deployment(error: ErrorClass) -> None:
    closed = failures(Circuit(), E.SERVER_ERROR, [T, T + 1], RULES)
    assert failures(closed, error, [T + 2, T + 3, T + 4], RULES) == closed
    half_open = failure(Circuit(), E.RATE_LIMITED, T, RULES)
    assert failure(half_open, error, T + 10_000, RULES) == half_open


def test_attempts_older_than_the_window_are_forgotten() -> None:
    rules = CircuitRules(consecutive_failures=100, min_attempts=4)
    old = failures(Circuit(), E.SERVER_ERROR, [T, T, T], rules)
    assert old.counts(T, rules) == (3, 3)
    later = T + 2 * rules.window_ms
    assert old.counts(later, rules) == (0, 0)
    assert old.error_rate(later, rules) is None
    circuit = failure(old, E.SERVER_ERROR, later, rules)
    # With the old three, 4 of 4 would have opened it; alone, 1 of 1 is too few.
    assert circuit.counts(later, rules) == (1, 1)
    assert circuit.state(later) == "closed"
    assert len(circuit.window) == 1  # and they are no longer stored


def test_the_window_is_ten_buckets_of_a_tenth_of_it() -> None:
    rules = CircuitRules(consecutive_failures=100, min_attempts=4)  # 6 s buckets
    start = T - T % rules.bucket_ms
    circuit = failures(Circuit(), E.SERVER_ERROR, [start, start + 20_000, start + 40_000], rules)
    assert circuit.counts(start + 59_999, rules) == (3, 3)
    assert circuit.counts(start + 60_000, rules) == (2, 2)  # the first bucket has left
    circuit = failure(circuit, E.SERVER_ERROR, start + 59_999, rules)
    assert circuit.counts(start + 59_999, rules) == (4, 4)
    assert circuit.state(start + 59_999) == "open"


# -- any sequence ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    after_ms: int
    error: ErrorClass | None  # None: it served
    reset_in_ms: int | None


steps = st.builds(
    Step,
    after_ms=st.integers(0, 400_000),
    error=st.none() | st.sampled_from(list(ErrorClass)),
    reset_in_ms=st.none() | st.integers(0, 4_000_000),
)
rule_sets = st.builds(
    CircuitRules,
    consecutive_failures=st.integers(1, 5),
    error_rate_ppm=st.integers(1, 1_000_000),
    min_attempts=st.integers(1, 12),
    window_ms=st.integers(1, 120_000),
    base_cooldown_ms=st.integers(1, 60_000),
    max_cooldown_ms=st.integers(1, 600_000),
    quota_cooldown_ms=st.integers(1, 7_200_000),
    auth_cooldown_ms=st.integers(1, 7_200_000),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(steps, max_size=40), rule_sets)
def test_the_deadline_only_moves_later_until_a_success_closes_it(
    sequence: list[Step], rules: CircuitRules
) -> None:
    circuit, now = Circuit(), T
    for step in sequence:
        now += step.after_ms
        before = circuit.state(now)
        attempts, failed = circuit.counts(now, rules)
        reset = None if step.reset_in_ms is None else now + step.reset_in_ms
        if step.error is None:
            after = success(circuit, now, rules)
            if before == "half_open":
                assert after.state(now) == "closed"
                assert (after.trips, after.open_until_ms, after.reason) == (0, 0, None)
            else:
                assert after.open_until_ms == circuit.open_until_ms
                assert after.state(now) == before
            assert after.consecutive == 0
        else:
            after = failure(circuit, step.error, now, rules, reset_at_ms=reset)
            assert after.open_until_ms >= circuit.open_until_ms
            if step.error not in HEALTH_CLASSES:
                assert after == circuit
            elif before != "closed" or step.error in {
                E.RATE_LIMITED,
                E.QUOTA_EXHAUSTED,
                E.AUTH_ERROR,
            }:
                # Out for at least the provider's reset and the cool-down.
                assert after.state(now) == "open"
                assert after.open_until_ms >= max(reset or 0, now + 1)
        # Open, half-open and closed agree with what the circuit holds.
        state = after.state(now)
        assert (after.trips == 0) == (after.open_until_ms == 0) == (after.reason is None)
        if state != "closed":
            assert after.reason in {c.value for c in HEALTH_CLASSES}
            assert after.state(after.open_until_ms - 1) == "open"
            assert after.state(after.open_until_ms) == "half_open"
        # The window shown is the one the attempt was judged in: it adds exactly itself.
        if step.error is None:
            assert after.counts(now, rules) == (attempts + 1, failed)
        elif step.error in HEALTH_CLASSES:
            assert after.counts(now, rules) == (attempts + 1, failed + 1)
        circuit = after
