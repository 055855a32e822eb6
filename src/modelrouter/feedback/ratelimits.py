"""Rate-limit headers: what a provider says is left of its windows, and when they reset.

Read from OpenAI and Azure OpenAI (``x-ratelimit-*``, ``retry-after-ms``), Anthropic
(``anthropic-ratelimit-*``) and the standard ``retry-after``. Names are matched
without regard to case. A value that cannot be read is dropped, never raised
on: at most 64 characters, counts within 0..10^12, durations within 0..31
days (a longer one is dropped rather than clipped, since a provider asking
for a month's pause is more likely garbage than advice).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime

from modelrouter.money import EXACT, exact_str, parse_decimal

__all__ = [
    "MAX_COUNT",
    "MAX_DURATION_S",
    "RateLimitHeaders",
    "parse_duration",
    "parse_rate_limit_headers",
]

MAX_VALUE_CHARS = 64
MAX_COUNT = 10**12
MAX_DURATION_S = Decimal(31 * 24 * 3600)

# Go's time.Duration text ("1h2m3.5s", "6m0s", "20ms"), which OpenAI's reset headers use;
# "ms" is tried before "m" so that "20ms" is not read as 20 minutes and a stray "s".
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(h|ms|us|µs|μs|ns|m|s)", re.ASCII)
_SECONDS = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_COUNT = re.compile(r"[0-9]{1,13}", re.ASCII)
_UNIT_EXPONENT = {"h": None, "m": None, "s": 0, "ms": -3, "us": -6, "µs": -6, "μs": -6, "ns": -9}
_UNIT_SECONDS = {"h": Decimal(3600), "m": Decimal(60)}
_NANOSECOND = Decimal("1e-9")


def parse_duration(text: str) -> Decimal | None:
    """Seconds in a Go-style duration ("1h2m3.5s", "20ms") or a bare number of
    seconds ("30", "1.5"); None for anything else or anything past 31 days."""
    text = text.strip()
    if not text or len(text) > MAX_VALUE_CHARS:
        return None
    if _SECONDS.fullmatch(text):
        return _bounded(Decimal(text))
    total = Decimal(0)
    at = 0
    for part in _PART.finditer(text):
        if part.start() != at:
            return None
        number, unit = Decimal(part.group(1)), part.group(2)
        exponent = _UNIT_EXPONENT[unit]
        if exponent is None:
            number = EXACT.multiply(number, _UNIT_SECONDS[unit])
        else:
            number = number.scaleb(exponent, EXACT)
        total = EXACT.add(total, number)
        at = part.end()
    return _bounded(total) if at == len(text) else None


def _bounded(seconds: Decimal) -> Decimal | None:
    if not seconds.is_finite() or seconds < 0 or seconds > MAX_DURATION_S:
        return None
    # Kept to the nanosecond, the finest unit a duration can name.
    return Decimal(exact_str(seconds.quantize(_NANOSECOND)))


def _count(text: str) -> int | None:
    text = text.strip()
    if not _COUNT.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_COUNT else None


def _until(text: str, now: datetime) -> Decimal | None:
    """Seconds from ``now`` to an RFC 3339 instant, never negative (a reset in
    the past has happened); a naive time is taken as UTC."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return _since(now, when)


def _since(now: datetime, when: datetime) -> Decimal | None:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - now
    seconds = Decimal(delta.days * 86_400 + delta.seconds) + Decimal(delta.microseconds).scaleb(-6)
    return _bounded(max(seconds, Decimal(0)))


def _reset(text: str, now: datetime) -> Decimal | None:
    # OpenAI writes a duration, Anthropic an instant; either is accepted from both.
    found = parse_duration(text)
    return _until(text, now) if found is None else found


def _millis(text: str) -> Decimal | None:
    text = text.strip()
    return _bounded(Decimal(text).scaleb(-3)) if _SECONDS.fullmatch(text) else None


