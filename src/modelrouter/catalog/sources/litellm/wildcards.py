"""Wildcard entries: ``model: openai/*`` routes any name to that provider,
``model: "*"`` to any provider. The import expands one into the base catalog's
deployments it can reach, one per model at each provider, bound to the
entry's endpoint (its credential reference, api_base and api_version). Then
``openai/gpt-4o`` resolves as any ``provider/model`` does, and a group whose
prefix is not our provider id (``gemini/*``, ``byok/*``) gets one alias per
model (``gemini/gemini-2.0-flash``)."""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from modelrouter.catalog.sources.litellm.base import _copy_from_base

if TYPE_CHECKING:
    from modelrouter.catalog.index import Catalog
    from modelrouter.catalog.model import Deployment

__all__ = ["alias_prefix", "expand", "is_wildcard"]


def is_wildcard(name: str) -> bool:
    return "*" in name


def _reachable(base: Catalog, provider: str | None, pattern: str) -> list[Deployment]:
    """One base deployment per (provider, model) matching: the ``provider/model`` one
    where there are several."""
    chosen: dict[tuple[str, str], Deployment] = {}
    for deployment_id in sorted(base.deployments):
        found = base.deployments[deployment_id]
        if provider is not None and found.provider != provider:
            continue
        if not fnmatchcase(found.model, pattern.lower()):
            continue
        key = (found.provider, found.model)
        if key not in chosen or found.id == f"{found.provider}/{found.model}":
            chosen[key] = found
    return [chosen[key] for key in sorted(chosen)]


def expand(
    base: Catalog,
    provider: str | None,
    pattern: str,
    stated: Mapping[str, Any],
    endpoint: Mapping[str, Any],
) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(model id, model fields, deployment) for every base deployment the
    wildcard reaches. ``stated``: the entry's own deployment fields (regions,
    weight, rpm...); ``endpoint``: its endpoint fields, laid over the base's."""
    placed: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for found in _reachable(base, provider, pattern):
        model, copied, capabilities = _copy_from_base(base, found, True)
        deployment: dict[str, Any] = {"provider": found.provider, **copied}
        if capabilities:
            deployment["capabilities"] = capabilities
        deployment.update(stated)
        bound = found.endpoint.to_dict() if found.endpoint is not None else {}
        bound.setdefault("upstream_model", found.model)
        bound.update(endpoint)
        deployment["endpoint"] = bound
        placed.append((found.model, model, deployment))
    return placed


def alias_prefix(group: str, providers: set[str]) -> str | None:
    """The prefix of the per-model aliases a wildcard group needs; None when
    its names already resolve (``*``, or ``openai/*`` at our provider openai)."""
    if group.count("*") != 1 or not group.endswith("*"):
        return None
    prefix = group[:-1]
    if not prefix or (len(providers) == 1 and prefix == f"{next(iter(providers))}/"):
        return None
    return prefix
