"""The meet by which a tenant can only narrow the platform.

The effective policy of a platform document and a tenant overlay is their
meet: allow-lists intersect, deny-lists unite, caps take the minimum, required
flags stay required; a tenant's routing choices and aliases apply only inside
what remains (the planner checks every candidate, primary and fallback alike,
against every layer, so a rejection names the layer whose rule fell it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from modelrouter.encoding import canonical_hash, json_hash, to_jsonable
from modelrouter.policy.document import (
    DEFAULT_PRIOR_SAMPLES,
    Budget,
    ListRule,
    PolicyDocument,
    matches_any,
    parse_policy,
)
from modelrouter.types import Percentile, Strategy, Weights

__all__ = ["EffectiveList", "EffectivePolicy", "PolicyStack"]

# -- the meet -----------------------------------------------------------------


def _distinct(budgets: tuple[Budget, ...]) -> tuple[Budget, ...]:
    """Each budget once, in order. By content: a budget whose soft action is a
    mapping cannot be hashed."""
    seen: dict[str, Budget] = {}
    for budget in budgets:
        seen.setdefault(budget.model_dump_json(), budget)
    return tuple(seen.values())


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
    # Every hop carries all of ``tags_require`` and none of ``tags_deny``.
    tags_require: tuple[str, ...] = ()
    tags_deny: tuple[str, ...] = ()
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
    latency_percentile: Percentile | None = None
    # The platform's: how many latency samples outweigh the catalog's priors.
    latency_prior_samples: int = DEFAULT_PRIOR_SAMPLES
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    budgets: tuple[Budget, ...] = ()

    @classmethod
    def of(cls, doc: PolicyDocument) -> EffectivePolicy:
        return cls(
            providers=EffectiveList.of(doc.providers),
            vendors=EffectiveList.of(doc.vendors),
            models=EffectiveList.of(doc.models),
            regions=EffectiveList.of(doc.regions),
            tags_require=tuple(sorted(set(doc.tags.require))),
            tags_deny=tuple(sorted(set(doc.tags.deny))),
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
            latency_percentile=doc.routing.latency_percentile,
            latency_prior_samples=doc.health.latency_prior_samples,
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
            tags_require=tuple(sorted({*self.tags_require, *tenant.tags_require})),
            tags_deny=tuple(sorted({*self.tags_deny, *tenant.tags_deny})),
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
            latency_percentile=tenant.latency_percentile or self.latency_percentile,
            latency_prior_samples=self.latency_prior_samples,
            aliases=tuple(sorted({**dict(self.aliases), **dict(tenant.aliases)}.items())),
            budgets=_distinct((*self.budgets, *tenant.budgets)),
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
            # Only when set: snapshots from before tags keep their bytes.
            **(
                {"tags": {"require": list(self.tags_require), "deny": list(self.tags_deny)}}
                if self.tags_require or self.tags_deny
                else {}
            ),
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
                **(
                    {}
                    if self.latency_percentile is None
                    else {"latency_percentile": self.latency_percentile}
                ),
            },
            **(
                {}
                if self.latency_prior_samples == DEFAULT_PRIOR_SAMPLES
                else {"health": {"latency_prior_samples": self.latency_prior_samples}}
            ),
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

    @cached_property
    def shared_digest(self) -> str:
        """The digest of what every snapshot under this stack repeats (its
        documents and effective policy): a stored decision names it instead."""
        shared = {"policy": self._content, "effective_policy": self.effective_content}
        return "sha256:" + json_hash(shared)

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> PolicyStack:
        tenant = content.get("tenant")
        return cls(
            parse_policy(content.get("platform"), source="platform policy"),
            None if tenant is None else parse_policy(tenant, source="tenant policy"),
        )
