"""Names to candidate deployments.

A name is tried, in order, as: a policy alias (tenant, then platform), a
catalog alias, a model id (all of its deployments), a deployment id, and
``provider/model`` (that model at that provider only). Each target of an
alias keeps its position, which is the order the ``pinned`` strategy keeps.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment
from modelrouter.errors import UnknownModelError
from modelrouter.policy.effective import EffectivePolicy

__all__ = ["Resolved", "resolve"]


@dataclass(frozen=True, slots=True)
class Resolved:
    deployment: Deployment
    position: int
    via: str


def _targets(name: str, catalog: Catalog, policy: EffectivePolicy) -> list[tuple[Deployment, ...]]:
    policy_targets = policy.alias(name)
    if policy_targets is not None:
        groups = []
        for target in policy_targets:
            found = catalog.lookup_target(target)
            if not found:
                raise UnknownModelError(target)
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
    if not groups:
        close = difflib.get_close_matches(name, catalog.names(), n=3, cutoff=0.75)
        raise UnknownModelError(name, close)
    seen: set[str] = set()
    resolved = []
    for position, group in enumerate(groups, start=start):
        for deployment in group:
            if deployment.id not in seen:
                seen.add(deployment.id)
                resolved.append(Resolved(deployment, position, name))
    return resolved