def _retry_after(text: str, now: datetime) -> Decimal | None:
    """``retry-after``: seconds, or an HTTP-date (RFC 9110)."""
    text = text.strip()
    if _SECONDS.fullmatch(text):
        return _bounded(Decimal(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return _since(now, when)


@dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    """What the headers of one answer said; None where they said nothing."""

    retry_after_s: Decimal | None = None
    limit_requests: int | None = None
    limit_tokens: int | None = None
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    requests_reset_s: Decimal | None = None
    tokens_reset_s: Decimal | None = None

    @property
    def reset_after_s(self) -> Decimal | None:
        """When to come back: the latest of ``retry-after`` and the reset of each
        window with nothing left. None when nothing says."""
        waits = [self.retry_after_s]
        if self.remaining_requests == 0:
            waits.append(self.requests_reset_s)
        if self.remaining_tokens == 0:
            waits.append(self.tokens_reset_s)
        known = [wait for wait in waits if wait is not None]
        return max(known) if known else None

    def to_dict(self) -> dict[str, str | int]:
        """The fields that are set; seconds as exact decimal text."""
        out: dict[str, str | int] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Decimal):
                out[field.name] = exact_str(value)
            elif value is not None:
                out[field.name] = value
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> RateLimitHeaders:
        """The inverse of ``to_dict``. Unlike the header parser it is strict: what
        it reads was written by us, so a bad value is corruption (ValueError)."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(str(key) for key in raw if key not in known)
        if unknown:
            raise ValueError(f"unknown rate-limit fields: {', '.join(unknown)}")
        counts: dict[str, int | None] = {}
        seconds: dict[str, Decimal | None] = {}
        for name in known:
            value = raw.get(name)
            if name.endswith("_s"):
                seconds[name] = None if value is None else _stored_seconds(name, value)
            else:
                counts[name] = None if value is None else _stored_count(name, value)
        return cls(
            retry_after_s=seconds["retry_after_s"],
            limit_requests=counts["limit_requests"],
            limit_tokens=counts["limit_tokens"],
            remaining_requests=counts["remaining_requests"],
            remaining_tokens=counts["remaining_tokens"],
            requests_reset_s=seconds["requests_reset_s"],
            tokens_reset_s=seconds["tokens_reset_s"],
        )


def _stored_seconds(name: str, value: object) -> Decimal:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be decimal text, got {type(value).__name__}")
    seconds = parse_decimal(value, what=name)
    if seconds > MAX_DURATION_S:
        raise ValueError(f"{name} {value} is longer than 31 days")
    return seconds


def _stored_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ValueError(f"{name} must be a whole number within 0..10^12")
    return value


@dataclass(frozen=True, slots=True)
class _Window:
    limit: int | None = None
    remaining: int | None = None
    reset_s: Decimal | None = None


def _window(
    values: Mapping[str, str], limit: str, remaining: str, reset: str, now: datetime
) -> _Window:
    return _Window(
        limit=_count(values[limit]) if limit in values else None,
        remaining=_count(values[remaining]) if remaining in values else None,
        reset_s=_reset(values[reset], now) if reset in values else None,
    )


def _anthropic(values: Mapping[str, str], family: str, now: datetime) -> _Window:
    prefix = f"anthropic-ratelimit-{family}-"
    return _window(values, prefix + "limit", prefix + "remaining", prefix + "reset", now)


def _tightest(windows: list[_Window]) -> _Window:
    """Anthropic limits input and output tokens apart as well as together: the
    window with the least left is the one that binds."""
    counted = [window for window in windows if window.remaining is not None]
    if counted:
        return min(counted, key=lambda window: window.remaining or 0)
    return next((window for window in windows if window != _Window()), _Window())


def parse_rate_limit_headers(headers: Mapping[str, str], now: datetime) -> RateLimitHeaders:
    """The rate-limit headers of one answer, with resets as seconds from ``now``
    (a naive ``now`` is taken as UTC). Never raises; unreadable values are dropped."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    values: dict[str, str] = {}
    for name, value in headers.items():
        if isinstance(name, str) and isinstance(value, str) and len(value) <= MAX_VALUE_CHARS:
            values.setdefault(name.strip().lower(), value)

    requests = _window(
        values,
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
        now,
    )
    tokens = _window(
        values,
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
        now,
    )
    if requests == _Window():
        requests = _anthropic(values, "requests", now)
    if tokens == _Window():
        tokens = _tightest(
            [
                _anthropic(values, family, now)
                for family in ("tokens", "input-tokens", "output-tokens")
            ]
        )

    # The milliseconds are the more precise of the two when both are sent.
    retry_after = _millis(values["retry-after-ms"]) if "retry-after-ms" in values else None
    if retry_after is None and "retry-after" in values:
        retry_after = _retry_after(values["retry-after"], now)

    return RateLimitHeaders(
        retry_after_s=retry_after,
        limit_requests=requests.limit,
        limit_tokens=tokens.limit,
        remaining_requests=requests.remaining,
        remaining_tokens=tokens.remaining,
        requests_reset_s=requests.reset_s,
        tokens_reset_s=tokens.reset_s,
    )
