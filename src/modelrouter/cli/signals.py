"""``modelrouter signals``: what a running service has learned, as a table."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from modelrouter.cli.common import fail, out

__all__ = ["signals_command"]

DEFAULT_URL = "http://127.0.0.1:8080"  # what `modelrouter serve` listens on by default


def _fetch(url: str, key: str | None) -> dict[str, Any]:
    if not key:
        fail("an API key is needed: --key or MODELROUTER_API_KEY (an admin or gateway key)")
    try:
        response = httpx.get(
            f"{url.rstrip('/')}/v1/signals",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        fail(f"cannot reach the service at {url}: {exc}")
    if response.status_code != 200:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        fail(f"the service answered {response.status_code}: {message}")
    body: dict[str, Any] = response.json()
    return body


def _pct(row: dict[str, Any] | None) -> str:
    if not row:
        return "-"
    return " / ".join(row.get(p) or "-" for p in ("p50", "p90", "p99"))


def signals_command(
    url: Annotated[
        str, typer.Option("--url", envvar="MODELROUTER_URL", help="The service's base URL.")
    ] = DEFAULT_URL,
    key: Annotated[
        str | None,
        typer.Option("--key", envvar="MODELROUTER_API_KEY", help="An admin or gateway key."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The raw answer, as JSON.")] = False,
) -> None:
    """Circuits, latency percentiles and rpm/tpm headroom per deployment, as
    the service sees them now (GET /v1/signals)."""
    answer = _fetch(url, key or os.environ.get("MODELROUTER_API_KEY"))
    if as_json:
        out.print_json(json.dumps(answer))
        return
    age = answer.get("view_age_ms")
    stale = " [bold red](stale)[/]" if answer.get("stale") else ""
    title = f"signals from {answer.get('backend')}" + (f", view {age} ms old" if age else "")
    table = Table(title=title + stale)
    for column in (
        "deployment",
        "circuit",
        "reason",
        "reopens at",
        "error rate",
        "ttft ms p50/p90/p99",
        "tok/s p50/p90/p99",
        "samples",
        "requests left",
        "tokens left",
    ):
        table.add_column(column)
    for row in answer.get("deployments", []):
        circuit, latency, room = row["circuit"], row["latency"], row["headroom"]
        state = circuit["state"]
        color = {"open": "red", "half_open": "yellow"}.get(state, "green")
        table.add_row(
            row["deployment"],
            f"[{color}]{state}[/]",
            circuit["reason"] or "",
            circuit["reopens_at"] or "",
            circuit["window"]["error_rate"] or "-",
            _pct(latency["ttft_ms"]),
            _pct(latency["output_tokens_per_s"]),
            latency["samples"] or "0",
            "-" if room["requests_left"] is None else str(room["requests_left"]),
            "-" if room["tokens_left"] is None else str(room["tokens_left"]),
        )
    if not answer.get("deployments"):
        out.print("nothing observed yet: no attempts have been reported")
        return
    out.print(table)
