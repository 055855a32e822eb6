from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrouter.money import EXACT, display, exact_str, parse_decimal, per_million


def test_float_input_keeps_its_written_value() -> None:
    assert parse_decimal(0.1) == Decimal("0.1")
    assert parse_decimal(2.5e-06) == Decimal("0.0000025")


@pytest.mark.parametrize("bad", [-1, "abc", float("nan"), float("inf"), True, None, [1]])
def test_rejects_what_is_not_a_price(bad: object) -> None:
    with pytest.raises(ValueError, match="price"):
        parse_decimal(bad, what="price")


def test_one_spelling_per_value() -> None:
    assert exact_str(parse_decimal("2.50")) == "2.5"
    assert exact_str(parse_decimal("100")) == "100"
    assert exact_str(Decimal("0.000")) == "0"


def test_per_million_is_exact() -> None:
    assert per_million(1, Decimal("0.15")) == Decimal("0.00000015")
    assert per_million(2_000_000, Decimal("3")) == Decimal("6")


def test_display_rounds_only_for_people() -> None:
    assert display(Decimal("0.0123456789")) == "$0.012346"


def _reference_exact_str(amount: Decimal) -> str:
    """The definition: the normalised value in fixed-point notation."""
    return "0" if amount.is_zero() else format(amount.normalize(EXACT), "f")


@given(
    st.decimals(allow_nan=False, allow_infinity=False)
    | st.builds(
        lambda digits, exponent, sign: Decimal((sign, tuple(digits), exponent)),
        st.lists(st.integers(0, 9), min_size=1, max_size=70),
        st.integers(-70, 70),
        st.integers(0, 1),
    )
)
def test_exact_str_writes_the_normalised_value(amount: Decimal) -> None:
    # The short way (``str``) must give the same text as the definition for every
    # amount: trailing zeros, exponents, more digits than the context keeps, signs.
    assert exact_str(amount) == _reference_exact_str(amount)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("100", "100"),
        ("1E+2", "100"),
        ("2.50", "2.5"),
        ("-0.00", "0"),
        ("-1.5", "-1.5"),
        ("0.0000001", "0.0000001"),
        ("1" + "0" * 61, "1" + "0" * 61),
        ("0." + "1" * 61, "0." + "1" * 60),  # rounded to the context's 60 digits
    ],
)
def test_exact_str_examples(amount: str, text: str) -> None:
    assert exact_str(Decimal(amount)) == text
