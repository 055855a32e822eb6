"""``modelrouter route``: a plan for one request, as a table or as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from modelrouter.cli.common import (
    csv_option,
    err,
    fail,
    handle_errors,
    load_catalog,
    load_policy,
    out,
    read_structured,
)
from modelrouter.money import display
from modelrouter.router import Router
from modelrouter.store.database import create_engine_for, database_url, redact, upgrade
from modelrouter.store.repository import Repository, decision_row
from modelrouter.types import Candidate, Rejection, RoutingPlan, Strategy

__all__ = ["render_plan", "route_command"]


def _messages(path: Path) -> Any:
    raw = read_structured(path, "messages file")
    if isinstance(raw, dict) and "messages" in raw:
        return raw["messages"]
    return raw


def _latency(candidate: Candidate) -> str:
    value = candidate.expected_latency_ms
    return "unknown" if value is None else f"{value:,.0f} ms"


def render_plan(plan: RoutingPlan, explain: bool) -> None:
    table = Table(title=f"Route for {plan.model!r} ({plan.strategy})", title_justify="left")
    for column in ("hop", "deployment", "provider", "model", "expected", "worst case", "latency"):
        table.add_column(
            column, justify="right" if column in ("expected", "worst case") else "left"
        )
    rows = [("primary" if i == 0 else f"fallback {i}", c) for i, c in enumerate(plan.chain)]
    rows += [
        (f"after {error_class} {i + 1}", c)
        for error_class, chain in plan.chains
        for i, c in enumerate(chain)
    ]
    for label, candidate in rows:
        estimate = candidate.estimate
        worst = estimate.worst_case_usd
        table.add_row(
            label,
            candidate.deployment,
            candidate.provider,
            candidate.model,
            display(estimate.expected_usd),
            "unbounded" if worst is None else display(worst),
            _latency(candidate),
        )
    out.print(table)
    estimate = plan.primary.estimate
    out.print(
        f"input {estimate.input_tokens} tokens, expected output "
        f"{estimate.expected_output_tokens}, price rule: {estimate.price_rule}",
        highlight=False,
    )
    if plan.reserved_usd is not None:
        out.print(
            f"budget: reserved {display(plan.reserved_usd)} (the costliest hop's worst case)",
            highlight=False,
        )
    for note in plan.notes:
        out.print(f"note: {note}", highlight=False, markup=False)
    out.print(f"plan_hash {plan.plan_hash}", highlight=False)
    out.print(f"decision {plan.decision_id}  catalog {plan.catalog_version}", highlight=False)
    if explain:
        render_rejections(plan.rejected)
    elif plan.rejected:
        count = len({r.deployment for r in plan.rejected})
        out.print(f"{count} candidates rejected (--explain lists them)", highlight=False)


def render_rejections(rejections: tuple[Rejection, ...]) -> None:
    if not rejections:
        out.print("no candidate was rejected")
        return
    table = Table(title="Rejected candidates", title_justify="left")
    for column in ("deployment", "reason", "detail", "rule"):
        table.add_column(column)
    for r in rejections:
        # Messages hold brackets ("allows [eu]"): escape them from Rich markup.
        table.add_row(r.deployment, r.code.value, escape(r.message), r.rule or "")
    out.print(table)


def _save(router: Router, plan: RoutingPlan) -> None:
    url = database_url()
    engine = create_engine_for(url)
    try:
        upgrade(engine)
        repository = Repository(engine)
        repository.save_catalog(router.catalog)
        repository.save_decisions([decision_row(plan)])
    except Exception as exc:
        fail(f"cannot store the decision in {redact(url)}: {type(exc).__name__}: {exc}")
    finally:
        engine.dispose()
    err.print(f"stored decision {plan.decision_id} in {redact(url)}", highlight=False)


def route_command(
    model: Annotated[str | None, typer.Argument(help="Alias, model id, or provider/model.")] = None,
    body: Annotated[
        Path | None,
        typer.Option(
            "--body",
            help="A request body as a gateway sends it: ours, OpenAI chat completions, "
            "OpenRouter's or Anthropic Messages (JSON/YAML); other options add to it.",
        ),
    ] = None,
    input_tokens: Annotated[
        int | None, typer.Option("--input-tokens", min=0, help="Prompt size in tokens.")
    ] = None,
    messages: Annotated[
        Path | None,
        typer.Option("--messages", help="JSON/YAML file of chat messages (tokens estimated)."),
    ] = None,
    max_output_tokens: Annotated[int | None, typer.Option("--max-output-tokens", min=1)] = None,
    expected_output_tokens: Annotated[
        int | None, typer.Option("--expected-output-tokens", min=0)
    ] = None,
    strategy: Annotated[Strategy | None, typer.Option("--strategy", case_sensitive=False)] = None,
    require: Annotated[
        str | None,
        typer.Option("--require", help="Comma list: streaming,tools,vision,json_schema,reasoning."),
    ] = None,
    region: Annotated[list[str] | None, typer.Option("--region", help="Allowed region.")] = None,
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Allowed provider.")
    ] = None,
    deny_provider: Annotated[list[str] | None, typer.Option("--deny-provider")] = None,
    fallback: Annotated[
        list[str] | None, typer.Option("--fallback", help="Explicit fallback model, in order.")
    ] = None,
    max_fallbacks: Annotated[int | None, typer.Option("--max-fallbacks", min=0)] = None,
    max_cost: Annotated[str | None, typer.Option("--max-cost", help="USD cap per request.")] = None,
    zdr: Annotated[bool, typer.Option("--zdr", help="Require zero data retention.")] = False,
    tier: Annotated[
        str, typer.Option("--tier", help="standard, flex, priority or batch.")
    ] = "standard",
    tenant: Annotated[str | None, typer.Option("--tenant")] = None,
    request_id: Annotated[str | None, typer.Option("--request-id")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="ISO timestamp to price at (default: now).")
    ] = None,
    catalog: Annotated[
        list[Path] | None, typer.Option("--catalog", help="Catalog file layered on top.")
    ] = None,
    bundled: Annotated[
        bool, typer.Option("--bundled/--no-bundled", help="Start from the bundled catalog.")
    ] = True,
    platform_policy: Annotated[Path | None, typer.Option("--platform-policy")] = None,
    tenant_policy: Annotated[Path | None, typer.Option("--tenant-policy")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="List every rejection.")] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the plan with its snapshot as JSON.")
    ] = False,
    save: Annotated[
        bool,
        typer.Option("--save", help="Store the decision (MODELROUTER_DATABASE_URL) to replay it."),
    ] = False,
) -> None:
    """Plan one request: primary, fallbacks, estimated cost and latency."""
    given: dict[str, Any] = {}
    if body is not None:
        raw = read_structured(body, "request body")
        if not isinstance(raw, dict):
            fail(f"request body {body} must be a JSON/YAML mapping")
        given = raw
    elif model is None:
        fail("give a model, or --body FILE")
    elif (input_tokens is None) == (messages is None):
        fail("give exactly one of --input-tokens or --messages")
    request: dict[str, Any] = {
        "model": model,
        "max_output_tokens": max_output_tokens,
        "expected_output_tokens": expected_output_tokens,
        "strategy": strategy,
        "require": csv_option(require),
        "regions": region or None,
        "fallback_models": fallback or [],
        "max_fallbacks": max_fallbacks,
        "max_cost_usd": max_cost,
        "service_tier": tier,
        "tenant_id": tenant,
        "request_id": request_id,
        "timestamp": at,
        "data": {"zero_data_retention": zdr},
    }
    if provider or deny_provider:
        request["providers"] = {"allow": provider or None, "deny": deny_provider or []}
    if messages is not None:
        request["messages"] = _messages(messages)
    elif input_tokens is not None:
        request["input_tokens"] = input_tokens
    if given:
        # The body as sent, with what the command line says on top of it.
        defaults = {"service_tier": "standard", "data": {"zero_data_retention": False}}
        request = {
            **given,
            **{k: v for k, v in request.items() if v is not None and v != defaults.get(k)},
        }
        if not request.get("require"):
            request.pop("require", None)
        if request.get("fallback_models") == []:
            request.pop("fallback_models", None)
    with handle_errors(json_output):
        router = Router(
            load_catalog(catalog or [], bundled),
            load_policy(platform_policy, "platform policy"),
        )
        plan = router.route(
            {key: value for key, value in request.items() if value is not None},
            tenant_policy=load_policy(tenant_policy, "tenant policy"),
        )
    if save:
        _save(router, plan)
    if json_output:
        print(json.dumps(plan.to_dict(include_snapshot=True), indent=2, sort_keys=False))
    else:
        render_plan(plan, explain)
