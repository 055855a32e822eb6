"""``modelrouter replay``: recompute recorded decisions and compare, byte for byte.

A file (a snapshot, or the plan JSON that ``route --json`` prints), one stored
decision by id, or every stored decision since a date.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.progress import Progress

from modelrouter.catalog.index import Catalog
from modelrouter.cli.common import (
    EXIT_MISMATCH,
    fail,
    handle_errors,
    load_catalog,
    out,
    read_structured,
)
from modelrouter.errors import CatalogVersionError, ModelRouterError
from modelrouter.routing.replay import ReplayResult, replay
from modelrouter.store.database import create_engine_for, database_url, redact
from modelrouter.store.repository import Repository

__all__ = ["replay_command"]


def _report(result: ReplayResult, json_output: bool) -> None:
    if json_output:
        print(json.dumps(result.to_dict(), indent=2))
    elif result.matched:
        out.print(f"match: plan_hash {result.actual_hash}", highlight=False)
    else:
        out.print(f"[bold red]mismatch[/]: recorded {result.expected_hash}", highlight=False)
        out.print(f"          replayed {result.actual_hash}", highlight=False)
        for difference in result.differences:
            out.print(f"  {difference}", markup=False, highlight=False)
    if not result.matched:
        raise typer.Exit(EXIT_MISMATCH)


class _Catalogs:
    """Catalog versions by need: the store first, then the one at hand."""

    def __init__(self, repository: Repository, at_hand: Catalog) -> None:
        self.repository = repository
        self.cache: dict[str, Catalog] = {at_hand.version: at_hand}

    def get(self, version: str) -> Catalog:
        if version not in self.cache:
            stored = self.repository.load_catalog(version)
            if stored is None:
                raise CatalogVersionError(version, "not in the store")
            self.cache[version] = stored
        return self.cache[version]


def _repository() -> Repository:
    url = database_url()
    try:
        engine = create_engine_for(url)
        with engine.connect():
            pass
    except Exception as exc:
        fail(f"cannot open the decision store {redact(url)}: {type(exc).__name__}")
    return Repository(engine)


def _one(repository: Repository, catalogs: _Catalogs, decision_id: str) -> ReplayResult:
    stored = repository.load_decision(decision_id)
    if stored is None:
        fail(f"no decision {decision_id!r} in {redact(database_url())}")
    return replay(stored.snapshot, catalogs.get(stored.snapshot["inputs"]["catalog_version"]))


def _many(
    repository: Repository, catalogs: _Catalogs, since: datetime, tenant: str | None
) -> dict[str, Any]:
    matched, failed = 0, cast(list[dict[str, Any]], [])
    with Progress(transient=True) as progress:
        task = progress.add_task("replaying", total=None)
        for stored in repository.iter_decisions(tenant=tenant, since=since):
            try:
                version = stored.snapshot["inputs"]["catalog_version"]
                result = replay(stored.snapshot, catalogs.get(version))
            except ModelRouterError as exc:
                failed.append({"decision": stored.id, "error": exc.message})
            else:
                if result.matched:
                    matched += 1
                else:
                    failed.append({"decision": stored.id, "differences": list(result.differences)})
            progress.advance(task)
    total = matched + len(failed)
    return {
        "since": since.isoformat(),
        "tenant": tenant,
        "replayed": total,
        "matched": matched,
        "match_rate": "n/a" if not total else f"{100 * matched / total:.2f}%",
        "failed": failed,
    }


def replay_command(
    target: Annotated[
        str | None,
        typer.Argument(help="A snapshot or plan JSON file, or a stored decision id."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Replay every stored decision from this date.")
    ] = None,
    tenant: Annotated[str | None, typer.Option("--tenant")] = None,
    catalog: Annotated[list[Path] | None, typer.Option("--catalog")] = None,
    bundled: Annotated[bool, typer.Option("--bundled/--no-bundled")] = True,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Exit 0 when every replay reproduces its recorded plan_hash, 1 otherwise."""
    if (target is None) == (since is None):
        fail("give a file or decision id, or --since DATE")
    with handle_errors(json_output):
        at_hand = load_catalog(catalog or [], bundled)
        if target is not None and (Path(target).exists() or not target.startswith("dec_")):
            document = read_structured(Path(target), "snapshot")
            if not isinstance(document, dict):
                fail(f"snapshot {target} must hold a JSON object")
            result = replay(document, at_hand)
        elif target is not None:
            repository = _repository()
            result = _one(repository, _Catalogs(repository, at_hand), target)
        else:
            assert since is not None
            try:
                moment = datetime.fromisoformat(since)
            except ValueError:
                fail(f"--since {since!r} is not an ISO 8601 date or timestamp")
            repository = _repository()
            report = _many(
                repository,
                _Catalogs(repository, at_hand),
                moment if moment.tzinfo else moment.replace(tzinfo=UTC),
                tenant,
            )
            if json_output:
                print(json.dumps(report, indent=2))
            else:
                out.print(
                    f"replayed {report['replayed']} stored decisions since {report['since']}: "
                    f"{report['matched']} matched ({report['match_rate']})",
                    highlight=False,
                )
                for failure in report["failed"][:20]:
                    out.print(f"  {failure}", markup=False, highlight=False)
            if report["failed"]:
                raise typer.Exit(EXIT_MISMATCH)
            return
    _report(result, json_output)
