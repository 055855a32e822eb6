"""The share of a limit left, as the signals a decision reads state it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from modelrouter.feedback.view import _share, iso_ms


def _definition(left: int, limit: int) -> Decimal:
    """The share as first written: exact division, clamped, to four places."""
    quotient = Decimal(left) / Decimal(limit)
    return min(max(quotient, Decimal(0)), Decimal(1)).quantize(Decimal("0.0001"))


@given(
    st.integers(min_value=-(10**6), max_value=10**25),
    st.integers(min_value=1, max_value=10**25),
)
def test_the_share_is_the_definition_to_the_digit(left: int, limit: int) -> None:
    share = _share(left, limit)
    assert share is not None
    expected = _definition(left, limit)
    # Equal in value and written the same: the snapshot records its text.
    assert share.as_tuple() == expected.as_tuple()


@given(st.integers(min_value=1, max_value=10**7))
def test_ties_round_to_even(scale: int) -> None:
    # 0.00005 of the limit exactly: rounds to 0.0000; 0.00015: to 0.0002.
    limit = 20_000 * scale
    assert _share(scale, limit) == Decimal("0.0000")
    assert _share(3 * scale, limit) == Decimal("0.0002")


def test_no_limit_or_no_count_is_no_share() -> None:
    assert _share(None, 1000) is None
    assert _share(5, None) is None
    assert _share(5, 0) is None


def test_iso_ms_names_the_millisecond_in_utc() -> None:
    moment = datetime(2026, 6, 1, 12, 30, 5, 250_000, tzinfo=UTC)
    ms = int(moment.timestamp() * 1000)
    assert iso_ms(ms) == "2026-06-01T12:30:05.250+00:00"
    assert iso_ms(ms) == iso_ms(ms)  # kept, and still the same answer
