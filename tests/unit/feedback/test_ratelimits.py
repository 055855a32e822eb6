"""Rate-limit headers as OpenAI, Azure OpenAI and Anthropic send them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrouter.feedback.ratelimits import (
    MAX_DURATION_S,
    RateLimitHeaders,
    parse_duration,
    parse_rate_limit_headers,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    """An RFC 3339 instant ``seconds`` after NOW, as Anthropic writes it."""
    return (NOW + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def test_openai_success() -> None:
    headers = {
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-limit-tokens": "30000000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-remaining-tokens": "29998500",
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-reset-tokens": "2ms",
        "openai-processing-ms": "412",
    }
    got = parse_rate_limit_headers(headers, NOW)
    assert got == RateLimitHeaders(
        limit_requests=10_000,
        limit_tokens=30_000_000,
        remaining_requests=9_999,
        remaining_tokens=29_998_500,
        requests_reset_s=Decimal("0.006"),
        tokens_reset_s=Decimal("0.002"),
    )
    assert got.reset_after_s is None  # nothing is used up, nothing says to wait


def test_openai_tokens_used_up() -> None:
    headers = {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    got = parse_rate_limit_headers(headers, NOW)
    assert got.tokens_reset_s == Decimal(360)
    assert got.reset_after_s == Decimal(360)  # the request window's reset does not count


def test_azure_429_prefers_milliseconds() -> None:
    headers = {
        "Retry-After": "6",
        "retry-after-ms": "5800",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-remaining-tokens": "12000",
        "apim-request-id": "0d2e1a6b-0000-4000-8000-000000000000",
    }
    got = parse_rate_limit_headers(headers, NOW)
    assert got.retry_after_s == Decimal("5.8")
    assert got.remaining_requests == 0
    assert got.requests_reset_s is None
    assert got.reset_after_s == Decimal("5.8")


def test_anthropic_takes_the_tightest_token_window() -> None:
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": at(30),
        "anthropic-ratelimit-tokens-limit": "120000",
        "anthropic-ratelimit-tokens-remaining": "8000",
        "anthropic-ratelimit-tokens-reset": at(10),
        "anthropic-ratelimit-input-tokens-limit": "100000",
        "anthropic-ratelimit-input-tokens-remaining": "0",
        "anthropic-ratelimit-input-tokens-reset": at(45.5),
        "anthropic-ratelimit-output-tokens-limit": "20000",
        "anthropic-ratelimit-output-tokens-remaining": "8000",
        "anthropic-ratelimit-output-tokens-reset": at(10),
        "retry-after": "20",
    }
    got = parse_rate_limit_headers(headers, NOW)
    assert got == RateLimitHeaders(
        retry_after_s=Decimal(20),
        limit_requests=50,
        limit_tokens=100_000,
        remaining_requests=0,
        remaining_tokens=0,
        requests_reset_s=Decimal(30),
        tokens_reset_s=Decimal("45.5"),
    )
    assert got.reset_after_s == Decimal("45.5")  # the latest of 20, 30 and 45.5


def test_anthropic_resets_in_the_past_are_now() -> None:
    headers = {
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": at(-90),
    }
    assert parse_rate_limit_headers(headers, NOW).reset_after_s == Decimal(0)


def test_names_are_case_insensitive() -> None:
    got = parse_rate_limit_headers(
        {"X-RateLimit-Remaining-Requests": "7", "ANTHROPIC-RATELIMIT-TOKENS-LIMIT": "9"}, NOW
    )
    assert (got.remaining_requests, got.limit_tokens) == (7, 9)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", Decimal(120)),
        ("1.5", Decimal("1.5")),
        ("Mon, 01 Jun 2026 12:01:30 GMT", Decimal(90)),
        ("Mon, 01 Jun 2026 11:00:00 GMT", Decimal(0)),  # already past
        ("Mon, 01 Jun 2026 14:00:00 +0200", Decimal(0)),  # the same instant as NOW
        ("Sun, 01 Jun 2036 12:00:00 GMT", None),  # ten years: garbage, dropped
        ("soon", None),
        ("-5", None),
        ("", None),
    ],
)
def test_retry_after(value: str, seconds: Decimal | None) -> None:
    assert parse_rate_limit_headers({"retry-after": value}, NOW).retry_after_s == seconds


def test_a_naive_now_is_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    got = parse_rate_limit_headers({"retry-after": "Mon, 01 Jun 2026 12:00:10 GMT"}, naive)
    assert got.retry_after_s == Decimal(10)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", "1"),
        ("6m0s", "360"),
        ("20ms", "0.02"),
        ("1h2m3.5s", "3723.5"),
        ("0.5s", "0.5"),
        (".5s", "0.5"),
        ("250us", "0.00025"),
        ("7ns", "0.000000007"),
        ("30", "30"),
        ("0", "0"),
        (" 2s ", "2"),
        ("744h", "2678400"),  # 31 days, the longest kept
    ],
)
def test_durations(text: str, seconds: str) -> None:
    assert parse_duration(text) == Decimal(seconds)


@pytest.mark.parametrize(
    "text",
    ["", "s", "-1s", "1x", "1s2", "2s1", "1 s", "NaN", "inf", "1e3", "745h", "٣s", "1" * 65],
)
def test_bad_durations_are_dropped(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    "value", ["-1", "1e3", "NaN", "1.5", "10000000000001", "seven", "", "9" * 65]
)
def test_bad_counts_are_dropped(value: str) -> None:
    headers = {"x-ratelimit-remaining-tokens": value, "x-ratelimit-limit-tokens": "100"}
    got = parse_rate_limit_headers(headers, NOW)
    assert got == RateLimitHeaders(limit_tokens=100)


def test_counts_up_to_a_trillion() -> None:
    got = parse_rate_limit_headers({"x-ratelimit-limit-tokens": "1000000000000"}, NOW)
    assert got.limit_tokens == 10**12


def test_to_dict_writes_only_what_is_set_and_reads_back() -> None:
    headers = RateLimitHeaders(retry_after_s=Decimal("5.80"), remaining_tokens=0)
    assert headers.to_dict() == {"retry_after_s": "5.8", "remaining_tokens": 0}
    assert RateLimitHeaders.from_dict(headers.to_dict()) == headers
    assert RateLimitHeaders().to_dict() == {}


@pytest.mark.parametrize(
    "raw",
    [
        {"retry_after": "5"},
        {"retry_after_s": 5},
        {"retry_after_s": "-1"},
        {"retry_after_s": "2678401"},
        {"limit_tokens": "5"},
        {"limit_tokens": True},
        {"limit_tokens": -1},
    ],
)
def test_from_dict_refuses_what_to_dict_never_writes(raw: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"retry_after|limit_tokens"):
        RateLimitHeaders.from_dict(raw)


NAMES = st.sampled_from(
    [
        "retry-after",
        "Retry-After-Ms",
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
        "X-RateLimit-Reset-Requests",
        "anthropic-ratelimit-requests-reset",
        "anthropic-ratelimit-tokens-remaining",
        "anthropic-ratelimit-input-tokens-reset",
        "anthropic-ratelimit-output-tokens-remaining",
    ]
)
VALUES = (
    st.text(max_size=70)
    | st.integers(min_value=-(10**14), max_value=10**14).map(str)
    | st.decimals(allow_nan=True, allow_infinity=True).map(str)
    | st.datetimes(timezones=st.just(UTC)).map(lambda when: when.isoformat())
    | st.datetimes().map(lambda when: when.strftime("%a, %d %b %Y %H:%M:%S GMT"))
    | st.from_regex(r"\A(?:[0-9]{1,4}(?:\.[0-9]{1,3})?(?:h|m|s|ms|us|ns)){1,3}\Z")
)


@settings(max_examples=300, deadline=None)
@given(
    headers=st.dictionaries(NAMES | st.text(max_size=30), VALUES, max_size=8),
    now=st.datetimes() | st.datetimes(timezones=st.just(UTC)),
)
def test_never_raises_and_round_trips(headers: dict[str, str], now: datetime) -> None:
    got = parse_rate_limit_headers(headers, now)
    for seconds in (got.retry_after_s, got.requests_reset_s, got.tokens_reset_s):
        assert seconds is None or 0 <= seconds <= MAX_DURATION_S
    assert RateLimitHeaders.from_dict(got.to_dict()) == got
