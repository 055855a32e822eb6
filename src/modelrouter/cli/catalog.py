"""``modelrouter catalog``: list, show, aliases, import."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment
from modelrouter.catalog.prices import Rate
from modelrouter.catalog.sources.litellm.cost_map import import_litellm_cost_map
from modelrouter.catalog.sources.litellm.fields import ImportResult
from modelrouter.catalog.sources.litellm.proxy import import_litellm_config
from modelrouter.catalog.sources.litellm.report import OUTCOMES, ImportReport, ReportLine
from modelrouter.catalog.sources.litellm.sniff import FORMAT_NAMES, wrong_format
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
        # A name people already use (a dated id, a slug), as routing reads it.
        from modelrouter.catalog.names import match_name, suggest

        with handle_errors():
            match = match_name(loaded, model)
        if match is None:
            close = suggest(loaded, model)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            what = f"is not a model, alias or deployment in catalog {loaded.version}"
            fail(escape(f"{model!r} {what}{hint}"))
        out.print(escape(match.note), highlight=False)
        deployments = match.deployments
        if match.target.startswith("model "):
            model = deployments[0].model
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
    policy_out: Annotated[
        Path | None,
        typer.Option("--policy-out", help="Write the settings' platform-policy fragment here."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse the file if any entry cannot be imported.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
) -> None:
    """Convert a LiteLLM cost map or proxy config (or check one of our files) into
    a catalog document; use it with `--catalog FILE` (with `--no-bundled` for a
    proxy config, to route only to its deployments). Prints a report of what was
    kept, converted, dropped (and why) and skipped."""
    if format not in FORMAT_NAMES:
        fail(f"--format must be litellm, litellm-config or yaml, not {format!r}")
    raw = read_structured(file, f"{format} file")
    if not isinstance(raw, dict):
        fail(f"{file} must hold a mapping at the top level")
    if (wrong := wrong_format(raw, format)) is not None:
        fail(f"{file}: {wrong.replace('as format', 'with --format')}")
    with handle_errors(json_output):
        result = _import(raw, format, str(file), strict=strict)
        imported = Catalog.from_layers([(str(file), result.document)])
    text = yaml.safe_dump(imported.content(), sort_keys=True, allow_unicode=True)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    if policy_out is not None:
        policy_text = yaml.safe_dump(result.policy, sort_keys=False, allow_unicode=True)
        policy_out.write_text(policy_text if result.policy else "{}\n", encoding="utf-8")
    summary = {
        "version": imported.version,
        "deployments": len(imported.deployments),
        "models": len(imported.models),
        "aliases": len(imported.aliases),
    }
    if json_output:
        answer: dict[str, Any] = {
            **summary,
            "report": result.report.to_dict(),
            "warnings": list(result.warnings),
            "skipped": dict(result.skipped),
            "policy": result.policy,
            "policy_out": None if policy_out is None else str(policy_out),
        }
        if output is None:
            answer["document"] = imported.content()
        print(json.dumps(answer, indent=2, default=str))
        return
    if output is None:
        sys.stdout.write(text)
    # With the document on stdout, the report goes to stderr and the policy
    # notice is a YAML comment, so that stdout stays one valid document.
    console = err if output is None else out
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    print_report(console, result.report, f"import report for {file}")
    console.print(
        f"imported {summary['deployments']} deployments, {summary['models']} models, "
        f"{summary['aliases']} aliases; catalog {imported.version}",
        highlight=False,
    )
    notice = _policy_notice(result.policy, policy_out)
    if notice:
        prefix = "# " if output is None else ""
        sys.stdout.write("".join(f"{prefix}{line}\n" for line in notice))


def _policy_notice(policy: dict[str, Any], policy_out: Path | None) -> list[str]:
    if not policy:
        return []
    parts = ", ".join(policy)
    if policy_out is None:
        return [
            f"the settings make a platform-policy fragment ({parts}): "
            "write it with --policy-out FILE"
        ]
    return [
        f"policy fragment ({parts}) written to {policy_out}",
        f"check it: modelrouter policy check {policy_out}",
        f"apply it as the platform policy: modelrouter serve --platform-policy {policy_out} "
        "(or merge it into the platform policy you have)",
    ]


def print_report(console: Console, report: ImportReport, title: str) -> None:
    """The report as one table: kept, converted, dropped, skipped, in that order."""
    counts = ", ".join(f"{count} {outcome}" for outcome, count in report.counts().items())
    table = Table(title=f"{title}: {counts}", title_justify="left")
    for column in ("outcome", "what", "what became of it"):
        table.add_column(column)
    for outcome in OUTCOMES:
        for line in report.of(outcome):
            table.add_row(outcome, escape(line.subject), escape(line.detail))
    console.print(table)


def _import(raw: dict[str, Any], format: str, source: str, *, strict: bool) -> ImportResult:
    if format == "litellm":
        return import_litellm_cost_map(raw, source=source)
    if format == "litellm-config":
        return import_litellm_config(raw, Catalog.bundled(), source=source, strict=strict)
    checked = ReportLine("kept", source, "a modelrouter catalog document, validated as it is")
    return ImportResult(raw, (), {}, report=ImportReport((checked,)))
