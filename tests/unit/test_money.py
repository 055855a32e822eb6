from __future__ import annotations

from decimal import Decimal

import pytest

from modelrouter.money import display, exact_str, parse_decimal, per_million


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
