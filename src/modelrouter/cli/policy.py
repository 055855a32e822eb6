"""``modelrouter policy check``: the effective policy, and what the platform overruled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from modelrouter.cli.common import handle_errors, load_policy, out
from modelrouter.encoding import to_jsonable
from modelrouter.policy.document import PolicyDocument
from modelrouter.policy.effective import PolicyStack
from modelrouter.policy.explain import explain_overrides

__all__ = ["app"]

app = typer.Typer(help="Check platform policies and tenant overlays.", no_args_is_help=True)


@app.command("check")
def check_command(
    platform: Annotated[Path, typer.Argument(help="The platform policy (YAML or JSON).")],
    tenant: Annotated[Path | None, typer.Argument(help="A tenant overlay.")] = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Validate both documents, print the effective policy (their meet) and, for
    each tenant setting the platform overrode, what happened and why."""
    with handle_errors(json_output):
        platform_doc = load_policy(platform, "platform policy") or PolicyDocument()
        tenant_doc = load_policy(tenant, "tenant policy")
    stack = PolicyStack(platform_doc, tenant_doc)
    overrides = [] if tenant_doc is None else explain_overrides(platform_doc, tenant_doc)
    effective = to_jsonable(stack.effective.to_dict())
    if json_output:
        print(
            json.dumps(
                {
                    "platform_version": platform_doc.version,
                    "tenant_version": None if tenant_doc is None else tenant_doc.version,
                    "version": stack.version,
                    "effective": effective,
                    "overrides": [override.to_dict() for override in overrides],
                },
                indent=2,
            )
        )
        return
    out.print(
        f"policy {stack.version} (platform {platform_doc.version}"
        + (f", tenant {tenant_doc.version})" if tenant_doc else ")"),
        highlight=False,
    )
    out.print(yaml.safe_dump(effective, sort_keys=False).rstrip(), markup=False, highlight=False)
    if tenant_doc is None:
        return
    if not overrides:
        out.print("every tenant setting takes effect as written")
        return
    table = Table(title="Tenant settings the platform overrode", title_justify="left")
    for column in ("field", "tenant asked", "effective", "why"):
        table.add_column(column)
    for override in overrides:
        table.add_row(
            override.field,
            escape(str(override.tenant)),
            escape("(removed)" if override.effective is None else str(override.effective)),
            escape(override.reason),
        )
    out.print(table)
