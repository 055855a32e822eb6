"""The ``modelrouter`` command: one Typer app, a module per command group."""

from __future__ import annotations

import typer

from modelrouter.cli.catalog import app as catalog_app
from modelrouter.cli.config import app as config_app
from modelrouter.cli.cost import cost_command
from modelrouter.cli.db import app as db_app
from modelrouter.cli.keys import app as keys_app
from modelrouter.cli.policy import app as policy_app
from modelrouter.cli.replay import replay_command
from modelrouter.cli.route import route_command
from modelrouter.cli.serve import serve_command
from modelrouter.cli.signals import signals_command

__all__ = ["app"]

app = typer.Typer(
    name="modelrouter",
    help="Route LLM requests: pick the provider and model, the fallbacks, and the cost.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("route")(route_command)
app.command("replay")(replay_command)
app.command("cost")(cost_command)
app.add_typer(catalog_app, name="catalog")
app.add_typer(policy_app, name="policy")
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(keys_app, name="keys")
app.command("serve")(serve_command)
app.command("signals")(signals_command)
