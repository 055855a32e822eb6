"""The normalised request: every input of a decision, in the form it is recorded.

Messages are replaced by their estimated token count and a digest (the
snapshot never holds prompt text); images imply the ``vision`` requirement;
defaults are made explicit so a replay needs nothing but this value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any, cast

from modelrouter.catalog.model import Feature
from modelrouter.encoding import to_jsonable
from modelrouter.frozen import quick_init
from modelrouter.policy.effective import EffectiveList, EffectivePolicy
from modelrouter.request.model import RouteRequest, price_context
from modelrouter.request.tokens import estimate_tokens, messages_digest
from modelrouter.types import PERCENTILES, Percentile, Strategy, Weights

__all__ = ["DEFAULT_EXPECTED_OUTPUT_TOKENS", "NormalizedRequest", "normalize"]


@quick_init
@dataclass(frozen=True, slots=True)
class NormalizedRequest:
    model: str
    request_id: str
    tenant_id: str | None
    input_tokens: int
    input_exact: bool
    messages_digest: str | None
    max_output_tokens: int | None
    expected_output_tokens: int
    expected_output_source: str  # "request", "learned" or "default"
    expected_cache_hit_ratio: Decimal | None
    require: tuple[Feature, ...]
    regions: tuple[str, ...] | None
    providers_allow: tuple[str, ...] | None
    providers_deny: tuple[str, ...]
    vendors_allow: tuple[str, ...] | None
    vendors_deny: tuple[str, ...]
    zero_data_retention: bool
    no_training: bool
    max_cost_usd: Decimal | None
    strategy: Strategy | None
    weights: Weights | None
    fallback_models: tuple[str, ...]
    max_fallbacks: int | None
    service_tier: str
    timestamp: datetime
    # Hashed into the weighted draw instead of the request id, when given.
    affinity_key: str | None = None
    max_latency_ms: Decimal | None = None
    min_output_tokens_per_s: Decimal | None = None
    latency_percentile: Percentile | None = None
    # Estimated input was scaled by this, learned from prompts that did not fit.
    input_scale: Decimal | None = None
    max_input_price_per_mtok: Decimal | None = None
    max_output_price_per_mtok: Decimal | None = None
    # What was mapped from another API's body (the plan's notes repeat it).
    translation: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def price_context(self) -> dict[str, str]:
        return price_context(self.service_tier)

    def as_policy(self) -> EffectivePolicy:
        """The request's own restrictions, checked like one more policy layer."""

        def rule(allow: tuple[str, ...] | None, deny: tuple[str, ...]) -> EffectiveList:
            return EffectiveList(() if allow is None else (tuple(sorted(set(allow))),), deny)

        return EffectivePolicy(
            providers=rule(self.providers_allow, self.providers_deny),
            vendors=rule(self.vendors_allow, self.vendors_deny),
            regions=rule(self.regions, ()),
            zero_data_retention=self.zero_data_retention,
            no_training=self.no_training,
            allow_unknown=True,
            max_cost_per_request_usd=self.max_cost_usd,
            max_input_price_per_mtok=self.max_input_price_per_mtok,
            max_output_price_per_mtok=self.max_output_price_per_mtok,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            kind = type(value)
            # Most fields are plain already (and this runs for every decision's record).
            if value is None or kind is str or kind is int or kind is bool:
                out[name] = value
            elif kind is tuple and all(type(item) is str for item in value):
                out[name] = list(value)
            elif isinstance(value, Weights):
                out[name] = {k: to_jsonable(v) for k, v in value.model_dump().items()}
            else:
                out[name] = to_jsonable(value)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> NormalizedRequest:
        def tup(key: str) -> tuple[str, ...] | None:
            value = raw.get(key)
            return None if value is None else tuple(value)

        weights = raw.get("weights")
        max_cost = raw.get("max_cost_usd")
        strategy = raw.get("strategy")
        return cls(
            model=raw["model"],
            request_id=raw["request_id"],
            tenant_id=raw.get("tenant_id"),
            input_tokens=int(raw["input_tokens"]),
            input_exact=bool(raw["input_exact"]),
            messages_digest=raw.get("messages_digest"),
            max_output_tokens=raw.get("max_output_tokens"),
            expected_output_tokens=int(raw["expected_output_tokens"]),
            expected_output_source=raw["expected_output_source"],
            expected_cache_hit_ratio=None
            if raw.get("expected_cache_hit_ratio") is None
            else Decimal(raw["expected_cache_hit_ratio"]),
            require=tuple(Feature(f) for f in raw.get("require", ())),
            regions=tup("regions"),
            providers_allow=tup("providers_allow"),
            providers_deny=tuple(raw.get("providers_deny", ())),
            vendors_allow=tup("vendors_allow"),
            vendors_deny=tuple(raw.get("vendors_deny", ())),
            zero_data_retention=bool(raw.get("zero_data_retention")),
            no_training=bool(raw.get("no_training")),
            max_cost_usd=None if max_cost is None else Decimal(max_cost),
            strategy=None if strategy is None else Strategy(strategy),
            weights=None if weights is None else Weights.model_validate(weights),
            fallback_models=tuple(raw.get("fallback_models", ())),
            max_fallbacks=raw.get("max_fallbacks"),
            service_tier=raw.get("service_tier", "standard"),
            timestamp=datetime.fromisoformat(raw["timestamp"]),
            affinity_key=raw.get("affinity_key"),
            max_latency_ms=_decimal(raw.get("max_latency_ms")),
            min_output_tokens_per_s=_decimal(raw.get("min_output_tokens_per_s")),
            latency_percentile=_percentile(raw.get("latency_percentile")),
            input_scale=_decimal(raw.get("input_scale")),
            max_input_price_per_mtok=_decimal(raw.get("max_input_price_per_mtok")),
            max_output_price_per_mtok=_decimal(raw.get("max_output_price_per_mtok")),
            translation=tuple(raw.get("translation", ())),
            tags=tuple(raw.get("tags", ())),
        )


def _percentile(value: Any) -> Percentile | None:
    if value is not None and value not in PERCENTILES:
        raise ValueError(f"latency_percentile must be one of {', '.join(PERCENTILES)}")
    return cast("Percentile | None", value)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


# Without a hint or a learned average, a chat reply is expected to be this long
# (capped by max_output_tokens).
DEFAULT_EXPECTED_OUTPUT_TOKENS = 256


def _expected_output(request: RouteRequest, learned: int | None) -> tuple[int, str]:
    if request.expected_output_tokens is not None:
        return request.expected_output_tokens, "request"
    value, source = (
        (learned, "learned") if learned is not None else (DEFAULT_EXPECTED_OUTPUT_TOKENS, "default")
    )
    if request.max_output_tokens is not None:
        value = min(value, request.max_output_tokens)
    return value, source


def normalize(
    request: RouteRequest,
    *,
    now: datetime,
    learned_output_tokens: int | None = None,
    assigned_id: str | None = None,
    input_scale: Decimal | None = None,
) -> NormalizedRequest:
    """``now`` fills a missing timestamp, ``learned_output_tokens`` a missing
    output hint and ``assigned_id`` a missing request id: the caller reads the
    clock, what was learned and a fresh id, not us."""
    require = set(request.require)
    digest = None
    scale = None
    if request.messages is not None:
        input_tokens, has_image = estimate_tokens(request.messages)
        exact = False
        if input_scale is not None and input_scale > 1:
            # The estimate has fallen short for this model before: scale it up, on the record.
            scale = input_scale
            input_tokens = int((Decimal(input_tokens) * scale).to_integral_value(ROUND_CEILING))
        digest = messages_digest(request.messages)
        if has_image:
            require.add(Feature.VISION)
    else:
        assert request.input_tokens is not None  # the model validator guarantees one
        input_tokens, exact = request.input_tokens, True
    request_id = request.request_id or assigned_id
    if request_id is None:
        # Equal content must never make equal decisions (one reservation for
        # many requests): the caller assigns a fresh id, as the Router does.
        raise ValueError("the request has no request_id and none was assigned")
    expected_output, expected_source = _expected_output(request, learned_output_tokens)
    return NormalizedRequest(
        model=request.model,
        request_id=request_id,
        tenant_id=request.tenant_id,
        input_tokens=input_tokens,
        input_exact=exact,
        messages_digest=digest,
        max_output_tokens=request.max_output_tokens,
        expected_output_tokens=expected_output,
        expected_output_source=expected_source,
        expected_cache_hit_ratio=request.expected_cache_hit_ratio,
        require=tuple(sorted(require)),
        regions=None if request.regions is None else tuple(request.regions),
        providers_allow=None
        if request.providers is None or request.providers.allow is None
        else tuple(request.providers.allow),
        providers_deny=() if request.providers is None else tuple(request.providers.deny),
        vendors_allow=None
        if request.vendors is None or request.vendors.allow is None
        else tuple(request.vendors.allow),
        vendors_deny=() if request.vendors is None else tuple(request.vendors.deny),
        zero_data_retention=request.data.zero_data_retention,
        no_training=request.data.no_training,
        max_cost_usd=request.max_cost_usd,
        strategy=request.strategy,
        weights=request.weights,
        fallback_models=tuple(request.fallback_models),
        max_fallbacks=request.max_fallbacks,
        service_tier=request.service_tier,
        timestamp=request.timestamp or now,
        affinity_key=request.affinity_key,
        max_latency_ms=request.max_latency_ms,
        min_output_tokens_per_s=request.min_output_tokens_per_s,
        latency_percentile=request.latency_percentile,
        input_scale=scale,
        max_input_price_per_mtok=request.max_input_price_per_mtok,
        max_output_price_per_mtok=request.max_output_price_per_mtok,
        translation=tuple(request.translation),
        tags=tuple(dict.fromkeys(request.tags)),
    )
