"""The core imports nothing from the outer ring (service, store, signals
backends, telemetry, events, cli); the outer ring depends on the core, never the reverse."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "modelrouter"
OUTER = (
    "modelrouter.cli",
    "modelrouter.service",
    "modelrouter.store",
    "modelrouter.observability.metrics",
    "modelrouter.observability.events",
    "modelrouter.signals",
)
# Modules that do I/O must not sit in the core either.
IO_MODULES = (
    "socket",
    "sqlalchemy",
    "redis",
    "httpx",
    "requests",
    "fastapi",
    "psycopg",
    "nats",
    "uvicorn",
    "prometheus_client",
    "opentelemetry",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _core_files() -> list[Path]:
    outer_dirs = {"cli", "service", "store", "signals"}
    return [
        path
        for path in PACKAGE.rglob("*.py")
        if not (set(path.relative_to(PACKAGE).parts[:-1]) & outer_dirs)
        and path.name not in {"telemetry.py", "events.py", "__main__.py"}
    ]


def test_core_never_imports_the_outer_ring() -> None:
    assert len(_core_files()) > 10
    for path in _core_files():
        for module in _imports(path):
            assert not module.startswith(OUTER), f"{path.name} imports {module}"
            assert module.split(".")[0] not in IO_MODULES, f"{path.name} imports {module}"
