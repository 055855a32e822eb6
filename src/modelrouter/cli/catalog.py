"""``modelrouter catalog``: list, show, aliases, import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment
from modelrouter.catalog.prices import Rate
from modelrouter.catalog.sources.litellm.cost_map import import_litellm_cost_map
from modelrouter.catalog.sources.litellm.proxy import import_litellm_config
from modelrouter.cli.common import err, fail, handle_errors, load_catalog, out, read_structured
from modelrouter.money import exact_str
from modelrouter.pricing.units import UNIT_NAMES

__all__ = ["app"]

app = typer.Typer(help="Inspect and import catalogs.", no_args_is_help=True)

CatalogFiles = Annotated[
    list[Path] | None, typer.Option("--catalog", help="Catalog file layered on top.")
]
Bundled = Annotated[bool, typer.Option("--bundled/--no-bundled")]


def _rate(rate: Rate | None) -> str:
    if rate is None:
        return "-"
    text = exact_str(rate.base)
    for threshold, value in rate.tiers:
        text += f" (>{threshold}: {exact_str(value)})"
    return text


def _standard_rates(d: Deployment) -> tuple[str, str]:
    if d.prices is None:
        return "unknown", "unknown"
    sheet = d.prices.rules[0].sheet
    for rule in reversed(d.prices.rules):
        if not rule.when and rule.effective_from is not None and rule.daily_utc is None:
            sheet = rule.sheet  # the latest dated price is the one users expect to see
            break
    return _rate(sheet.input), _rate(sheet.output)


@app.command("list")
def list_command(
    provider: Annotated[str | None, typer.Option("--provider")] = None,
    vendor: Annotated[str | None, typer.Option("--vendor")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
    catalog: CatalogFiles = None,
    bundled: Bundled = True,
) -> None:
    """Deployments, with input/output prices in USD per million tokens."""
    with handle_errors():
        loaded = load_catalog(catalog or [], bundled)
    rows = [
        d
        for d in (loaded.deployments[key] for key in sorted(loaded.deployments))
        if (provider is None or d.provider == provider) and (vendor is None or d.vendor == vendor)
    ]
    table = Table(
        title=f"{len(rows)} deployments in catalog {loaded.version}"
        + (f" (first {limit})" if len(rows) > limit else ""),
        title_justify="left",
    )
    for column in ("deployment", "vendor", "context", "max out", "input $/M", "output $/M"):
        table.add_column(column)
    for d in rows[:limit]:
        rates = _standard_rates(d)
        table.add_row(
            d.id,
            d.vendor,
            str(d.context_window or "?"),
            str(d.max_output_tokens or "?"),
            *rates,
        )
    out.print(table)


def _flag(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


@app.command("show")
def show_command(
    model: Annotated[str, typer.Argument(help="A model id, alias or deployment id.")],
    catalog: CatalogFiles = None,
    bundled: Bundled = True,
) -> None:
    """One model (or alias) and every deployment of it, with full price rules."""
    with handle_errors():
        loaded = load_catalog(catalog or [], bundled)
    deployments = loaded.alias_deployments(model) or loaded.lookup_target(model)
    if not deployments:
        fail(f"{model!r} is not a model, alias or deployment in catalog {loaded.version}")
    info = loaded.models.get(model)
    if info is not None:
        quality = info.quality
        out.print(f"[bold]{info.id}[/] ({info.name}) by {info.vendor}", highlight=False)
        if quality is not None:
            out.print(
                f"quality {exact_str(quality.score)} on {quality.scale}"
                f" ({quality.source or 'no source'}, {quality.as_of or 'undated'})",
                highlight=False,
            )
    elif model in loaded.aliases:
        out.print(f"alias [bold]{model}[/] -> {', '.join(loaded.aliases[model].targets)}")
    for d in deployments:
        table = Table(title=d.id, title_justify="left", show_header=False)
        table.add_column("field")
        table.add_column("value")
        caps = d.capabilities
        table.add_row("provider / vendor", f"{d.provider} / {d.vendor}")
        table.add_row("regions", ", ".join(d.regions) or "unknown")
        table.add_row("context / max output", f"{d.context_window} / {d.max_output_tokens}")
        table.add_row(
            "capabilities",
            ", ".join(
                f"{name} {_flag(getattr(caps, name))}"
                for name in ("streaming", "tools", "vision", "json_schema", "reasoning")
            ),
        )
        table.add_row(
            "data",
            f"zero retention {_flag(d.data.zero_data_retention)}, "
            f"no training {_flag(d.data.no_training)}",
        )
        if d.latency is not None:
            table.add_row(
                "latency prior",
                f"ttft {d.latency.ttft_ms} ms, {d.latency.output_tokens_per_s} tok/s",
            )
        table.add_row("weight / order / deprecated", f"{d.weight} / {d.order} / {d.deprecated}")
        if d.prices is None:
            table.add_row("prices", "unknown (routing rejects it: price_unknown)")
        else:
            for rule in d.prices.rules:
                rates = ", ".join(
                    f"{unit} {_rate(rule.sheet.rate(unit))}"
                    for unit in UNIT_NAMES
                    if rule.sheet.rate(unit) is not None
                )
                table.add_row(escape(f"prices [{rule.label()}]"), rates)
        out.print(table)


@app.command("aliases")
def aliases_command(catalog: CatalogFiles = None, bundled: Bundled = True) -> None:
    """Every alias and what it resolves to."""
    with handle_errors():
        loaded = load_catalog(catalog or [], bundled)
    table = Table(title=f"aliases in catalog {loaded.version}", title_justify="left")
    table.add_column("alias")
    table.add_column("targets")
    table.add_column("deployments", justify="right")
    for name in sorted(loaded.aliases):
        resolved = loaded.alias_deployments(name) or ()
        table.add_row(name, ", ".join(loaded.aliases[name].targets), str(len(resolved)))
    out.print(table)


@app.command("version")
def version_command(catalog: CatalogFiles = None, bundled: Bundled = True) -> None:
    """The catalog's content-hash version and its sources."""
    with handle_errors():
        loaded = load_catalog(catalog or [], bundled)
    out.print(loaded.version, highlight=False)
    err.print(
        f"{len(loaded.deployments)} deployments, {len(loaded.models)} models, "
        f"{len(loaded.aliases)} aliases from: {'; '.join(loaded.sources)}",
        highlight=False,
    )


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="The file to import.")],
    format: Annotated[
        str, typer.Option("--format", help="litellm (cost map), litellm-config, or yaml.")
    ],
    output: Annotated[
        Path | None, typer.Option("--out", help="Write the catalog document here.")
    ] = None,
) -> None:
    """Convert a LiteLLM cost map or proxy config (or check one of our files) into
    a catalog document; use it with `--catalog FILE` (with `--no-bundled` for a
    proxy config, to route only to its deployments)."""
    raw = read_structured(file, f"{format} file")
    if not isinstance(raw, dict):
        fail(f"{file} must hold a mapping at the top level")
    with handle_errors():
        document, warnings, skipped = _import(raw, format, str(file))
        imported = Catalog.from_layers([(str(file), document)])
    text = yaml.safe_dump(imported.content(), sort_keys=True, allow_unicode=True)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    for warning in warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    skipped_text = ", ".join(f"{reason}: {count}" for reason, count in sorted(skipped.items()))
    err.print(
        f"imported {len(imported.deployments)} deployments, {len(imported.models)} models, "
        f"{len(imported.aliases)} aliases; catalog {imported.version}"
        + (f"; skipped {skipped_text}" if skipped_text else ""),
        highlight=False,
    )


def _import(
    raw: dict[str, Any], format: str, source: str
) -> tuple[dict[str, Any], tuple[str, ...], dict[str, int]]:
    if format == "litellm":
        result = import_litellm_cost_map(raw, source=source)
    elif format == "litellm-config":
        result = import_litellm_config(raw, Catalog.bundled(), source=source)
    elif format == "yaml":
        return raw, (), {}
    else:
        fail(f"--format must be litellm, litellm-config or yaml, not {format!r}")
    return result.document, result.warnings, dict(result.skipped)
