"""Policy documents, and the merge by which a tenant can only narrow the platform.

One schema serves the platform policy and tenant overlays. The effective
policy is their meet: allow-lists intersect, deny-lists unite, caps take the
minimum, required flags stay required; a tenant's routing choices and aliases
apply only inside what remains (the planner checks every candidate, primary
and fallback alike, against every layer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fnmatch import fnmatchcase
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from modelrouter.canonical import canonical_hash, to_jsonable
from modelrouter.errors import PolicyError
from modelrouter.money import parse_decimal
from modelrouter.request import Strategy, Weights
from modelrouter.validation import first_problem

__all__ = [
    "DEFAULT_MAX_FALLBACKS",
    "Budget",
    "EffectiveList",
    "EffectivePolicy",
    "ListRule",
    "Override",
    "PolicyDocument",
    "PolicyStack",
    "explain_overrides",
    "matches_any",
    "parse_policy",
]

DEFAULT_MAX_FALLBACKS = 3

Pattern = Annotated[str, Field(min_length=1, max_length=200)]


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
    max_fallbacks: int | None = Field(default=None, ge=0, le=20)

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


class Budget(_Strict):
    period: Literal["day", "week", "month"]
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


class PolicyDocument(_Strict):
    providers: ListRule = Field(default_factory=ListRule)
    vendors: ListRule = Field(default_factory=ListRule)
    models: ListRule = Field(default_factory=ListRule)
    regions: ListRule = Field(default_factory=ListRule)
    data: DataPolicy = Field(default_factory=DataPolicy)
    capabilities: CapabilityPolicy = Field(default_factory=CapabilityPolicy)
    limits: Limits = Field(default_factory=Limits)
    routing: RoutingPolicy = Field(default_factory=RoutingPolicy)
    aliases: dict[Pattern, list[Pattern]] = Field(default_factory=dict)
    budgets: list[Budget] = Field(default_factory=list, max_length=10)

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
        path, message = first_problem(exc)
        raise PolicyError(f"{source}: {path}: {message}", field=path) from None


# -- the meet -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EffectiveList:
    """A candidate passes when it matches a pattern of *each* allow set (glob
    lists cannot be intersected symbolically, so the sets are kept) and no
    pattern of ``deny``. No allow set: anything is allowed."""

    allow: tuple[tuple[str, ...], ...] = ()
    deny: tuple[str, ...] = ()

    @classmethod
    def of(cls, rule: ListRule) -> EffectiveList:
        allow = () if rule.allow is None else (tuple(sorted(set(rule.allow))),)
        return cls(allow, tuple(sorted(set(rule.deny))))

    def meet(self, other: EffectiveList) -> EffectiveList:
        return EffectiveList(
            tuple(sorted(set(self.allow) | set(other.allow))),
            tuple(sorted(set(self.deny) | set(other.deny))),
        )

    def verdict(self, *names: str) -> tuple[bool, bool]:
        """(passes every allow set, hits the deny list) for a candidate known by ``names``."""
        allowed = all(any(matches_any(name, patterns) for name in names) for patterns in self.allow)
        denied = bool(self.deny) and any(matches_any(name, self.deny) for name in names)
        return allowed, denied

    def to_dict(self) -> dict[str, Any]:
        return {"allow": [list(patterns) for patterns in self.allow], "deny": list(self.deny)}


def _min(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _allow_unknown(platform: bool | None, tenant: bool | None) -> bool | None:
    """Only a platform that allows unknown capabilities lets a tenant keep them."""
    if platform is None and tenant is None:
        return None
    return platform is True and tenant is not False


@dataclass(frozen=True, slots=True)
class EffectivePolicy:
    """The meet of policy documents: what every one of them allows, nothing more."""

    providers: EffectiveList = EffectiveList()
    vendors: EffectiveList = EffectiveList()
    models: EffectiveList = EffectiveList()
    regions: EffectiveList = EffectiveList()
    zero_data_retention: bool = False
    no_training: bool = False
    allow_unknown: bool | None = None
    max_cost_per_request_usd: Decimal | None = None
    max_input_price_per_mtok: Decimal | None = None
    max_output_price_per_mtok: Decimal | None = None
    max_fallbacks: int | None = None
    strategy: Strategy | None = None
    strategies_by_alias: tuple[tuple[str, Strategy], ...] = ()
    weights: Weights | None = None
    diversify_providers: bool | None = None
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    budgets: tuple[Budget, ...] = ()

    @classmethod
    def of(cls, doc: PolicyDocument) -> EffectivePolicy:
        return cls(
            providers=EffectiveList.of(doc.providers),
            vendors=EffectiveList.of(doc.vendors),
            models=EffectiveList.of(doc.models),
            regions=EffectiveList.of(doc.regions),
            zero_data_retention=doc.data.zero_data_retention,
            no_training=doc.data.no_training,
            allow_unknown=doc.capabilities.allow_unknown,
            max_cost_per_request_usd=doc.limits.max_cost_per_request_usd,
            max_input_price_per_mtok=doc.limits.max_input_price_per_mtok,
            max_output_price_per_mtok=doc.limits.max_output_price_per_mtok,
            max_fallbacks=doc.limits.max_fallbacks,
            strategy=doc.routing.strategy,
            strategies_by_alias=tuple(sorted(doc.routing.strategies_by_alias.items())),
            weights=doc.routing.weights,
            diversify_providers=doc.routing.diversify_providers,
            aliases=tuple(sorted((k, tuple(v)) for k, v in doc.aliases.items())),
            budgets=tuple(doc.budgets),
        )

    def meet(self, tenant: EffectivePolicy) -> EffectivePolicy:
        """Restrictions combine so that only what both allow remains; the
        tenant's routing preferences and aliases apply inside that."""
        return EffectivePolicy(
            providers=self.providers.meet(tenant.providers),
            vendors=self.vendors.meet(tenant.vendors),
            models=self.models.meet(tenant.models),
            regions=self.regions.meet(tenant.regions),
            zero_data_retention=self.zero_data_retention or tenant.zero_data_retention,
            no_training=self.no_training or tenant.no_training,
            allow_unknown=_allow_unknown(self.allow_unknown, tenant.allow_unknown),
            max_cost_per_request_usd=_min(
                self.max_cost_per_request_usd, tenant.max_cost_per_request_usd
            ),
            max_input_price_per_mtok=_min(
                self.max_input_price_per_mtok, tenant.max_input_price_per_mtok
            ),
            max_output_price_per_mtok=_min(
                self.max_output_price_per_mtok, tenant.max_output_price_per_mtok
            ),
            max_fallbacks=_min(self.max_fallbacks, tenant.max_fallbacks),
            strategy=tenant.strategy or self.strategy,
            strategies_by_alias=tuple(
                sorted(
                    {**dict(self.strategies_by_alias), **dict(tenant.strategies_by_alias)}.items()
                )
            ),
            weights=tenant.weights or self.weights,
            diversify_providers=tenant.diversify_providers
            if tenant.diversify_providers is not None
            else self.diversify_providers,
            aliases=tuple(sorted({**dict(self.aliases), **dict(tenant.aliases)}.items())),
            budgets=tuple(dict.fromkeys((*self.budgets, *tenant.budgets))),
        )

    def strategy_for(self, alias: str) -> Strategy | None:
        for pattern, strategy in reversed(self.strategies_by_alias):
            if matches_any(alias, (pattern,)):
                return strategy
        return self.strategy

    def alias(self, name: str) -> tuple[str, ...] | None:
        return dict(self.aliases).get(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "providers": self.providers.to_dict(),
            "vendors": self.vendors.to_dict(),
            "models": self.models.to_dict(),
            "regions": self.regions.to_dict(),
            "data": {
                "zero_data_retention": self.zero_data_retention,
                "no_training": self.no_training,
            },
            "capabilities": {"allow_unknown": self.allow_unknown},
            "limits": {
                "max_cost_per_request_usd": self.max_cost_per_request_usd,
                "max_input_price_per_mtok": self.max_input_price_per_mtok,
                "max_output_price_per_mtok": self.max_output_price_per_mtok,
                "max_fallbacks": self.max_fallbacks,
            },
            "routing": {
                "strategy": self.strategy,
                "strategies_by_alias": dict(self.strategies_by_alias),
                "weights": None if self.weights is None else self.weights.model_dump(),
                "diversify_providers": self.diversify_providers,
            },
            "aliases": {name: list(targets) for name, targets in self.aliases},
            "budgets": [budget.model_dump(mode="json") for budget in self.budgets],
        }


