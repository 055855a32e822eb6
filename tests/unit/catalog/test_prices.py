from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from modelrouter.catalog.prices import PriceRule, PriceSchedule, PriceSheet, Rate


def sheet(input_: str, output: str) -> PriceSheet:
    return PriceSheet(input=Rate(Decimal(input_)), output=Rate(Decimal(output)))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_cliff_tier_reprices_everything() -> None:
    rate = Rate(Decimal("1.25"), ((200_000, Decimal("2.5")),))
    assert rate.at(200_000) == Decimal("1.25")
    assert rate.at(200_001) == Decimal("2.5")


def test_last_rule_in_force_wins() -> None:
    schedule = PriceSchedule(
        (
            PriceRule(sheet("5", "15")),
            PriceRule(sheet("2.5", "10"), effective_from=date(2024, 10, 1)),
        )
    )
    assert schedule.resolve(at("2024-09-30T23:59")).sheet.input == Rate(Decimal("5"))
    assert schedule.resolve(at("2024-10-01T00:00")).sheet.input == Rate(Decimal("2.5"))
    assert "from 2024-10-01" in schedule.resolve(at("2025-01-01T00:00")).rule


def test_first_rule_applies_when_none_is_in_force() -> None:
    schedule = PriceSchedule(
        (
            PriceRule(sheet("4", "4"), effective_from=date(2030, 1, 1)),
            PriceRule(sheet("9", "9"), effective_from=date(2031, 1, 1)),
        )
    )
    assert schedule.resolve(at("2025-01-01T00:00")).sheet.input == Rate(Decimal("4"))


def test_daily_window_wraps_midnight() -> None:
    offpeak = PriceRule(sheet("1", "1"), daily_utc=(time(16, 30), time(0, 30)))
    schedule = PriceSchedule((PriceRule(sheet("2", "2")), offpeak))
    assert schedule.resolve(at("2025-01-01T17:00")).sheet.input == Rate(Decimal("1"))
    assert schedule.resolve(at("2025-01-02T00:15")).sheet.input == Rate(Decimal("1"))
    assert schedule.resolve(at("2025-01-02T12:00")).sheet.input == Rate(Decimal("2"))


def test_variant_overrides_only_the_units_it_names() -> None:
    schedule = PriceSchedule(
        (
            PriceRule(sheet("2", "8")),
            PriceRule(PriceSheet(input=Rate(Decimal("1"))), when=(("processing", "batch"),)),
            PriceRule(PriceSheet(input=Rate(Decimal("7"))), when=(("processing", "batch"),)),
        )
    )
    batch = schedule.resolve(at("2025-01-01T00:00"), {"processing": "batch"})
    assert batch.sheet.input == Rate(Decimal("1"))  # the first matching variant wins
    assert batch.sheet.output == Rate(Decimal("8"))
    assert "processing=batch" in batch.rule
    assert schedule.resolve(at("2025-01-01T00:00")).sheet.input == Rate(Decimal("2"))


def test_schedule_needs_a_standard_price() -> None:
    with pytest.raises(ValueError, match="standard"):
        PriceSchedule((PriceRule(sheet("1", "1"), when=(("processing", "batch"),)),))
