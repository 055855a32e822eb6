"""Budget windows: calendar periods in a zone, and durations aligned to the epoch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrouter.errors import PolicyError
from modelrouter.policy.budgets import budget_name, covers, window_end, window_for
from modelrouter.policy.document import Budget, parse_duration, parse_policy

ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
DURATIONS = ["30s", "30m", "1h", "7h", "1d", "30d", "2w", "1mo", "3mo", "12mo", "366d"]


def budgets() -> st.SearchStrategy[Budget]:
    period = st.builds(
        lambda p, z: Budget(period=p, timezone=z, limit_usd=Decimal(1)),
        st.sampled_from(["day", "week", "month"]),
        st.sampled_from(ZONES),
    )
    fixed = st.builds(
        lambda d: Budget(duration=d, limit_usd=Decimal(1)),
        st.sampled_from([d for d in DURATIONS if not d.endswith("mo")]),
    )
    months = st.builds(
        lambda d, z: Budget(duration=d, timezone=z, limit_usd=Decimal(1)),
        st.sampled_from([d for d in DURATIONS if d.endswith("mo")]),
        st.sampled_from(ZONES),
    )
    return st.one_of(period, fixed, months)


instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@given(budgets(), instants)
def test_an_instant_is_inside_its_window_and_the_reset_is_after_it(
    budget: Budget, at: datetime
) -> None:
    window = window_for(budget, at)
    assert window.starts_at is not None
    assert window.starts_at <= at < window.resets_at
    assert window_end(window.key) == window.resets_at


@given(budgets(), instants)
def test_windows_of_one_budget_never_overlap(budget: Budget, at: datetime) -> None:
    window = window_for(budget, at)
    assert window.starts_at is not None
    following = window_for(budget, window.resets_at)
    before = window_for(budget, window.starts_at - timedelta(microseconds=1))
    assert following.starts_at == window.resets_at and following.key != window.key
    assert before.resets_at == window.starts_at and before.key != window.key
    # Any instant of the window names the same window.
    assert window_for(budget, window.resets_at - timedelta(microseconds=1)).key == window.key


@given(budgets(), instants, st.sampled_from(["openai", "a/b:c|d", "x" * 200]))
def test_every_scoped_value_has_a_window_of_its_own(
    budget: Budget, at: datetime, value: str
) -> None:
    scoped = budget.model_copy(update={"scope": "provider"})
    window = window_for(scoped, at, value)
    assert window.key.startswith("provider=") and window.key.endswith(window_for(budget, at).key)
    assert len(window.key) <= 120  # the SQL column
    assert window_for(scoped, at, value + "!").key != window.key
    assert covers(window.key, deployment="d", provider=value, model="m")
    assert not covers(window.key, deployment="d", provider=value + "!", model="m")


def test_durations_are_aligned_to_the_unix_epoch() -> None:
    at = datetime(2026, 6, 1, 12, 34, 56, tzinfo=UTC)
    hour = window_for(Budget(duration="1h", limit_usd=Decimal(1)), at)
    assert hour.key == "3600s:2026-06-01T12:00:00+00:00"
    assert hour.resets_at == datetime(2026, 6, 1, 13, tzinfo=UTC)
    thirty = window_for(Budget(duration="30d", limit_usd=Decimal(1)), at)
    # 20605 days after 1970-01-01 = 686 x 30 + 25: this window began 25 days ago.
    assert thirty.starts_at == datetime(2026, 5, 7, tzinfo=UTC)
    week = window_for(Budget(duration="1w", limit_usd=Decimal(1)), at)
    assert week.starts_at is not None and week.starts_at.weekday() == 3  # the epoch's Thursday


def test_a_month_of_duration_is_the_calendar_month() -> None:
    at = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)  # April in Paris
    month = Budget(duration="1mo", timezone="Europe/Paris", limit_usd=Decimal(1))
    period = Budget(period="month", timezone="Europe/Paris", limit_usd=Decimal(1))
    assert window_for(month, at).key == window_for(period, at).key
    assert window_for(month, at).resets_at.isoformat() == "2026-05-01T00:00:00+02:00"
    quarter = window_for(Budget(duration="3mo", limit_usd=Decimal(1)), at)
    assert quarter.starts_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert quarter.resets_at == datetime(2026, 4, 1, tzinfo=UTC)


def test_litellm_durations_parse() -> None:
    assert [parse_duration(d) for d in ("30s", "30m", "30h", "30d", "1mo")] == [
        (30, "s"),
        (30, "m"),
        (30, "h"),
        (30, "d"),
        (1, "mo"),
    ]


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ({"duration": "1 hour"}, "is not a count and a unit"),
        ({"duration": "0h"}, "is not a count and a unit"),
        ({"duration": "400d"}, "longer than 366 days"),
        ({"duration": "13mo"}, "longer than 12 months"),
        ({"duration": "1d", "timezone": "Europe/Paris"}, "period: day or week"),
        ({"duration": "1h", "period": "day"}, "exactly one of period"),
    ],
)
def test_a_bad_duration_names_its_field(budget: dict[str, str], message: str) -> None:
    with pytest.raises(PolicyError, match=message) as caught:
        parse_policy({"budgets": [{"limit_usd": "1", **budget}]})
    assert "budgets" in str(caught.value.to_dict())


def test_derived_names() -> None:
    def name(**fields: str) -> str:
        return budget_name(Budget.model_validate({"limit_usd": "1", **fields}))

    assert name(period="day") == "tenant daily"
    assert name(scope="provider", match="openai", period="day") == "provider openai daily"
    assert name(scope="key", duration="1h") == "per-key 1h"
    assert name(name="ops", scope="tag", period="month") == "ops"


def test_tenant_keys_are_as_they_were() -> None:
    at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    day = window_for(Budget(period="day", limit_usd=Decimal(1)), at)
    assert day.key == "day@UTC:2026-06-01T00:00:00+00:00"
