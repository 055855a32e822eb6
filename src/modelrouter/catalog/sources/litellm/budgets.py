"""LiteLLM's budgets as our policy ``budgets``: the proxy's
``litellm_settings.max_budget``/``budget_duration`` (a tenant budget),
``router_settings.provider_budget_config`` (provider budgets) and a
deployment's ``litellm_params.max_budget``/``budget_duration`` (a deployment
budget). LiteLLM's durations (``30s``, ``30m``, ``1h``, ``7d``, ``2w``,
``1mo``) become our fixed ``duration``; a month becomes the calendar
``period: month``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from modelrouter.catalog.sources.litellm.fields import provider_from_litellm
from modelrouter.catalog.sources.litellm.report import ReportBuilder
from modelrouter.money import exact_str, parse_decimal

__all__ = ["MAX_BUDGETS", "capped", "deployment_budget", "litellm_window", "proxy_budgets"]

MAX_BUDGETS = 10  # what a policy document holds
_DURATION = re.compile(r"^(?P<count>\d+)\s*(?P<unit>mo|[smhdw])$")

TENANT_SCOPE_NOTE = (
    "LiteLLM's max_budget caps the whole proxy's spend; a tenant budget caps each tenant's "
    "spend on its own, so several tenants together may spend more"
)
PROVIDER_SCOPE_NOTE = (
    "LiteLLM counts the whole proxy's spend at the provider and, once spent, routes to other "
    "providers; a provider budget in the platform policy counts each tenant's spend at it and "
    "refuses (402, naming the budget) hops it would overspend"
)


def litellm_window(value: Any) -> tuple[dict[str, str], str | None] | str:
    """({"duration": ..} or {"period": "month"}, note) of a LiteLLM duration,
    or why it cannot be one."""
    text = str(value).strip().lower() if isinstance(value, str | int) else ""
    match = _DURATION.match(text)
    if match is None or int(match["count"]) == 0:
        return f"{value!r} is not a LiteLLM duration (30s, 30m, 1h, 7d, 2w, 1mo)"
    count, unit = int(match["count"]), match["unit"]
    if unit == "w":
        return {"duration": f"{count * 7}d"}, None
    if unit == "mo":
        if count == 1:
            return {"period": "month"}, (
                "1mo as the calendar month (UTC); LiteLLM counts a month from the budget's start"
            )
        return {"duration": f"{count * 30}d"}, f"{count}mo as {count * 30} days"
    return {"duration": f"{count}{unit}"}, None


def _limit(value: Any) -> Decimal | str:
    try:
        amount = parse_decimal(value, what="budget")
    except ValueError as exc:
        return str(exc)
    return amount if amount >= 0 else "a budget cannot be negative"


def _budget(
    name: str, scope: str, match: str | None, limit: Any, duration: Any
) -> tuple[dict[str, Any], str | None] | str:
    """A budget document, and a note on its window; or why it cannot be one."""
    amount = _limit(limit)
    if isinstance(amount, str):
        return amount
    if duration is None:
        return (
            "a LiteLLM budget without budget_duration never resets; modelrouter budgets have a "
            "window: add budget_duration (e.g. 30d)"
        )
    window = litellm_window(duration)
    if isinstance(window, str):
        return window
    spec, note = window
    budget: dict[str, Any] = {"name": name, "scope": scope, **spec, "limit_usd": exact_str(amount)}
    if match is not None:
        budget["match"] = match
    return budget, note


def _describe(budget: Mapping[str, Any]) -> str:
    window = budget.get("duration") or f"calendar {budget.get('period')}"
    where = f" {budget['match']}" if "match" in budget else ""
    return f"budget {budget['name']}: {budget['scope']}{where}, ${budget['limit_usd']} per {window}"


def proxy_budgets(
    litellm_settings: Mapping[str, Any],
    router_settings: Mapping[str, Any],
    report: ReportBuilder,
) -> list[dict[str, Any]]:
    budgets: list[dict[str, Any]] = []
    if litellm_settings.get("max_budget") is not None:
        made = _budget(
            "litellm-proxy",
            "tenant",
            None,
            litellm_settings["max_budget"],
            litellm_settings.get("budget_duration"),
        )
        subject = "litellm_settings.max_budget"
        if isinstance(made, str):
            report.dropped(subject, made)
        else:
            budget, note = made
            budgets.append(budget)
            notes = "; ".join(filter(None, (note, TENANT_SCOPE_NOTE)))
            report.converted(subject, f"{_describe(budget)} ({notes})")
    elif litellm_settings.get("budget_duration") is not None:
        report.dropped("litellm_settings.budget_duration", "no max_budget to give a window to")
    table = router_settings.get("provider_budget_config")
    if table is None:
        return budgets
    if not isinstance(table, Mapping):
        report.skipped(
            "router_settings.provider_budget_config",
            "must be a mapping of provider: {budget_limit, time_period}",
        )
        return budgets
    for litellm_provider, spec in table.items():
        subject = f"router_settings.provider_budget_config.{litellm_provider}"
        provider = provider_from_litellm(str(litellm_provider))
        if provider is None or not isinstance(spec, Mapping):
            report.skipped(
                subject, "must name a chat provider and map it to budget_limit, time_period"
            )
            continue
        made = _budget(
            f"provider-{provider}",
            "provider",
            provider,
            spec.get("budget_limit"),
            spec.get("time_period"),
        )
        if isinstance(made, str):
            report.dropped(subject, made)
            continue
        budget, note = made
        budgets.append(budget)
        notes = "; ".join(filter(None, (note, PROVIDER_SCOPE_NOTE)))
        report.converted(subject, f"{_describe(budget)} ({notes})")
    return budgets


def deployment_budget(
    deployment_id: str, params: Mapping[str, Any], subject: str, report: ReportBuilder
) -> dict[str, Any] | None:
    """A deployment budget of ``litellm_params.max_budget``/``budget_duration``."""
    if params.get("max_budget") is None:
        return None
    made = _budget(
        f"deployment-{deployment_id.replace('/', '-')}"[:200],
        "deployment",
        deployment_id,
        params["max_budget"],
        params.get("budget_duration"),
    )
    if isinstance(made, str):
        report.dropped(f"{subject} litellm_params.max_budget", made)
        return None
    budget, note = made
    report.converted(
        f"{subject} litellm_params.max_budget",
        f"{_describe(budget)}" + (f" ({note})" if note else ""),
    )
    return budget


def capped(budgets: list[dict[str, Any]], report: ReportBuilder) -> list[dict[str, Any]]:
    """At most ``MAX_BUDGETS``: the rest are dropped, each named."""
    for budget in budgets[MAX_BUDGETS:]:
        report.dropped(
            f"budget {budget['name']}",
            f"a policy holds at most {MAX_BUDGETS} budgets: write this one into another policy",
        )
    return budgets[:MAX_BUDGETS]
