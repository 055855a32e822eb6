"""Decaying latency percentiles: read to within a bucket, newer samples weigh more."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrouter.feedback.latency import Histogram

HALF_LIFE = 300_000  # 5 minutes, in ms
T = 1_780_000_000_000
# A percentile reads as its bucket's middle: within half a bucket (2^(1/16), ~4.4 %) of
# the sample it falls on, and so well within one bucket (2^(1/8), ~9 %).
HALF_BUCKET = 2 ** (1 / 16) * (1 + 1e-12)
QS = (0.1, 0.5, 0.9, 0.99)


def histogram(samples: list[float], at: int = T) -> Histogram:
    h = Histogram()
    for value in samples:
        h.add(value, at, HALF_LIFE)
    return h


def ratio(a: float, b: float) -> float:
    return max(a / b, b / a)


def test_percentiles_of_known_samples() -> None:
    h = histogram([float(ms) for ms in range(1, 1001)])  # 1 ms .. 1000 ms
    for q, exact in ((0.5, 500.0), (0.9, 900.0), (0.99, 990.0)):
        found = h.quantile(q)
        assert found is not None
        assert ratio(found, exact) <= HALF_BUCKET


def test_an_empty_histogram_has_no_percentiles() -> None:
    assert Histogram().quantile(0.5) is None
    assert Histogram().effective_samples(T, HALF_LIFE) == 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0.01, 1e6), min_size=1, max_size=60),
    st.sampled_from([0.01, 0.1, 0.5, 0.9, 0.99, 1.0]),
)
def test_a_percentile_is_the_bucket_of_the_sample_it_falls_on(
    samples: list[float], q: float
) -> None:
    found = histogram(samples).quantile(q)
    # Equal weights: the first sample (in order) whose count reaches q of the total.
    ordered = sorted(samples)
    target = q * len(samples)
    exact = next(v for i, v in enumerate(ordered) if i + 1 >= target)
    assert found is not None
    assert ratio(found, exact) <= HALF_BUCKET


def test_a_sample_weighs_twice_as_much_as_one_a_half_life_older() -> None:
    # Three samples of 100 ms, then one of 1000 ms: the new one must weigh more
    # than the three old ones together to move the median.
    one_later = histogram([100.0] * 3)
    one_later.add(1000.0, T + HALF_LIFE, HALF_LIFE)  # 2 against 3
    two_later = histogram([100.0] * 3)
    two_later.add(1000.0, T + 2 * HALF_LIFE, HALF_LIFE)  # 4 against 3
    assert ratio(one_later.quantile(0.5) or 0, 100.0) <= HALF_BUCKET
    assert ratio(two_later.quantile(0.5) or 0, 1000.0) <= HALF_BUCKET


def test_effective_samples_decay_by_the_half_life() -> None:
    h = histogram([200.0] * 8)
    assert h.effective_samples(T, HALF_LIFE) == pytest.approx(8)
    assert h.effective_samples(T + HALF_LIFE, HALF_LIFE) == pytest.approx(4)
    assert h.effective_samples(T + 3 * HALF_LIFE, HALF_LIFE) == pytest.approx(1)
    h.add(200.0, T + 3 * HALF_LIFE, HALF_LIFE)
    assert h.effective_samples(T + 3 * HALF_LIFE, HALF_LIFE) == pytest.approx(2)


def test_read_long_after_the_last_sample() -> None:
    # 2^elapsed overflows a double after 1024 half-lives (3.5 days at 5 minutes).
    h = histogram([200.0] * 8)
    much_later = T + 2000 * HALF_LIFE
    assert h.effective_samples(much_later, HALF_LIFE) == pytest.approx(0)
    assert ratio(h.quantile(0.5) or 0, 200.0) <= HALF_BUCKET


def test_a_sample_long_after_the_others_rescales_and_stays_finite() -> None:
    h = histogram([100.0] * 3)
    much_later = T + 100 * HALF_LIFE
    h.add(1000.0, much_later, HALF_LIFE)
    assert all(math.isfinite(w) for w in h.weights.values())
    assert ratio(h.quantile(0.5) or 0, 1000.0) <= HALF_BUCKET  # the old ones count for ~0
    assert h.effective_samples(much_later, HALF_LIFE) == pytest.approx(1)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.01, 1e6), st.integers(0, 30 * HALF_LIFE)),
        min_size=1,
        max_size=40,
    ),
    st.integers(0, 5 * HALF_LIFE),
)
def test_rescaling_changes_no_percentile(samples: list[tuple[float, int]], later: int) -> None:
    h = Histogram()
    for value, offset in sorted(samples, key=lambda s: s[1]):
        h.add(value, T + offset, HALF_LIFE)
    now = T + max(offset for _, offset in samples) + later
    # Bounds a hair either side of each percentile: rescaling rounds the weights,
    # which may tip an exact tie between two buckets (and may do no more).
    bounds = {q: (h.quantile(q * (1 - 1e-9)), h.quantile(min(q * (1 + 1e-9), 1.0))) for q in QS}
    samples_before = h.effective_samples(now, HALF_LIFE)
    h.rescale(now, HALF_LIFE)
    assert h.landmark_ms == now
    for q, (low, high) in bounds.items():
        found = h.quantile(q)
        assert low is not None and high is not None and found is not None
        assert low <= found <= high
    assert h.effective_samples(now, HALF_LIFE) == pytest.approx(samples_before, rel=1e-9)


@pytest.mark.parametrize("value", [0.0, -5.0, math.inf, -math.inf, math.nan, 1e-300, 1e300])
def test_values_out_of_range_are_clipped_not_raised(value: float) -> None:
    h = histogram([value, 100.0, 100.0])
    median = h.quantile(0.5)
    assert median is not None and ratio(median, 100.0) <= HALF_BUCKET
    for q in (0.0, 1.0):
        found = h.quantile(q)
        assert found is not None and math.isfinite(found) and found > 0
    assert h.effective_samples(T, HALF_LIFE) == pytest.approx(3)
