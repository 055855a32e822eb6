"""``modelrouter cost``: the exact cost of a usage, of a real response body, or
the calibration of past estimates against actual costs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.matching import find_deployments
from modelrouter.catalog.model import Deployment
from modelrouter.cli.common import fail, handle_errors, load_catalog, out, read_structured
from modelrouter.errors import InvalidInputError
from modelrouter.money import display, exact_str
from modelrouter.pricing.cost import ActualCost, actual_cost
from modelrouter.pricing.extract import API_SHAPES, extract_usage
from modelrouter.pricing.usage import Usage
from modelrouter.request.model import SERVICE_TIERS, price_context
from modelrouter.router import Router
from modelrouter.types import RoutingPlan

__all__ = ["cost_command"]

# A response body's shape, when --api is not given, by our provider id.
DEFAULT_API = {
    "anthropic": "anthropic",
    "bedrock": "bedrock",
    "google": "gemini",
    "vertex": "gemini",
}


def _when(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at {text!r} is not an ISO 8601 timestamp (e.g. 2026-05-01T12:00:00Z)")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _deployments(catalog: Catalog, model: str, provider: str | None) -> tuple[Deployment, ...]:
    if provider is not None:
        found = find_deployments(catalog, provider, model)
        if not found:
            fail(
                f"no deployment of {model!r} at provider {provider!r} in catalog {catalog.version}"
            )
        return found
    found = catalog.alias_deployments(model) or catalog.lookup_target(model)
    if not found:
        fail(f"{model!r} is not a model, alias or provider/model in catalog {catalog.version}")
    return found


def _render(costs: list[ActualCost]) -> None:
    table = Table(title=f"Cost at {costs[0].priced_at.isoformat()}", title_justify="left")
    table.add_column("deployment")
    table.add_column("total", justify="right")
    table.add_column("components")
    table.add_column("price rule")
    for cost in sorted(costs, key=lambda c: (c.total_usd, c.deployment)):
        table.add_row(
            cost.deployment,
            display(cost.total_usd),
            ", ".join(f"{name} {exact_str(value)}" for name, value in cost.components.items()),
            escape(cost.price_rule),
        )
    out.print(table)


def _calibration(catalog: Catalog, outcomes: Path | None, json_output: bool) -> None:
    if outcomes is None:
        fail("`cost calibration` needs --outcomes FILE.jsonl (one {plan, usage} per line)")
    router = Router(catalog)
    try:
        lines = outcomes.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        fail(f"cannot read outcomes file {outcomes}: {exc.strerror or exc}")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            plan = RoutingPlan.from_dict(record["plan"])
            usage = _usage_of(record)
            router.record_outcome(plan, usage, deployment=record.get("deployment"))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            fail(f"{outcomes}:{number}: not an outcome record ({exc})")
        except InvalidInputError as exc:
            fail(f"{outcomes}:{number}: {exc.message}")
    rows = router.calibration.summary()
    if json_output:
        print(json.dumps([row.to_dict() for row in rows], indent=2))
        return
    table = Table(title="Estimate against actual cost, by requested model", title_justify="left")
    for column in ("model", "outcomes", "mean |error|", "bias", "worst case exceeded"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.model,
            str(row.count),
            f"{row.mean_abs_error_pct}%",
            f"{row.bias_pct:+}%",
            str(row.worst_case_exceeded),
        )
    out.print(table)


def _usage_of(record: dict[str, Any]) -> Usage:
    api = record.get("api", "normalized")
    return extract_usage(record["usage"], api).usage


def cost_command(
    model: Annotated[
        str | None,
        typer.Argument(help="Model, alias or provider/model; or `calibration`."),
    ] = None,
    provider: Annotated[str | None, typer.Option("--provider")] = None,
    input_tokens: Annotated[
        int | None, typer.Option("--input-tokens", min=0, help="Total, cache reads and writes in.")
    ] = None,
    cache_read_tokens: Annotated[int, typer.Option("--cache-read-tokens", min=0)] = 0,
    cache_write_tokens: Annotated[
        int, typer.Option("--cache-write-tokens", min=0, help="All cache writes, any TTL.")
    ] = 0,
    cache_write_1h_tokens: Annotated[
        int, typer.Option("--cache-write-1h-tokens", min=0, help="The 1-hour part of them.")
    ] = 0,
    output_tokens: Annotated[int, typer.Option("--output-tokens", min=0)] = 0,
    reasoning_tokens: Annotated[
        int, typer.Option("--reasoning-tokens", min=0, help="Part of --output-tokens.")
    ] = 0,
    at: Annotated[str | None, typer.Option("--at", help="ISO timestamp of the request.")] = None,
    tier: Annotated[str, typer.Option("--tier", help="standard, flex, priority or batch.")] = (
        "standard"
    ),
    response: Annotated[
        Path | None, typer.Option("--response", help="A provider's response body (JSON).")
    ] = None,
    api: Annotated[
        str | None, typer.Option("--api", help=f"Response shape: {', '.join(API_SHAPES)}.")
    ] = None,
    outcomes: Annotated[
        Path | None, typer.Option("--outcomes", help="For `calibration`: JSON lines.")
    ] = None,
    catalog: Annotated[list[Path] | None, typer.Option("--catalog")] = None,
    bundled: Annotated[bool, typer.Option("--bundled/--no-bundled")] = True,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Price a usage exactly: never $0 for an unknown price, always the rule used."""
    if tier not in SERVICE_TIERS:
        fail(f"--tier must be one of {', '.join(SERVICE_TIERS)}, not {tier!r}")
    with handle_errors(json_output):
        loaded = load_catalog(catalog or [], bundled)
        if model == "calibration":
            _calibration(loaded, outcomes, json_output)
            return
        when = _when(at)
        if response is not None:
            if provider is None:
                fail("--response needs --provider (who served it)")
            shape = api or DEFAULT_API.get(provider, "openai-chat")
            if shape not in API_SHAPES:
                fail(f"--api must be one of {', '.join(API_SHAPES)}, not {shape!r}")
            extracted = extract_usage(read_structured(response, "response body"), shape)
            name = model or extracted.model
            if name is None:
                fail("the response names no model: give MODEL")
            usage = extracted.usage
        else:
            if model is None or input_tokens is None:
                fail("give MODEL and --input-tokens (or --response FILE --provider P)")
            name = model
            usage = Usage(
                input_tokens=input_tokens,
                cache_read_tokens=cache_read_tokens,
                cache_write_tokens=cache_write_tokens,
                cache_write_1h_tokens=cache_write_1h_tokens,
                output_tokens=output_tokens,
                reasoning_tokens=reasoning_tokens,
            )
        deployments = _deployments(loaded, name, provider)
        if json_output and len(deployments) > 1:
            choices = ", ".join(sorted({d.provider for d in deployments}))
            fail(
                f"{name!r} has {len(deployments)} deployments: pick one with --provider ({choices})"
            )
        costs = [
            actual_cost(
                d, usage, at=when, catalog_version=loaded.version, context=price_context(tier)
            )
            for d in deployments
        ]
    if json_output:
        print(json.dumps(costs[0].to_dict(), indent=2))
    else:
        _render(costs)
