"""rpm/tpm windows: the running window counts what the bucket functions define."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from modelrouter.feedback.headroom import WINDOW_S, Window, used, window_reset_s


def prune(buckets: dict[int, int], now_s: int) -> None:
    """What MemorySignals did before each count: drop the seconds out of the window."""
    for second in [s for s in buckets if s < now_s - WINDOW_S]:
        del buckets[second]


# (second, count): a count added at that second; (second, None): a read then.
_steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=400),
        st.none() | st.integers(min_value=0, max_value=5_000),
    ),
    max_size=120,
)


@given(_steps, st.booleans())
def test_the_window_reads_as_its_buckets_do(
    steps: list[tuple[int, int | None]], onward: bool
) -> None:
    if onward:  # a clock that only moves forward, as one process's mostly is
        steps = sorted(steps, key=lambda step: step[0])
    window = Window()
    buckets: dict[int, int] = {}  # the definition: what MemorySignals kept before
    for second, count in steps:
        if count is None:
            assert window.used(second) == used(buckets, second)
            assert window.reset_s(second) == window_reset_s(buckets, second)
            continue
        window.add(second, count)
        prune(buckets, second)
        buckets[second] = buckets.get(second, 0) + count
    for second in {s for s, _ in steps} | {0, 500}:
        assert window.used(second) == used(buckets, second)
        assert window.reset_s(second) == window_reset_s(buckets, second)


def test_a_busy_minute_is_counted_and_then_forgotten() -> None:
    window = Window()
    for second in range(1000, 1061):
        window.add(second, 3)
    assert window.used(1060) == 3 * 61
    assert window.reset_s(1060) == 1000 + WINDOW_S + 1  # the oldest second leaves then
    assert window.used(1061) == 3 * 60  # read only: nothing dropped, the oldest not counted
    window.add(1200, 1)
    assert window.used(1200) == 1
    assert dict(window.buckets) == {1200: 1}
