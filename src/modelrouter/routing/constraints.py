"""Hard constraints. Each rule returns a verdict: None (passes) or Rejections
with a stable code and the numbers behind it. Rules never raise and never log.

Policy layers (platform, tenant, and the request's own restrictions) are
checked one by one, so a rejection names the layer whose rule fell it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from modelrouter.catalog.model import Deployment, Feature
from modelrouter.catalog.prices import PriceSheet
from modelrouter.money import exact_str
from modelrouter.policy.budgets import HopBudget
from modelrouter.policy.effective import EffectivePolicy
from modelrouter.types import CostEstimate, DeploymentSignals, Rejection
from modelrouter.types import RejectionCode as Code

__all__ = [
    "Need",
    "check_cost",
    "check_live",
    "check_static",
    "check_terms",
    "check_tokens",
    "circuit_open",
    "probe_point",
]


@dataclass(frozen=True, slots=True)
class Need:
    """What the request needs of every hop, normalised."""

    input_tokens: int
    input_exact: bool
    max_output_tokens: int | None
    require: tuple[Feature, ...]
    layers: tuple[tuple[str, EffectivePolicy], ...]
    allow_unknown: bool
    zero_data_retention: tuple[str, ...]  # the layers that require it
    no_training: tuple[str, ...]
    has_list_rules: bool = True  # any provider/vendor/model/region rule in any layer
    has_cost_caps: bool = True  # any cost or price cap in any layer, or a hop budget
    # Hop-scoped budget windows (provider, model, deployment, tag) and the hops they cover.
    budgets: tuple[HopBudget, ...] = ()


def _reject(
    d: Deployment,
    code: Code,
    message: str,
    need: object = None,
    have: object = None,
    rule: str | None = None,
) -> Rejection:
    return Rejection(
        deployment=d.id,
        code=code,
        message=message,
        need=None if need is None else str(need),
        have=None if have is None else str(have),
        rule=rule,
    )


def _tokens(need: Need) -> str:
    return f"{need.input_tokens}{'' if need.input_exact else ' (estimated)'}"


def _context(d: Deployment, need: Need) -> Iterator[Rejection]:
    wanted = need.input_tokens + (need.max_output_tokens or 0)
    if d.context_window is None:
        if not need.allow_unknown:
            yield _reject(
                d,
                Code.CONTEXT_WINDOW_UNKNOWN,
                f"needs {wanted} tokens of context, the catalog does not know this window",
                wanted,
                "unknown",
            )
    elif wanted > d.context_window:
        yield _reject(
            d,
            Code.CONTEXT_WINDOW_TOO_SMALL,
            f"needs {wanted} (input {_tokens(need)} + max output "
            f"{need.max_output_tokens or 0}), has {d.context_window}",
            wanted,
            d.context_window,
        )


def _max_output(d: Deployment, need: Need) -> Iterator[Rejection]:
    # A deployment without a published output cap is bounded by its context
    # window, which ``_context`` already checks.
    if need.max_output_tokens is None or d.max_output_tokens is None:
        return
    if need.max_output_tokens > d.max_output_tokens:
        yield _reject(
            d,
            Code.MAX_OUTPUT_TOO_SMALL,
            f"needs {need.max_output_tokens} output tokens, has {d.max_output_tokens}",
            need.max_output_tokens,
            d.max_output_tokens,
        )


def _features(d: Deployment, need: Need) -> Iterator[Rejection]:
    for feature in need.require:
        value = d.capabilities.get(feature)
        if value is False:
            yield _reject(
                d, Code.FEATURE_UNSUPPORTED, f"needs {feature.value}, not supported", feature, False
            )
        elif value is None and not need.allow_unknown:
            yield _reject(
                d,
                Code.FEATURE_UNKNOWN,
                f"needs {feature.value}, support is unknown (allow_unknown is off)",
                feature,
                "unknown",
            )


def _lists(d: Deployment, need: Need) -> Iterator[Rejection]:
    model_names = (d.model, d.id, f"{d.provider}/{d.model}")
    for layer, policy in need.layers:
        checks = (
            (policy.providers, (d.provider,), "provider", d.provider),
            (policy.vendors, (d.vendor,), "vendor", d.vendor),
            (policy.models, model_names, "model", d.model),
        )
        for rule, names, what, shown in checks:
            if not (rule.allow or rule.deny):
                continue
            allowed, denied = rule.verdict(*names)
            if denied:
                code = {
                    "provider": Code.PROVIDER_DENIED,
                    "vendor": Code.VENDOR_DENIED,
                    "model": Code.MODEL_DENIED,
                }[what]
                yield _reject(
                    d,
                    code,
                    f"{what} {shown} is denied by the {layer} policy",
                    have=shown,
                    rule=layer,
                )
            elif not allowed:
                code = {
                    "provider": Code.PROVIDER_NOT_ALLOWED,
                    "vendor": Code.VENDOR_NOT_ALLOWED,
                    "model": Code.MODEL_NOT_ALLOWED,
                }[what]
                wanted = " and ".join("[" + ", ".join(p) + "]" for p in rule.allow)
                yield _reject(
                    d,
                    code,
                    f"{what} {shown} is not in the {layer} allow-list {wanted}",
                    wanted,
                    shown,
                    rule=layer,
                )
        rule = policy.regions
        if rule.allow or rule.deny:
            remaining = [r for r in d.regions if rule.verdict(r) == (True, False)]
            if not remaining:
                wanted = " and ".join("[" + ", ".join(p) + "]" for p in rule.allow) or "any"
                denied_text = f"; denied: {', '.join(rule.deny)}" if rule.deny else ""
                have = ", ".join(d.regions) or "unknown"
                yield _reject(
                    d,
                    Code.REGION_NOT_ALLOWED,
                    f"serves regions [{have}], the {layer} policy allows {wanted}{denied_text}",
                    wanted,
                    have,
                    rule=layer,
                )
        if policy.tags_require or policy.tags_deny:
            yield from _tag_rules(d, layer, policy)


def _tag_rules(d: Deployment, layer: str, policy: EffectivePolicy) -> Iterator[Rejection]:
    have = ", ".join(d.tags) or None
    missing = [tag for tag in policy.tags_require if tag not in d.tags]
    if missing:
        yield _reject(
            d,
            Code.TAG_MISMATCH,
            f"carries tags [{have or ''}], the {layer} policy requires "
            f"[{', '.join(policy.tags_require)}]",
            ", ".join(policy.tags_require),
            have,
            rule=layer,
        )
    denied = [tag for tag in d.tags if tag in policy.tags_deny]
    if denied:
        yield _reject(
            d,
            Code.TAG_DENIED,
            f"tag {', '.join(denied)} is denied by the {layer} policy",
            have=have,
            rule=layer,
        )


def _data(d: Deployment, need: Need) -> Iterator[Rejection]:
    if need.zero_data_retention and d.data.zero_data_retention is not True:
        have = "unknown" if d.data.zero_data_retention is None else "retains data"
        yield _reject(
            d,
            Code.ZERO_DATA_RETENTION_REQUIRED,
            f"zero data retention required, provider {d.provider}: {have}",
            True,
            have,
            rule=need.zero_data_retention[0],
        )
    if need.no_training and d.data.no_training is not True:
        have = "unknown" if d.data.no_training is None else "may train on data"
        yield _reject(
            d,
            Code.NO_TRAINING_REQUIRED,
            f"no training on data required, provider {d.provider}: {have}",
            True,
            have,
            rule=need.no_training[0],
        )


def _clearly_passes(d: Deployment, need: Need) -> bool:
    """A fast verdict for the common case, equal to "the rules below find
    nothing" (the property tests hold the two to each other); only a candidate
    that may fail goes through the rules that explain why."""
    if need.has_list_rules or d.deprecated:
        return False
    window = d.context_window
    if window is None:
        if not need.allow_unknown:
            return False
    elif need.input_tokens + (need.max_output_tokens or 0) > window:
        return False
    wanted_output, cap = need.max_output_tokens, d.max_output_tokens
    if wanted_output is not None and cap is not None and wanted_output > cap:
        return False
    for feature in need.require:
        value = d.capabilities.get(feature)
        if value is not True and (value is False or not need.allow_unknown):
            return False
    if need.zero_data_retention and d.data.zero_data_retention is not True:
        return False
    return not (need.no_training and d.data.no_training is not True)


def check_static(d: Deployment, need: Need, signals: DeploymentSignals | None) -> list[Rejection]:
    """Every constraint that does not depend on price."""
    if _clearly_passes(d, need) and (signals is None or signals.circuit != "open"):
        return []
    found = [
        *_context(d, need),
        *_max_output(d, need),
        *_features(d, need),
        *_lists(d, need),
        *_data(d, need),
    ]
    if d.deprecated:
        found.append(_reject(d, Code.MODEL_DEPRECATED, f"{d.model} is deprecated", have=True))
    if signals is not None and signals.circuit == "open":
        found.append(_circuit_open(d, signals))
    return found


def check_tokens(d: Deployment, need: Need) -> list[Rejection]:
    """The part of ``check_static`` that depends on the request's token counts
    (its first rejections, in its order)."""
    return [*_context(d, need), *_max_output(d, need)]


def check_terms(d: Deployment, need: Need) -> list[Rejection]:
    """The part of ``check_static`` that does not (features, lists, data terms,
    deprecation; the rejections that follow ``check_tokens``', in its order):
    a function of the deployment, the features required, the policy layers'
    lists and data terms, and ``allow_unknown``, so it can be computed once."""
    found = [*_features(d, need), *_lists(d, need), *_data(d, need)]
    if d.deprecated:
        found.append(_reject(d, Code.MODEL_DEPRECATED, f"{d.model} is deprecated", have=True))
    return found


def circuit_open(d: Deployment, signals: DeploymentSignals) -> Rejection:
    """The rejection of a deployment whose circuit is open."""
    return _circuit_open(d, signals)


def _circuit_open(d: Deployment, signals: DeploymentSignals) -> Rejection:
    cause = signals.circuit_reason or "recent failures"
    rate = "" if signals.error_rate is None else f" (error rate {exact_str(signals.error_rate)})"
    until = "" if signals.reopens_at is None else f"; half-opens at {signals.reopens_at}"
    return Rejection(
        deployment=d.id,
        code=Code.CIRCUIT_OPEN,
        message=f"circuit open after {cause}{rate}{until}",
        need="closed",
        have="open",
        error_class=signals.circuit_reason,
        resets_at=signals.reopens_at,
    )


def probe_point(seed: str, deployment: str) -> Decimal:
    """Where a request falls in [0, 1) for one deployment's half-open share: a
    hash, so every instance lets the same requests through."""
    digest = hashlib.sha256(f"{seed}\x00probe\x00{deployment}".encode()).digest()
    return Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64)


def check_live(
    d: Deployment, signals: DeploymentSignals, *, seed: str, tokens: int
) -> list[Rejection]:
    """What the live signals rule out beyond an open circuit: a half-open
    circuit outside its probe share, and a deployment without the rpm/tpm
    headroom for this request's tokens."""
    found: list[Rejection] = []
    share = signals.probe_share
    if signals.circuit == "half_open" and share is not None and probe_point(seed, d.id) >= share:
        cause = signals.circuit_reason or "recent failures"
        found.append(
            Rejection(
                deployment=d.id,
                code=Code.CIRCUIT_OPEN,
                message=f"circuit half-open after {cause}: this request is not among the "
                f"probes ({exact_str(share * 100)} % of requests)",
                need="closed",
                have="half_open",
                error_class=signals.circuit_reason,
            )
        )
    reset = signals.headroom_resets_at
    until = "" if reset is None else f"; more at {reset}"
    if signals.requests_left is not None and signals.requests_left < 1:
        found.append(
            Rejection(
                deployment=d.id,
                code=Code.RATE_LIMIT_HEADROOM,
                message=f"no requests left in this minute's rate limit{until}",
                need="1 request",
                have="0 requests",
                resets_at=reset,
            )
        )
    elif signals.tokens_left is not None and signals.tokens_left < tokens:
        # A request above the whole per-minute limit never fits: no "more at".
        whole = d.tpm is not None and tokens > d.tpm
        found.append(
            Rejection(
                deployment=d.id,
                code=Code.RATE_LIMIT_HEADROOM,
                message=f"needs {tokens} tokens, more than its whole limit of {d.tpm} a minute"
                if whole
                else f"needs {tokens} tokens of this minute's limit, "
                f"{signals.tokens_left} left{until}",
                need=f"{tokens} tokens",
                have=f"{d.tpm if whole else signals.tokens_left} tokens",
                resets_at=None if whole else reset,
            )
        )
    return found


def _cap(
    d: Deployment, value: Decimal | None, caps: list[tuple[str, Decimal]], code: Code, what: str
) -> Iterator[Rejection]:
    for layer, cap in caps:
        if value is None:
            yield _reject(
                d,
                code,
                f"{what} is unbounded (no max output known), {layer} cap {exact_str(cap)}",
                f"<= {exact_str(cap)}",
                "unbounded",
                rule=layer,
            )
        elif value > cap:
            yield _reject(
                d,
                code,
                f"{what} {exact_str(value)} is above the {layer} cap {exact_str(cap)}",
                f"<= {exact_str(cap)}",
                exact_str(value),
                rule=layer,
            )


def check_cost(
    d: Deployment,
    need: Need,
    estimate: CostEstimate,
    sheet: PriceSheet,
) -> list[Rejection]:
    """Constraints on the estimate: worst-case cost and per-token price caps."""
    cost_caps = [
        (layer, policy.max_cost_per_request_usd)
        for layer, policy in need.layers
        if policy.max_cost_per_request_usd is not None
    ]
    found = list(
        _cap(d, estimate.worst_case_usd, cost_caps, Code.COST_ABOVE_MAX, "worst-case cost USD")
    )
    tokens = need.input_tokens
    for unit, code, attr in (
        ("input", Code.INPUT_PRICE_ABOVE_MAX, "max_input_price_per_mtok"),
        ("output", Code.OUTPUT_PRICE_ABOVE_MAX, "max_output_price_per_mtok"),
    ):
        caps: list[tuple[str, Decimal]] = [
            (layer, cap)
            for layer, policy in need.layers
            if (cap := getattr(policy, attr)) is not None
        ]
        rate = sheet.rate(unit)
        if caps and rate is not None:
            found += _cap(d, rate.at(tokens), caps, code, f"{unit} price per million tokens")
    if need.budgets:
        found += _hop_budgets(d, need, estimate.worst_case_usd)
    return found


def _hop_budgets(d: Deployment, need: Need, worst: Decimal | None) -> Iterator[Rejection]:
    """Each hop-scoped budget covering this hop must have its worst case left."""
    for budget in need.budgets:
        if d.id not in budget.deployments:
            continue
        left = budget.remaining_usd
        figures = (
            f"limit {exact_str(budget.limit_usd)}, spent {exact_str(budget.spent_usd)}, "
            f"reserved {exact_str(budget.reserved_usd)}; resets at {budget.resets_at}"
        )
        named = f"budget {budget.name!r} ({budget.scope} {budget.value})"
        if worst is None:
            message = (
                f"worst-case cost USD is unbounded (no max output known), {named} has "
                f"{exact_str(left)} left ({figures})"
            )
        elif worst > left:
            message = (
                f"worst-case cost USD {exact_str(worst)} is above what {named} has left, "
                f"{exact_str(left)} ({figures})"
            )
        else:
            continue
        yield Rejection(
            deployment=d.id,
            code=Code.BUDGET_EXCEEDED,
            message=message,
            need=f"<= {exact_str(left)}",
            have="unbounded" if worst is None else exact_str(worst),
            rule="budget",
            resets_at=budget.resets_at,
        )
