"""Names to candidate deployments.

A name is tried, in order, as: a policy alias (tenant, then platform), a
catalog alias, a model id (all of its deployments), a deployment id, and
``provider/model`` (that model at that provider only). Each target of an
alias keeps its position, which is the order the ``pinned`` strategy keeps.

Only when all of those fail is the name read as one people already use (a
dated id, an OpenRouter slug, a Bedrock or Vertex id: ``catalog.names``);
the ``Resolved`` then say how (``how``, a note for the plan). A name the
catalog's own names resolve carries no note, so such plans keep their bytes.
An unknown name, or a policy alias target that names nothing in the catalog,
fails with the close names as suggestions.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment
from modelrouter.catalog.names import match_name, suggest
from modelrouter.errors import PolicyError, UnknownModelError
from modelrouter.policy.document import PolicyDocument
from modelrouter.policy.effective import EffectivePolicy
from modelrouter.routing.regions import check_policy_regions

__all__ = ["Resolved", "check_policy_names", "resolve"]


@dataclass(frozen=True, slots=True)
class Resolved:
    deployment: Deployment
    position: int
    via: str
    # How a name the catalog does not hold was read ("resolved: ... → ..."), else None.
    how: str | None = None


def check_policy_names(document: PolicyDocument, catalog: Catalog) -> None:
    """A policy document against the catalog it will route on: every alias
    target names a model, deployment or provider/model, and every region rule
    a known region. The first problem raises ``PolicyError`` naming the field,
    the target and its close names."""
    for alias, targets in document.aliases.items():
        for index, target in enumerate(targets):
            if not catalog.lookup_target(target):
                close = suggest(catalog, target)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise PolicyError(
                    f"alias {alias!r} target {target!r} is not a model, deployment or "
                    f"provider/model in catalog {catalog.version}{hint}",
                    field=f"aliases.{alias}[{index}]",
                )
    check_policy_regions(document, catalog)


def _targets(name: str, catalog: Catalog, policy: EffectivePolicy) -> list[tuple[Deployment, ...]]:
    policy_targets = policy.alias(name)
    if policy_targets is not None:
        groups = []
        for target in policy_targets:
            found = catalog.lookup_target(target)
            if not found:
                raise UnknownModelError(target, suggest(catalog, target))
            groups.append(found)
        return groups
    alias = catalog.aliases.get(name)
    if alias is not None:
        return [catalog.lookup_target(target) for target in alias.targets]
    found = catalog.lookup_target(name)
    return [found] if found else []


def resolve(
    name: str, catalog: Catalog, policy: EffectivePolicy, *, start: int = 0
) -> list[Resolved]:
    groups = _targets(name, catalog, policy)
    how = None
    if not groups:
        match = match_name(catalog, name)
        if match is None:
            raise UnknownModelError(name, suggest(catalog, name))
        groups, how = [match.deployments], match.note
    seen: set[str] = set()
    resolved = []
    for position, group in enumerate(groups, start=start):
        for deployment in group:
            if deployment.id not in seen:
                seen.add(deployment.id)
                resolved.append(Resolved(deployment, position, name, how))
    return resolved