@dataclass(frozen=True, eq=False)
class PolicyStack:
    """The platform policy and an optional tenant overlay. Each layer is
    checked on its own, so a rejection names the document whose rule fell it;
    checking every layer is exactly checking their meet. Everything derived
    is computed once here, off the hot path."""

    platform: PolicyDocument = field(default_factory=PolicyDocument)
    tenant: PolicyDocument | None = None

    @cached_property
    def layers(self) -> tuple[tuple[str, EffectivePolicy], ...]:
        platform = ("platform", EffectivePolicy.of(self.platform))
        if self.tenant is None:
            return (platform,)
        return (platform, ("tenant", EffectivePolicy.of(self.tenant)))

    @cached_property
    def effective(self) -> EffectivePolicy:
        effective = self.layers[0][1]
        for _, layer in self.layers[1:]:
            effective = effective.meet(layer)
        return effective

    @cached_property
    def _content(self) -> dict[str, Any]:
        return {
            "platform": self.platform.content(),
            "tenant": None if self.tenant is None else self.tenant.content(),
        }

    def content(self) -> dict[str, Any]:
        return self._content

    @cached_property
    def version(self) -> str:
        return "pol_" + canonical_hash(self._content)[:32]

    @cached_property
    def versions(self) -> dict[str, str | None]:
        """The stack's version and each document's, as decisions record them."""
        return {
            "stack": self.version,
            "platform": self.platform.version,
            "tenant": None if self.tenant is None else self.tenant.version,
        }

    @cached_property
    def effective_content(self) -> dict[str, Any]:
        content: dict[str, Any] = to_jsonable(self.effective.to_dict())
        return content

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> PolicyStack:
        tenant = content.get("tenant")
        return cls(
            parse_policy(content.get("platform"), source="platform policy"),
            None if tenant is None else parse_policy(tenant, source="tenant policy"),
        )


