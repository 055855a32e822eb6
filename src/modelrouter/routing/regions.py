"""Region names checked against the ones the catalog knows.

A request's ``regions`` (and a policy's region rules) are globs matched
against the regions deployments serve. A name that matches no region the
catalog knows (``europe``, ``eu-west-1`` where the catalog says ``eu``) would
reject every candidate with ``region_not_allowed``; it is answered instead
as what it is, an unknown region, with the known ones listed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from modelrouter.catalog.index import Catalog
from modelrouter.errors import InvalidInputError, PolicyError
from modelrouter.policy.document import PolicyDocument, matches_any

__all__ = ["check_policy_regions", "check_regions", "known_regions", "unknown_region"]

_GLOB = frozenset("*?[")


def _known(catalog: Catalog) -> tuple[str, ...]:
    found = {r for p in catalog.providers.values() for r in p.regions}
    found.update(r for d in catalog.deployments.values() for r in d.regions)
    return tuple(sorted(found, key=str.lower))


def known_regions(catalog: Catalog) -> tuple[str, ...]:
    """Every region a provider or deployment of the catalog names (built once per catalog)."""
    return catalog.derived("regions", _known)


def unknown_region(pattern: str, known: Sequence[str]) -> str | None:
    """Why ``pattern`` names no known region, or None when it names one."""
    if any(matches_any(region, (pattern,)) for region in known):
        return None
    listed = ", ".join(known) or "none"
    lowered = pattern.lower()
    close = [r for r in known if lowered.startswith(r.lower())]
    close += difflib.get_close_matches(lowered, [r.lower() for r in known], n=2, cutoff=0.6)
    hint = f"; did you mean {', '.join(dict.fromkeys(close))}?" if close else ""
    what = "region pattern" if _GLOB & set(pattern) else "region"
    return f"unknown {what} {pattern!r}; known: {listed}{hint}"


def check_regions(
    regions: Iterable[str] | None, catalog: Catalog, *, field: str = "regions"
) -> None:
    """Raise ``InvalidInputError`` for the first region that matches none the catalog knows."""
    if not regions:
        return
    known = known_regions(catalog)
    for index, pattern in enumerate(regions):
        problem = unknown_region(pattern, known)
        if problem is not None:
            raise InvalidInputError(problem, field=f"{field}[{index}]")


def check_policy_regions(document: PolicyDocument, catalog: Catalog) -> None:
    """A policy's region rules against the catalog: every allowed pattern and
    every literal denied region must name a known region (``PolicyError``
    names the field). A denying glob may name regions yet to come."""
    known = known_regions(catalog)
    rule = document.regions
    checked = [("allow", i, p) for i, p in enumerate(rule.allow or ())]
    checked += [("deny", i, p) for i, p in enumerate(rule.deny) if not _GLOB & set(p)]
    for part, index, pattern in checked:
        problem = unknown_region(pattern, known)
        if problem is not None:
            raise PolicyError(problem, field=f"regions.{part}[{index}]")
