"""Policy documents: one schema for the platform policy and tenant overlays.

A document is data: lists of allowed and denied providers, vendors, models
and regions (globs), data-handling requirements, cost caps, routing choices,
aliases and budgets. ``parse_policy`` validates one from outside; its errors
name the field. How documents combine is ``policy.effective``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from modelrouter.bounds import Count, Name
from modelrouter.encoding import canonical_hash
from modelrouter.errors import PolicyError, invalid_input_from
from modelrouter.money import parse_decimal
from modelrouter.types import Percentile, Strategy, Weights

__all__ = [
    "DEFAULT_MAX_FALLBACKS",
    "DEFAULT_PRIOR_SAMPLES",
    "Budget",
    "BudgetScope",
    "HealthPolicy",
    "ListRule",
    "PolicyDocument",
    "TagPolicy",
    "duration_seconds",
    "matches_any",
    "parse_duration",
    "parse_policy",
]

DEFAULT_MAX_FALLBACKS = 3
DEFAULT_PRIOR_SAMPLES = 10

Pattern = Name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def matches_any(value: str, patterns: Iterable[str]) -> bool:
    """Glob match (``openai/*``, ``*-mini``), case-insensitive."""
    lowered = value.lower()
    return any(fnmatchcase(lowered, pattern.lower()) for pattern in patterns)


class ListRule(_Strict):
    """``allow``: only what matches (absent = anything); ``deny``: never what matches."""

    allow: list[Pattern] | None = Field(default=None, max_length=1000)
    deny: list[Pattern] = Field(default_factory=list, max_length=1000)


class DataPolicy(_Strict):
    zero_data_retention: bool = False
    no_training: bool = False


class CapabilityPolicy(_Strict):
    # None: this document says nothing. A platform that says nothing does not
    # allow unknown capabilities; a tenant that says nothing inherits.
    allow_unknown: bool | None = None


def _optional_money(value: Any) -> Decimal | None:
    return None if value is None else parse_decimal(value, what="limit")


class Limits(_Strict):
    max_cost_per_request_usd: Decimal | None = None
    max_input_price_per_mtok: Decimal | None = None
    max_output_price_per_mtok: Decimal | None = None
    max_fallbacks: Count | None = Field(default=None, ge=0, le=20)

    _money = field_validator(
        "max_cost_per_request_usd",
        "max_input_price_per_mtok",
        "max_output_price_per_mtok",
        mode="before",
    )(_optional_money)


class RoutingPolicy(_Strict):
    strategy: Strategy | None = None
    strategies_by_alias: dict[Pattern, Strategy] = Field(default_factory=dict)
    weights: Weights | None = None
    diversify_providers: bool | None = None
    # Which latency percentile ``fastest`` and ``balanced`` rank by (default p50).
    latency_percentile: Percentile | None = None


class HealthPolicy(_Strict):
    """When a deployment's circuit opens and for how long (platform policy only:
    the circuits are shared by every tenant)."""

    consecutive_failures: Count = Field(default=3, ge=1, le=1000)
    # Or: this share of the attempts in the window failed (with at least min_attempts).
    error_rate: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)
    min_attempts: Count = Field(default=10, ge=1, le=100_000)
    window_seconds: Count = Field(default=60, ge=1, le=3600)
    # Open for base * 2^(trips - 1), at most max; never less than the provider's reset.
    base_cooldown_seconds: Decimal = Field(default=Decimal(5), gt=0, le=86_400)
    max_cooldown_seconds: Decimal = Field(default=Decimal(300), gt=0, le=604_800)
    # A quota or a credential is not fixed in seconds: out this long unless a reset says.
    quota_cooldown_seconds: Decimal = Field(default=Decimal(3600), gt=0, le=604_800)
    auth_cooldown_seconds: Decimal = Field(default=Decimal(3600), gt=0, le=604_800)
    # Half-open: the share of requests sent as probes (by request-id hash).
    half_open_share: Decimal = Field(default=Decimal("0.25"), gt=0, le=1)
    # Latency estimates forget with this half-life, and lean on the catalog's
    # priors until this many (decayed) samples exist.
    latency_half_life_seconds: Decimal = Field(default=Decimal(300), gt=0, le=604_800)
    latency_prior_samples: Count = Field(default=DEFAULT_PRIOR_SAMPLES, ge=0, le=100_000)

    _decimals = field_validator(
        "error_rate",
        "base_cooldown_seconds",
        "max_cooldown_seconds",
        "quota_cooldown_seconds",
        "auth_cooldown_seconds",
        "half_open_share",
        "latency_half_life_seconds",
        mode="before",
    )(lambda value: parse_decimal(value, what="health setting"))


class TagPolicy(_Strict):
    """``require``: every hop carries all of these tags; ``deny``: no hop carries any."""

    require: list[Name] = Field(default_factory=list, max_length=50)
    deny: list[Name] = Field(default_factory=list, max_length=50)


BudgetScope = Literal["tenant", "key", "provider", "model", "deployment", "tag"]

# LiteLLM's ``budget_duration`` forms: a count and a unit (seconds, minutes,
# hours, days, weeks, calendar months).
_DURATION = re.compile(r"([1-9][0-9]{0,5})(s|m|h|d|w|mo)")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
# The longest window: a year (a Redis ledger keeps a window's spend a little
# longer than the window).
MAX_DURATION_SECONDS = 366 * 86_400
MAX_DURATION_MONTHS = 12


def parse_duration(text: str) -> tuple[int, str]:
    """``"30d"`` -> ``(30, "d")``: a budget window's length, as LiteLLM's
    ``budget_duration`` writes it (``30s``, ``30m``, ``1h``, ``7d``, ``2w``,
    ``1mo``). ``ValueError`` says what is accepted."""
    found = _DURATION.fullmatch(text)
    if found is None:
        raise ValueError(
            f"duration {text!r} is not a count and a unit: s, m, h, d, w or mo "
            "(e.g. 30s, 30m, 1h, 30d, 2w, 1mo)"
        )
    count, unit = int(found.group(1)), found.group(2)
    if unit == "mo":
        if count > MAX_DURATION_MONTHS:
            raise ValueError(f"duration {text!r} is longer than {MAX_DURATION_MONTHS} months")
    elif count * _UNIT_SECONDS[unit] > MAX_DURATION_SECONDS:
        raise ValueError(f"duration {text!r} is longer than 366 days")
    return count, unit


def duration_seconds(count: int, unit: str) -> int:
    """A fixed duration's length in seconds (not for ``mo``: months vary)."""
    return count * _UNIT_SECONDS[unit]


class Budget(_Strict):
    """A spend limit over a window. ``scope`` says what spend counts: the
    tenant's (the default), or that of each API key, provider, model or alias,
    deployment or tag matching ``match`` (a glob; absent: every one, each with
    its own window). Every budget counts one tenant's spend (a platform budget
    gives each tenant a window of its own); a tenant budget with ``match``
    applies to the tenants it matches. The window is a calendar ``period`` in
    ``timezone`` or a ``duration`` (LiteLLM's ``budget_duration``: ``30s``,
    ``30m``, ``1h``, ``1d``, ``2w``, ``1mo``). Fixed durations are aligned to the
    Unix epoch, so every replica and every replay sees the same windows; ``Nmo``
    is N calendar months in ``timezone``, counted from January 1970."""

    name: Name | None = None
    scope: BudgetScope = "tenant"
    match: Pattern | None = None
    period: Literal["day", "week", "month"] | None = None
    duration: Annotated[str, Field(max_length=20)] | None = None
    limit_usd: Decimal
    soft_limit_pct: Decimal | None = Field(default=None, gt=0, le=100)
    soft_action: Literal["cheapest"] | dict[Literal["deny_models"], list[Pattern]] | None = None
    timezone: str = "UTC"

    _limit = field_validator("limit_usd", mode="before")(
        lambda value: parse_decimal(value, what="limit_usd")
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _one_window(self) -> Budget:
        if (self.period is None) == (self.duration is None):
            raise ValueError("give exactly one of period (day, week, month) or duration (1h, 30d)")
        if self.duration is not None and self.timezone != "UTC":
            _, unit = parse_duration(self.duration)
            if unit != "mo":
                raise ValueError(
                    f"timezone {self.timezone!r} with duration {self.duration!r}: fixed "
                    "durations are aligned to the Unix epoch (UTC); for calendar days or "
                    "weeks in a time zone use period: day or week"
                )
        return self


class PolicyDocument(_Strict):
    providers: ListRule = Field(default_factory=ListRule)
    vendors: ListRule = Field(default_factory=ListRule)
    models: ListRule = Field(default_factory=ListRule)
    regions: ListRule = Field(default_factory=ListRule)
    tags: TagPolicy = Field(default_factory=TagPolicy)
    data: DataPolicy = Field(default_factory=DataPolicy)
    capabilities: CapabilityPolicy = Field(default_factory=CapabilityPolicy)
    limits: Limits = Field(default_factory=Limits)
    routing: RoutingPolicy = Field(default_factory=RoutingPolicy)
    aliases: dict[Pattern, list[Pattern]] = Field(default_factory=dict)
    budgets: list[Budget] = Field(default_factory=list, max_length=50)
    # While the budget ledger cannot be reached: refuse budgeted requests (503,
    # the default) or admit them unchecked. Only the platform may admit; a
    # tenant overlay can only insist on refusing.
    budget_outage: Literal["refuse", "admit"] | None = None
    health: HealthPolicy = Field(default_factory=HealthPolicy)

    def content(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True)

    @property
    def version(self) -> str:
        return "pol_" + canonical_hash(self.content())[:32]


def parse_policy(raw: Any, *, source: str = "policy") -> PolicyDocument:
    if raw is None:
        return PolicyDocument()
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{source}: a policy must be a mapping, not {type(raw).__name__}")
    try:
        return PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        raise invalid_input_from(exc, error=PolicyError, source=source) from None
