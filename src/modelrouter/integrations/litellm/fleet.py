"""A LiteLLM ``Router``'s deployments as modelrouter sees them.

Every LiteLLM deployment has a ``model_info.id`` (the config's, or the hash
LiteLLM derives when it states none), and the proxy-config importer keys a
deployment by the ``model_info.id`` its entry states. So the router's own
``model_list``, imported, gives deployments whose key *is* LiteLLM's id, and
the mapping back is read from the imported document: our deployment
``{key}/{model}`` is LiteLLM's deployment ``key``. A catalog made elsewhere
(the service's, a ``Router`` handed in) maps the same way when its config
states each entry's ``model_info.id``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.sources.litellm import import_litellm_config

__all__ = ["Fleet", "fleet_of", "import_fleet", "litellm_id"]

SOURCE = "litellm-router"


def litellm_id(entry: Mapping[str, Any]) -> str | None:
    """The ``model_info.id`` of a LiteLLM ``model_list`` entry."""
    info = entry.get("model_info")
    found = info.get("id") if isinstance(info, Mapping) else None
    return found if isinstance(found, str) and found else None


@dataclass(frozen=True, slots=True)
class Fleet:
    """Which LiteLLM deployment each of our deployments is."""

    # our deployment id -> LiteLLM's model_info.id
    litellm_ids: Mapping[str, str]
    # The model groups with at least one deployment we know; None: every group
    # is routed (the catalog is the service's, not known here).
    groups: frozenset[str] | None
    catalog: Catalog | None = None
    warnings: tuple[str, ...] = ()

    def routes(self, group: str) -> bool:
        return self.groups is None or group in self.groups

    def litellm_id_of(self, deployment: str, present: Mapping[str, Any]) -> str | None:
        """LiteLLM's id of our ``deployment``, if it is one of ``present`` (the
        router's deployments by id); without a catalog, by its key."""
        if self.groups is None:
            found: str | None = deployment.split("/", 1)[0]
        else:
            found = self.litellm_ids.get(deployment)
        return found if found is not None and found in present else None


def _groups(model_list: Sequence[Mapping[str, Any]], known: set[str]) -> frozenset[str]:
    return frozenset(
        str(entry["model_name"])
        for entry in model_list
        if litellm_id(entry) in known and isinstance(entry.get("model_name"), str)
    )


def import_fleet(
    model_list: Sequence[Mapping[str, Any]],
    base: Catalog,
    *,
    model_group_alias: Mapping[str, Any] | None = None,
) -> Fleet:
    """The catalog of a LiteLLM router's ``model_list`` (entries LiteLLM gave
    ids), filled in from ``base`` where an entry is silent, and the mapping
    back read from the imported document."""
    entries = [
        {key: entry[key] for key in ("model_name", "litellm_params", "model_info") if key in entry}
        for entry in model_list
    ]
    raw: dict[str, Any] = {"model_list": entries}
    if model_group_alias:
        raw["router_settings"] = {"model_group_alias": dict(model_group_alias)}
    result = import_litellm_config(raw, base, source=SOURCE)
    catalog = Catalog.from_layers([(SOURCE, result.document)])
    ids = {found for entry in entries if (found := litellm_id(entry)) is not None}
    mapped: dict[str, str] = {}
    for model_id, model in result.document.get("models", {}).items():
        for key in model.get("deployments", {}):
            deployment = f"{key}/{model_id}"
            if key in ids and deployment in catalog.deployments:
                mapped[deployment] = key
    return Fleet(
        litellm_ids=mapped,
        groups=_groups(entries, set(mapped.values())),
        catalog=catalog,
        warnings=tuple(result.warnings),
    )


def fleet_of(model_list: Sequence[Mapping[str, Any]], catalog: Catalog | None) -> Fleet:
    """The mapping onto a catalog made elsewhere: a deployment whose key (the
    part of its id before the first ``/``) is a LiteLLM ``model_info.id``.
    Without a catalog (the service's), every group is routed."""
    ids = {found for entry in model_list if (found := litellm_id(entry)) is not None}
    if catalog is None:
        return Fleet(litellm_ids={}, groups=None)
    mapped = {
        deployment: key
        for deployment in catalog.deployments
        if (key := deployment.split("/", 1)[0]) in ids
    }
    return Fleet(litellm_ids=mapped, groups=_groups(model_list, set(mapped.values())))
