"""``modelrouter keys create``: a new API key, printed once."""

from __future__ import annotations

from typing import Annotated

import typer

from modelrouter.cli.common import fail, handle_errors, out
from modelrouter.store.database import create_engine_for, database_url, redact, upgrade
from modelrouter.store.keys import KeyStore

__all__ = ["app"]

app = typer.Typer(help="API keys for the HTTP service.", no_args_is_help=True)


@app.command("create")
def create_command(
    role: Annotated[str, typer.Option("--role", help="admin, gateway or tenant.")],
    tenant: Annotated[str | None, typer.Option("--tenant", help="For a tenant key.")] = None,
) -> None:
    """Create a key and print it; only its hash is stored, so keep it now."""
    url = database_url()
    engine = create_engine_for(url)
    try:
        upgrade(engine)
        with handle_errors():
            key = KeyStore(engine).create(role, tenant)
    except typer.Exit:
        raise
    except Exception as exc:  # a driver error becomes one clear line
        fail(f"cannot create a key in {redact(url)}: {type(exc).__name__}: {exc}")
    finally:
        engine.dispose()
    out.print(key, highlight=False)
