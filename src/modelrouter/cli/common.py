"""What the commands share: reading files given on the command line, and
turning errors into a clear message and an exit code, never a stack trace."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
import yaml
from rich.console import Console

from modelrouter.catalog.index import Catalog
from modelrouter.errors import (
    BudgetExceeded,
    CatalogVersionError,
    InvalidInputError,
    ModelRouterError,
    NoRouteError,
    UnknownModelError,
)
from modelrouter.policy.document import PolicyDocument, parse_policy

__all__ = [
    "EXIT_INVALID",
    "EXIT_MISMATCH",
    "EXIT_NO_ROUTE",
    "err",
    "fail",
    "handle_errors",
    "load_catalog",
    "load_policy",
    "out",
    "read_structured",
]

EXIT_MISMATCH = 1
EXIT_INVALID = 2
EXIT_NO_ROUTE = 3

# Piped output gets a wide console: tables stay readable in logs and CI.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def read_structured(path: Path, what: str) -> Any:
    """Parse a JSON or YAML file; a bad file is a message naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {what} {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"{what} {path} is not UTF-8 text")
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        fail(f"{what} {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}")


def load_catalog(files: Sequence[Path], bundled: bool = True) -> Catalog:
    layers: list[tuple[str, Any]] = []
    for path in files:
        raw = read_structured(path, "catalog file")
        if not isinstance(raw, dict):
            fail(f"catalog file {path} must hold a mapping at the top level")
        layers.append((str(path), raw))
    if bundled:
        base = Catalog.bundled()
        if not layers:
            return base
        catalog = base
        for source, raw in layers:
            catalog = catalog.layered(source, raw)
        return catalog
    if not layers:
        fail("--no-bundled needs at least one --catalog FILE")
    return Catalog.from_layers(layers)


def load_policy(path: Path | None, what: str) -> PolicyDocument | None:
    if path is None:
        return None
    return parse_policy(read_structured(path, what), source=str(path))


@contextmanager
def handle_errors(json_output: bool = False) -> Iterator[None]:
    """Map the error tree onto exit codes; with --json, also print the error as JSON."""
    try:
        yield
    except ModelRouterError as exc:
        if json_output:
            print(json.dumps({"error": exc.to_dict()}, indent=2, default=str))
        code = EXIT_NO_ROUTE if isinstance(exc, NoRouteError | BudgetExceeded) else EXIT_INVALID
        if isinstance(exc, UnknownModelError | InvalidInputError | CatalogVersionError):
            code = EXIT_INVALID
        err.print(f"[bold red]error[/] ({exc.code}): ", end="", highlight=False)
        err.print(exc.message, markup=False, highlight=False)
        raise typer.Exit(code) from None


def csv_option(value: str | None, parse: Callable[[str], Any] = str) -> list[Any]:
    if not value:
        return []
    return [parse(part.strip()) for part in value.split(",") if part.strip()]
