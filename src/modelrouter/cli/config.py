"""``modelrouter config``: check start files against what is stored, and the
log of what was put in force."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from modelrouter.catalog.changes import summary
from modelrouter.cli.common import fail, out
from modelrouter.errors import first_problem
from modelrouter.service.settings import Settings
from modelrouter.service.startup import StartupError, platform_policy_from, start_catalog
from modelrouter.store.config_log import ConfigLog
from modelrouter.store.database import create_engine_for, redact, upgrade
from modelrouter.store.repository import Repository

app = typer.Typer(help="The configuration in force, and what start files would change.")


def _settings(catalog: list[Path] | None, platform_policy: Path | None) -> Settings:
    given: dict[str, Any] = {}
    if catalog:
        given["catalog"] = catalog
    if platform_policy is not None:
        given["platform_policy"] = platform_policy
    try:
        return Settings(**given)
    except ValidationError as exc:
        where, message = first_problem(exc.errors())
        fail(f"bad setting MODELROUTER_{where.upper()} ({where}): {message}")


@app.command("check")
def check(
    catalog: Annotated[
        list[Path] | None, typer.Option("--catalog", help="Catalog files, in layering order.")
    ] = None,
    platform_policy: Annotated[
        Path | None, typer.Option("--platform-policy", help="The platform policy file.")
    ] = None,
) -> None:
    """Validate the start files (options, MODELROUTER_* or modelrouter.toml) and
    print what ``serve`` would change against what the database holds."""
    settings = _settings(catalog, platform_policy)
    try:
        start, source = start_catalog(settings.catalog)
        policy = (
            None
            if settings.platform_policy is None
            else platform_policy_from(settings.platform_policy)
        )
    except StartupError as exc:
        fail(str(exc))
    out.print(f"catalog from {source}: {start.version} ({len(start.deployments)} deployments)")
    if policy is not None:
        out.print(f"platform policy from {settings.platform_policy}: {policy.version}")
    engine = create_engine_for(settings.database_url or None)
    try:
        upgrade(engine)
        log, repository = ConfigLog(engine), Repository(engine)
        where = redact(str(engine.url))
        head = log.head("catalog")
        last_start = log.head("catalog", origin="start")
        if head is None:
            out.print(f"{where} holds no configuration yet: serve would put these in force")
        elif last_start is not None and last_start.version == start.version:
            out.print(
                f"catalog files unchanged since the last start; in force: {head.version} "
                f"({head.origin}, {head.source})"
            )
        else:
            out.print(f"serve would put {start.version} in force, replacing {head.version}")
            stored = repository.load_catalog(head.version)
            if stored is not None:
                out.print_json(data=summary(stored, start, at=datetime.now(UTC)))
        if policy is not None:
            current = repository.get_platform_policy()
            last = log.head("platform_policy", origin="start")
            if last is not None and last.version == policy.version:
                out.print("platform policy file unchanged since the last start")
            elif current is not None and current.version == policy.version:
                out.print("the platform policy in force is the file's")
            else:
                out.print("serve would put the file's platform policy in force:")
                out.print_json(
                    data={
                        "stored": None if current is None else current.content(),
                        "file": policy.content(),
                    }
                )
    finally:
        engine.dispose()


@app.command("history")
def history(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
) -> None:
    """What was put in force, newest first: catalogs and policies, by whom."""
    settings = _settings(None, None)
    engine = create_engine_for(settings.database_url or None)
    try:
        upgrade(engine)
        entries = ConfigLog(engine).history(limit=limit)
    finally:
        engine.dispose()
    table = Table(title="configuration log")
    for column in ("seq", "when", "kind", "version", "origin", "source", "author"):
        table.add_column(column)
    for e in entries:
        kind = e.kind if e.subject is None else f"{e.kind} {e.subject}"
        table.add_row(
            str(e.seq),
            e.created_at.isoformat(timespec="seconds"),
            kind,
            e.version,
            e.origin,
            e.source,
            e.author or "",
        )
    out.print(table)
