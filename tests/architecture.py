"""The layer check behind ``test_architecture.py``, kept apart so the tests can
run it on a copy of the tree with violations planted in it.

Every module is classified by the folder it sits in, never by its file name:

    core     modelrouter/{errors,money,types,encoding,bounds,frozen}.py and the packages
             catalog/, routing/, pricing/, policy/, request/, feedback/
    facade   modelrouter/{__init__,router}.py: the library's front door
    (``modelrouter/__main__.py`` starts the CLI and counts as cli/)
    outer    signals/, observability/, store/, service/, cli/, client/, integrations/

The core imports only the core, the standard library less what does I/O or
concurrency, and the few third-party packages it is built on; it never calls
``open()`` or reads files, except the one documented loader of bundled data.
The facade may add the in-process signals. The outer ring depends on the
core, never the reverse; within it, each folder may import only the folders
listed before it in ``OUTER_ORDER``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "modelrouter"

CORE_MODULES = frozenset({"errors", "money", "types", "encoding", "bounds", "frozen"})
CORE_PACKAGES = frozenset({"catalog", "routing", "pricing", "policy", "request", "feedback"})
FACADE_MODULES = frozenset({"__init__", "router"})
# ``python -m modelrouter`` starts the CLI: it belongs to the CLI's layer.
ENTRY_MODULES = {"__main__": "cli"}
# Each outer folder may import the core, the facade's in-process parts and the
# folders before it.
OUTER_ORDER = ("signals", "observability", "store", "service", "client", "integrations", "cli")

# Third-party packages the core is built on; anything else (a server client, a
# web framework, an HTTP library) belongs to the outer ring. orjson is an
# encoder with no I/O: the canonical JSON of plan hashes (encoding.py).
CORE_THIRD_PARTY = frozenset(
    {"pydantic", "pydantic_core", "yaml", "genai_prices", "typing_extensions", "orjson"}
)
# Standard-library modules that do I/O, run concurrently or reach other processes.
BANNED_STDLIB = frozenset(
    {
        "asyncio",
        "concurrent",
        "ftplib",
        "http",
        "multiprocessing",
        "os",
        "selectors",
        "shutil",
        "signal",
        "smtplib",
        "socket",
        "socketserver",
        "sqlite3",
        "ssl",
        "subprocess",
        "tempfile",
        "threading",
        "urllib",
        "xmlrpc",
    }
)
FILE_CALLS = frozenset({"open", "read_text", "read_bytes", "write_text", "write_bytes"})
# The one documented loader of bundled data, by path (not by file name).
DATA_LOADERS = frozenset({("catalog", "bundled.py")})


@dataclass(frozen=True)
class Module:
    path: Path
    parts: tuple[str, ...]  # path below modelrouter/, e.g. ("routing", "planner.py")

    @property
    def name(self) -> str:
        stem = [*self.parts[:-1], self.parts[-1].removesuffix(".py")]
        if stem[-1] == "__init__":
            stem = stem[:-1]
        return ".".join([PACKAGE, *stem])

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return ".".join([PACKAGE, *self.parts[:-1]])

    @property
    def layer(self) -> str:
        top = self.parts[0]
        if len(self.parts) == 1:
            stem = top.removesuffix(".py")
            if stem in CORE_MODULES:
                return "core"
            if stem in FACADE_MODULES:
                return "facade"
            return ENTRY_MODULES.get(stem, "unclassified")
        if top in CORE_PACKAGES:
            return "core"
        if top in OUTER_ORDER:
            return top
        return "unclassified"


def modules(root: Path) -> list[Module]:
    """Every module below ``root`` (the ``modelrouter`` package folder)."""
    return [
        Module(path, path.relative_to(root).parts)
        for path in sorted(root.rglob("*.py"))
        if "migrations" not in path.relative_to(root).parts
    ]


def _resolve(module: Module, level: int, name: str | None) -> str:
    base = module.package.split(".")
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([name] if name else [])])


def imported(module: Module) -> list[tuple[int, str]]:
    """(line, module name) of every import: absolute, relative (resolved),
    and ``importlib.import_module`` / ``__import__`` calls with a literal name."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node.level, node.module) if node.level else node.module or ""
            found.append((node.lineno, target))
            # ``from modelrouter import store`` imports the module modelrouter.store.
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call):
            func = node.func
            called = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            if called in {"import_module", "__import__"} and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    name = first.value
                    if name.startswith("."):
                        level = len(name) - len(name.lstrip("."))
                        name = _resolve(module, level, name.lstrip(".") or None)
                    found.append((node.lineno, name))
                else:
                    found.append((node.lineno, "<dynamic import>"))
    return found


def file_calls(module: Module) -> list[tuple[int, str]]:
    tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FILE_CALLS:
                out.append((node.lineno, func.id))
            elif isinstance(func, ast.Attribute) and func.attr in FILE_CALLS:
                out.append((node.lineno, func.attr))
    return out


def _internal_layer(name: str) -> str | None:
    """The layer of an imported ``modelrouter`` module, or None for an outside one."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    if len(parts) == 1:
        return "facade"
    top = parts[1]
    if top in CORE_MODULES or top in CORE_PACKAGES:
        return "core"
    if top in FACADE_MODULES:
        return "facade"
    if top in OUTER_ORDER:
        return top
    # A name imported from a core module (``from modelrouter.types import X``).
    return "unclassified"


def _may_import(layer: str, target: str) -> bool:
    if layer == "core":
        return target == "core"
    if layer == "facade":
        return target in {"core", "facade", "signals"}
    order = OUTER_ORDER.index(layer)
    return target in {"core", "facade"} or (
        target in OUTER_ORDER and OUTER_ORDER.index(target) <= order
    )


def violations(root: Path) -> list[str]:
    """Every broken rule under ``root``, as ``path:line: what``."""
    out: list[str] = []
    for module in modules(root):
        where = "/".join(module.parts)
        layer = module.layer
        if layer == "unclassified":
            out.append(f"{where}: not in any layer; put it in a layer's folder")
            continue
        pure = layer in {"core", "facade"}
        for line, name in imported(module):
            if name == "<dynamic import>":
                if pure:
                    out.append(f"{where}:{line}: imports a module named at run time")
                continue
            target = _internal_layer(name)
            if target is None:
                top = name.split(".")[0]
                if not pure or not top or top == "__future__":
                    continue
                if top in BANNED_STDLIB:
                    out.append(f"{where}:{line}: {layer} imports {name} (I/O or concurrency)")
                elif name.startswith("importlib.resources") and module.parts not in DATA_LOADERS:
                    out.append(f"{where}:{line}: reads package data outside the loader")
                elif not _stdlib(top) and top not in CORE_THIRD_PARTY:
                    out.append(f"{where}:{line}: {layer} imports third-party {name}")
                continue
            if target == "unclassified":
                # A name imported from the package itself (``from modelrouter import X``).
                target = "facade"
            if not _may_import(layer, target):
                out.append(f"{where}:{line}: {layer} imports {name} ({target})")
        if pure and module.parts not in DATA_LOADERS:
            out += [f"{where}:{line}: {layer} calls {call}()" for line, call in file_calls(module)]
    return out


def _stdlib(top: str) -> bool:
    import sys

    return top in sys.stdlib_module_names