# -- explaining the meet ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Override:
    """A tenant setting the platform narrowed or overruled, and why."""

    field: str
    tenant: Any
    effective: Any
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "tenant": to_jsonable(self.tenant),
            "effective": to_jsonable(self.effective),
            "reason": self.reason,
        }


def _list_overrides(name: str, platform: ListRule, tenant: ListRule) -> list[Override]:
    found: list[Override] = []
    for pattern in tenant.allow or ():
        if platform.deny and matches_any(pattern, platform.deny):
            found.append(
                Override(
                    f"{name}.allow",
                    pattern,
                    None,
                    f"the platform denies {pattern} ({', '.join(platform.deny)})",
                )
            )
        elif platform.allow is not None and not matches_any(pattern, platform.allow):
            found.append(
                Override(
                    f"{name}.allow",
                    pattern,
                    None,
                    f"the platform allows only {', '.join(platform.allow)}",
                )
            )
    return found


def _cap_override(field: str, platform: Any, tenant: Any) -> list[Override]:
    if tenant is not None and platform is not None and tenant > platform:
        return [Override(field, tenant, platform, f"the platform caps it at {platform}")]
    return []


def explain_overrides(platform: PolicyDocument, tenant: PolicyDocument) -> list[Override]:
    """Every tenant setting that does not take effect as written, with the
    platform rule that overrules it. Deny-lists and stricter settings always
    take effect, so they never appear here."""
    found: list[Override] = []
    for name in ("providers", "vendors", "models", "regions"):
        found += _list_overrides(name, getattr(platform, name), getattr(tenant, name))
    for flag in ("zero_data_retention", "no_training"):
        if (
            getattr(platform.data, flag)
            and tenant.data.model_fields_set & {flag}
            and not getattr(tenant.data, flag)
        ):
            found.append(Override(f"data.{flag}", False, True, f"the platform requires {flag}"))
    if tenant.capabilities.allow_unknown and platform.capabilities.allow_unknown is not True:
        found.append(
            Override(
                "capabilities.allow_unknown",
                True,
                False,
                "the platform does not admit unknown capabilities",
            )
        )
    for cap in (
        "max_cost_per_request_usd",
        "max_input_price_per_mtok",
        "max_output_price_per_mtok",
        "max_fallbacks",
    ):
        found += _cap_override(
            f"limits.{cap}", getattr(platform.limits, cap), getattr(tenant.limits, cap)
        )
    for alias, targets in tenant.aliases.items():
        for target in targets:
            provider, _, model = target.rpartition("/")
            names = [target, model] if provider else [target]
            verdict = EffectiveList.of(platform.models).verdict(*names)
            provider_ok = not provider or EffectiveList.of(platform.providers).verdict(
                provider
            ) == (True, False)
            if verdict != (True, False) or not provider_ok:
                found.append(
                    Override(
                        f"aliases.{alias}",
                        target,
                        "rejected on every route",
                        f"the platform's models or providers rules reject {target}",
                    )
                )
    return found
