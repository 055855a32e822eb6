"""``modelrouter db``: bring the database up to date."""

from __future__ import annotations

import typer

from modelrouter.cli.common import fail, out
from modelrouter.store.database import create_engine_for, database_url, redact, upgrade

__all__ = ["app"]

app = typer.Typer(help="The decision store (MODELROUTER_DATABASE_URL).", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command() -> None:
    """Apply every pending migration; safe to run again."""
    url = database_url()
    engine = create_engine_for(url)
    try:
        upgrade(engine)
    except Exception as exc:
        fail(f"cannot migrate {redact(url)}: {type(exc).__name__}: {exc}")
    finally:
        engine.dispose()
    out.print(f"database {redact(url)} is up to date", highlight=False)
