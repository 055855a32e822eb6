"""``modelrouter replay``: recompute a recorded decision and compare, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from modelrouter.cli.common import (
    EXIT_MISMATCH,
    fail,
    handle_errors,
    load_catalog,
    out,
    read_structured,
)
from modelrouter.snapshot import replay

__all__ = ["replay_command"]


def replay_command(
    snapshot: Annotated[
        Path, typer.Argument(help="A snapshot, or the plan JSON that `route --json` prints.")
    ],
    catalog: Annotated[list[Path] | None, typer.Option("--catalog")] = None,
    bundled: Annotated[bool, typer.Option("--bundled/--no-bundled")] = True,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Exit 0 when the replay reproduces the recorded plan_hash, 1 with the difference."""
    document = read_structured(snapshot, "snapshot")
    if not isinstance(document, dict):
        fail(f"snapshot {snapshot} must hold a JSON object")
    with handle_errors(json_output):
        result = replay(document, load_catalog(catalog or [], bundled))
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
