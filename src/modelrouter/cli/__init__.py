"""The ``modelrouter`` command line (Typer and Rich), installed with the
``service`` extra: ``pip install 'modelrouter[service]'``.

``main`` is the console script. Without the extra it says what to install
instead of failing with a traceback; the app itself is ``cli.app``.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

# Packages of the ``service`` extra that the command line imports.
EXTRA_PACKAGES = frozenset(
    {"typer", "rich", "click", "sqlalchemy", "alembic", "psycopg", "fastapi", "uvicorn"}
    | {"prometheus_client", "opentelemetry", "nats"}
)


def main() -> None:
    try:
        from modelrouter.cli.app import app
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in EXTRA_PACKAGES:
            raise
        sys.stderr.write(
            f"modelrouter: the command line needs the 'service' extra ({missing} is not "
            "installed):\n    pip install 'modelrouter[service]'\n"
        )
        raise SystemExit(2) from None
    app()
