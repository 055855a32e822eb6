"""A proxy config's settings onto our concepts: ``router_settings`` and
``litellm_settings`` become a platform-policy fragment (strategy, fallback
count, circuit settings) and alias chains; every other setting is reported as
dropped, by name only (a value may be a secret: master keys, database URLs).

| LiteLLM ``routing_strategy`` | modelrouter ``routing.strategy`` |
|---|---|
| ``simple-shuffle`` (the default) | ``weighted`` |
| ``latency-based-routing`` | ``fastest`` |
| ``cost-based-routing`` | ``cheapest`` |
| ``usage-based-routing``, ``usage-based-routing-v2``, ``least-busy`` | ``balanced`` (approximate) |
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from modelrouter.catalog.sources.litellm.report import ReportBuilder
from modelrouter.money import exact_str
from modelrouter.types import Strategy

__all__ = ["CHAIN_SETTINGS", "STRATEGIES", "Settings", "convert_settings"]

STRATEGIES: dict[str, tuple[Strategy, str | None]] = {
    "simple-shuffle": (Strategy.WEIGHTED, None),
    "latency-based-routing": (Strategy.FASTEST, None),
    "cost-based-routing": (Strategy.CHEAPEST, None),
}
_BY_USAGE = (
    "an approximation: LiteLLM sends each request to the deployment with the most rpm/tpm "
    "headroom ({name}); balanced weighs cost, latency and quality, and prefers headroom "
    "(routing.weights.headroom) among deployments with rpm/tpm limits"
)
for _name in ("usage-based-routing", "usage-based-routing-v2"):
    STRATEGIES[_name] = (Strategy.BALANCED, _BY_USAGE.format(name=_name))
STRATEGIES["least-busy"] = (
    Strategy.BALANCED,
    "an approximation: LiteLLM sends each request to the deployment with the fewest calls in "
    "flight, which the router (it does not run the calls) does not see; balanced weighs cost, "
    "latency and quality, and prefers rpm/tpm headroom",
)

# LiteLLM setting -> our alias chain.
CHAIN_SETTINGS = ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks")
MAX_CHAIN = 20

# What is read from these sections, besides the chains (here) and the budgets
# and aliases (elsewhere).
_ELSEWHERE = {
    "router_settings": frozenset({"model_group_alias", "provider_budget_config"}),
    "litellm_settings": frozenset({"max_budget", "budget_duration"}),
}
_CONVERTED = frozenset(
    {
        *CHAIN_SETTINGS,
        "default_fallbacks",
        "routing_strategy",
        "num_retries",
        "allowed_fails",
        "cooldown_time",
        "enable_tag_filtering",
    }
)

_SHARED_STATE = (
    "LiteLLM's shared state; modelrouter shares signals and budgets through "
    "MODELROUTER_REDIS_URL (value not shown)"
)
_CALL = "a call setting: the gateway applies it; the router plans calls, it does not make them"
_REASONS: dict[str, str] = {
    "redis_host": _SHARED_STATE,
    "redis_port": _SHARED_STATE,
    "redis_password": _SHARED_STATE,
    "redis_url": _SHARED_STATE,
    "cache": "response caching happens in the gateway",
    "cache_params": "response caching happens in the gateway (values not shown)",
    "cache_responses": "response caching happens in the gateway",
    "timeout": _CALL,
    "stream_timeout": _CALL,
    "request_timeout": _CALL,
    "drop_params": _CALL,
    "retry_after": _CALL,
    "retry_policy": "per-error retry counts: modelrouter's circuits treat each error class "
    "by health.* (quota_cooldown_seconds, auth_cooldown_seconds)",
    "allowed_fails_policy": "per-error failure counts: modelrouter opens a circuit after "
    "health.consecutive_failures of any error class, or at health.error_rate",
    "model_group_retry_policy": "per-group retry counts have no counterpart; "
    "limits.max_fallbacks applies to every group",
    "routing_strategy_args": "strategy tuning has no counterpart; balanced is tuned by "
    "routing.weights",
    "enable_pre_call_checks": "always on: every candidate's context window is checked "
    "before it is planned",
    "disable_cooldowns": "circuits are always on; tune them with health.*",
    "max_fallbacks": "caps how many fallback groups LiteLLM tries; limits.max_fallbacks "
    "comes from num_retries",
    "callbacks": "logging callbacks run in the gateway",
    "success_callback": "logging callbacks run in the gateway",
    "failure_callback": "logging callbacks run in the gateway",
    "set_verbose": "a LiteLLM logging setting",
    "master_key": "the proxy's admin key (a secret: not shown, never copied); modelrouter's "
    "API keys are made with `modelrouter keys create`",
    "database_url": "the proxy's database (a secret: not shown); modelrouter's is "
    "MODELROUTER_DATABASE_URL",
}
_DEFAULT_REASONS = {
    "router_settings": "no counterpart in modelrouter's routing",
    "litellm_settings": "a LiteLLM SDK setting (logging, caching, callbacks) with no "
    "counterpart in the router",
    "general_settings": "a LiteLLM proxy server setting; modelrouter's server is set in "
    "modelrouter.toml or MODELROUTER_* variables",
}
_SECTION_REASONS = {
    "model_list": "",
    "router_settings": "",
    "litellm_settings": "",
    "general_settings": "",
    "environment_variables": "the gateway's environment (values not shown)",
    "guardrails": "guardrails run in the gateway",
    "mcp_servers": "MCP servers are the gateway's",
    "credential_list": "credentials are the gateway's (values not shown); deployments name "
    "their credential_ref",
}


@dataclass
class Settings:
    """What the settings became: a policy fragment, and per alias its chains."""

    policy: dict[str, Any] = field(default_factory=dict)
    chains: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def _section(raw: Mapping[str, Any], name: str, report: ReportBuilder) -> Mapping[str, Any]:
    value = raw.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        report.skipped(name, f"must be a mapping, got {type(value).__name__}: not read")
        return {}
    return value


def convert_settings(
    raw: Mapping[str, Any],
    groups: Collection[str],
    known: Callable[[str], bool],
    report: ReportBuilder,
) -> Settings:
    """``groups``: the model groups that became aliases; ``known``: whether a
    name a chain gives is a group, model or ``provider/model`` of the import."""
    router = _section(raw, "router_settings", report)
    litellm = _section(raw, "litellm_settings", report)
    general = _section(raw, "general_settings", report)
    settings = Settings()

    def pick(name: str) -> tuple[str, Any] | None:
        # The proxy passes router_settings to its Router; litellm_settings set
        # the SDK defaults the Router falls back to.
        if name in router:
            if name in litellm:
                report.dropped(f"litellm_settings.{name}", "router_settings sets it too, and wins")
            return f"router_settings.{name}", router[name]
        if name in litellm:
            return f"litellm_settings.{name}", litellm[name]
        return None

    _strategy(pick("routing_strategy"), settings, report)
    _retries(pick("num_retries"), settings, report)
    _allowed_fails(pick("allowed_fails"), settings, report)
    _cooldown(pick("cooldown_time"), settings, report)
    _tag_filtering(pick("enable_tag_filtering"), report)
    for chain in CHAIN_SETTINGS:
        _chains(chain, pick(chain), groups, known, settings, report)
    _default_fallbacks(pick("default_fallbacks"), groups, known, settings, report)

    for section, values in (
        ("router_settings", router),
        ("litellm_settings", litellm),
        ("general_settings", general),
    ):
        for key in values:
            if key in _CONVERTED or key in _ELSEWHERE.get(section, ()):
                continue
            reason = _REASONS.get(str(key), _DEFAULT_REASONS[section])
            report.dropped(f"{section}.{key}", reason)
    for key in raw:
        if key in _SECTION_REASONS and not _SECTION_REASONS[key]:
            continue
        reason = _SECTION_REASONS.get(
            str(key), "a LiteLLM proxy section with no counterpart in the router"
        )
        report.dropped(str(key), f"not imported: {reason}")
    return settings


def _whole(value: Any) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _strategy(found: tuple[str, Any] | None, settings: Settings, report: ReportBuilder) -> None:
    if found is None:
        return
    subject, value = found
    mapped = STRATEGIES.get(str(value).strip().lower()) if isinstance(value, str) else None
    if mapped is None:
        report.skipped(
            subject, f"{value!r} is not a LiteLLM routing strategy ({', '.join(STRATEGIES)})"
        )
        return
    strategy, note = mapped
    settings.policy.setdefault("routing", {})["strategy"] = strategy.value
    report.converted(
        subject, f"{value} -> routing.strategy: {strategy.value}" + (f" ({note})" if note else "")
    )


def _retries(found: tuple[str, Any] | None, settings: Settings, report: ReportBuilder) -> None:
    if found is None:
        return
    subject, value = found
    count = _whole(value)
    if count is None:
        report.skipped(subject, f"must be a whole number, got {value!r}")
        return
    hops = min(count, 20)
    settings.policy.setdefault("limits", {})["max_fallbacks"] = hops
    report.converted(
        subject,
        f"{count} -> limits.max_fallbacks: {hops} (LiteLLM retries a call up to {count} times, "
        "maybe on the same deployment; a plan holds at most this many fallback hops after the "
        "primary, each another deployment, and the gateway tries them in order"
        + ("; 20 is the most a policy allows" if count > 20 else "")
        + ")",
    )


def _allowed_fails(
    found: tuple[str, Any] | None, settings: Settings, report: ReportBuilder
) -> None:
    if found is None:
        return
    subject, value = found
    count = _whole(value)
    if count is None or count >= 1000:
        report.skipped(subject, f"must be a whole number below 1000, got {value!r}")
        return
    failures = count + 1
    settings.policy.setdefault("health", {})["consecutive_failures"] = failures
    report.converted(
        subject,
        f"{count} -> health.consecutive_failures: {failures} (LiteLLM cools a deployment down "
        f"after more than {count} failures in a minute; its circuit opens after {failures} "
        "failures in a row, or when health.error_rate of the attempts in "
        "health.window_seconds failed)",
    )


def _cooldown(found: tuple[str, Any] | None, settings: Settings, report: ReportBuilder) -> None:
    if found is None:
        return
    subject, value = found
    try:
        seconds = Decimal(str(value)) if not isinstance(value, bool) else None
    except InvalidOperation:
        seconds = None
    if seconds is None or not seconds.is_finite() or not 0 < seconds <= 86_400:
        report.skipped(subject, f"must be seconds above 0 and at most 86400, got {value!r}")
        return
    health = settings.policy.setdefault("health", {})
    health["base_cooldown_seconds"] = exact_str(seconds)
    note = ""
    if seconds > 300:  # HealthPolicy's default max_cooldown_seconds
        health["max_cooldown_seconds"] = exact_str(seconds)
        note = f", and health.max_cooldown_seconds: {exact_str(seconds)} (at least the base)"
    report.converted(
        subject,
        f"{exact_str(seconds)}s -> health.base_cooldown_seconds: {exact_str(seconds)}{note} "
        "(LiteLLM cools down for a fixed time; an open circuit's cool-down doubles on each "
        "trip, up to health.max_cooldown_seconds)",
    )


def _tag_filtering(found: tuple[str, Any] | None, report: ReportBuilder) -> None:
    if found is None:
        return
    subject, value = found
    if value is True:
        report.converted(
            subject,
            "tags always filter: deployment tags are imported, and a request's tags select "
            "the deployments carrying all of them",
        )
    else:
        report.dropped(subject, "tags always filter in modelrouter; it cannot be turned off")


def _names(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return None


def _table(value: Any) -> list[tuple[str, list[str]]] | None:
    """``[{group: [names]}, ..]`` (or one mapping) as (group, names) pairs."""
    items = value if isinstance(value, list) else [value]
    pairs: list[tuple[str, list[str]]] = []
    for item in items:
        if not isinstance(item, Mapping):
            return None
        for group, names in item.items():
            listed = _names(names)
            if not isinstance(group, str) or listed is None:
                return None
            pairs.append((group, listed))
    return pairs


def _kept_names(
    subject: str,
    group: str,
    names: list[str],
    known: Callable[[str], bool],
    report: ReportBuilder,
) -> list[str]:
    kept: list[str] = []
    for name in names:
        if name == group or name in kept:
            continue
        if not known(name):
            report.dropped(
                f"{subject} {group} -> {name}" if group else f"{subject} {name}",
                f"{name!r} is not a model group, model or provider/model of the import",
            )
            continue
        kept.append(name)
    if len(kept) > MAX_CHAIN:
        report.dropped(f"{subject} {group}", f"kept the first {MAX_CHAIN} names of the chain")
    return kept[:MAX_CHAIN]


def _chains(
    chain: str,
    found: tuple[str, Any] | None,
    groups: Collection[str],
    known: Callable[[str], bool],
    settings: Settings,
    report: ReportBuilder,
) -> None:
    if found is None:
        return
    subject, value = found
    pairs = _table(value)
    if pairs is None:
        report.skipped(subject, "must be a list of {model group: [model groups]} mappings")
        return
    for group, names in pairs:
        if group not in groups and not known(group):
            report.dropped(
                f"{subject} {group}", f"{group!r} is not a model group or model of the import"
            )
            continue
        kept = _kept_names(subject, group, names, known, report)
        if not kept:
            continue
        settings.chains.setdefault(group, {})[chain] = kept
        report.converted(f"{subject} {group}", f"alias {group}: {chain} [{', '.join(kept)}]")


def _default_fallbacks(
    found: tuple[str, Any] | None,
    groups: Collection[str],
    known: Callable[[str], bool],
    settings: Settings,
    report: ReportBuilder,
) -> None:
    if found is None:
        return
    subject, value = found
    names = _names(value)
    if names is None:
        report.skipped(subject, "must be a list of model groups")
        return
    valid = _kept_names(subject, "", names, known, report)
    given: list[str] = []
    for group in groups:
        own = [name for name in valid if name != group]
        if "fallbacks" in settings.chains.get(group, {}) or not own:
            continue
        settings.chains.setdefault(group, {})["fallbacks"] = own
        given.append(group)
    report.converted(
        subject,
        f"fallbacks [{', '.join(valid)}] for every group without its own: "
        + (", ".join(given) or "none"),
    )
