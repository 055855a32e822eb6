"""What a starting worker puts in force: the newest stored catalog and
platform policy, unless the files it was started with changed since the last
start, in which case they become the newest.

The start catalog is the bundled one with the ``--catalog`` files layered
over it in order. It is published (origin ``start``) when it differs from
the one the last start published, so a restart with the same files comes
back on whatever was put in force since (an import, a runtime report, a
price refresh), and a restart with changed files puts them in force.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from modelrouter.catalog.index import Catalog
from modelrouter.errors import ModelRouterError
from modelrouter.policy.document import PolicyDocument, parse_policy
from modelrouter.store.config_log import ConfigLog
from modelrouter.store.repository import Repository

__all__ = ["StartupError", "catalog_in_force", "platform_policy_from", "start_catalog"]


class StartupError(Exception):
    """A file the service was started with cannot be used: the message says why."""


def _read(path: Path, what: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StartupError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise StartupError(f"{what} {path} is not valid YAML or JSON: {exc}") from None


def start_catalog(files: list[Path], base: Catalog | None = None) -> tuple[Catalog, str]:
    """The bundled catalog (or ``base``) with ``files`` layered over it, and where it came from."""
    catalog = base or Catalog.bundled()
    sources = ["bundled" if base is None else "given"]
    for path in files:
        raw = _read(path, "catalog file")
        try:
            catalog = catalog.layered(f"file {path}", raw)
        except ModelRouterError as exc:
            raise StartupError(f"catalog file {path}: {exc}") from None
        sources.append(f"file {path}")
    return catalog, " + ".join(sources)


def platform_policy_from(path: Path) -> PolicyDocument:
    try:
        return parse_policy(_read(path, "platform policy file"), source=f"platform policy {path}")
    except ModelRouterError as exc:
        raise StartupError(str(exc)) from None


def catalog_in_force(
    repository: Repository, log: ConfigLog, start: Catalog, source: str
) -> tuple[Catalog, int]:
    """The catalog to route with, and its change's sequence number in the log."""
    head = log.head("catalog")
    last_start = log.head("catalog", origin="start")
    repository.save_catalog(start)  # stored once; a no-op when it is
    if head is None or last_start is None or last_start.version != start.version:
        seq = log.publish("catalog", start.version, origin="start", source=source, author="serve")
        return start, seq
    if head.version == start.version:
        return start, head.seq
    stored = repository.load_catalog(head.version)
    return (start, last_start.seq) if stored is None else (stored, head.seq)


def platform_policy_in_force(repository: Repository, log: ConfigLog, path: Path | None) -> None:
    """Store the policy file as the platform policy when it changed since the last start."""
    if path is None:
        return
    policy = platform_policy_from(path)
    last_start = log.head("platform_policy", origin="start")
    if last_start is not None and last_start.version == policy.version:
        return
    repository.put_platform_policy(policy)
    log.publish(
        "platform_policy", policy.version, origin="start", source=f"file {path}", author="serve"
    )
