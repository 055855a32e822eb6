"""The layers hold: the core imports nothing from the outer ring and does no
I/O, and the check catches every kind of violation it claims to (planted in a
copy of the tree)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.architecture import modules, violations

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "modelrouter"


def test_the_tree_keeps_its_layers() -> None:
    layers = {module.layer for module in modules(PACKAGE)}
    assert {"core", "facade", "signals", "observability", "store", "service", "cli"} <= layers
    assert violations(PACKAGE) == []


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the tree, checked clean once (the check takes a second or two)."""
    copy = tmp_path_factory.mktemp("pristine") / "modelrouter"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert violations(copy) == []
    return copy


@pytest.fixture
def tree(pristine: Path, tmp_path: Path) -> Path:
    """A test's own copy of the checked clean copy: the same files, so clean too."""
    copy = tmp_path / "modelrouter"
    shutil.copytree(pristine, copy)
    return copy


def _plant(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else '"""planted"""\n'
    path.write_text(text + "\n" + line + "\n", encoding="utf-8")


PLANTS = {
    "relative import of the store": ("routing/planner.py", "from .. import store"),
    "relative import from a top-level core module": ("types.py", "from . import store"),
    "relative import of a sibling outer module": (
        "policy/budgets.py",
        "from ..signals import budgets",
    ),
    "absolute import of a sink": (
        "routing/planner.py",
        "from modelrouter.observability.sinks.nats import NatsSink",
    ),
    "importlib.import_module": (
        "pricing/cost.py",
        "import importlib\nimportlib.import_module('modelrouter.store')",
    ),
    "__import__": ("catalog/index.py", "__import__('modelrouter.service.app')"),
    "dynamic import": ("routing/planner.py", "import importlib\nimportlib.import_module(NAME)"),
    "threading": ("routing/planner.py", "import threading"),
    "asyncio": ("routing/strategies.py", "import asyncio"),
    "subprocess": ("request/tokens.py", "import subprocess"),
    "socket": ("money.py", "import socket"),
    "urllib": ("routing/planner.py", "import urllib.request"),
    "a server client": ("policy/effective.py", "import redis"),
    "sqlalchemy in a new core file named like an outer one": (
        "catalog/events.py",
        "from sqlalchemy import select",
    ),
    "open()": ("pricing/usage.py", "open('prices.json')"),
    "Path.read_text()": ("catalog/build.py", "from pathlib import Path\nPath('x').read_text()"),
    "package data read outside the loader": (
        "routing/bundled.py",
        "from importlib import resources",
    ),
    "the facade importing the store": ("router.py", "from modelrouter.store import database"),
    "signals importing the service": ("signals/learner.py", "from modelrouter.service import app"),
    "a module outside every layer": ("helpers.py", "X = 1"),
}


@pytest.mark.parametrize("kind", sorted(PLANTS))
def test_the_check_catches(tree: Path, kind: str) -> None:
    relative, line = PLANTS[kind]
    _plant(tree / relative, line)
    found = violations(tree)
    assert found, f"{kind} in {relative} went unnoticed"
    assert all(v.startswith(relative) for v in found), found
