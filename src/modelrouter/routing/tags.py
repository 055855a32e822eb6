"""Request tags, with LiteLLM's ``default`` tag semantics.

A request's ``tags`` keep the candidates that carry all of them. When none
does, the deployments tagged ``default`` serve instead; when none is tagged
``default`` either, every candidate falls with ``tag_mismatch``. A request
without tags prefers the ``default``-tagged deployments: they come first,
the others after them. Policies' tag rules are checked with the other lists
(``constraints``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from modelrouter.catalog.model import Deployment
from modelrouter.types import Rejection
from modelrouter.types import RejectionCode as Code

__all__ = ["DEFAULT_TAG", "TagSelection", "prefer_default", "select_by_tags"]

DEFAULT_TAG = "default"


@dataclass(frozen=True, slots=True)
class TagSelection:
    kept: tuple[int, ...]  # positions of the candidates that stay
    rejected: tuple[Rejection, ...]
    note: str | None = None


def _shown(tags: Sequence[str]) -> str:
    return "[" + ", ".join(tags) + "]"


def select_by_tags(
    deployments: Sequence[Deployment], tags: Sequence[str], *, via: str
) -> TagSelection:
    """Which of one name's candidates a tagged request may use."""
    if not tags:
        return TagSelection(tuple(range(len(deployments))), ())
    wanted = set(tags)
    matching = tuple(i for i, d in enumerate(deployments) if wanted <= set(d.tags))
    note = None
    if matching:
        kept = matching
    else:
        kept = tuple(i for i, d in enumerate(deployments) if DEFAULT_TAG in d.tags)
        if kept:
            note = (
                f"no deployment of {via} carries all of the tags {_shown(tags)}: "
                f"the {len(kept)} tagged {DEFAULT_TAG!r} serve"
            )
    chosen = set(kept)
    rejected = tuple(
        Rejection(
            deployment=d.id,
            code=Code.TAG_MISMATCH,
            message=(
                f"carries tags {_shown(d.tags)}, the request asks for {_shown(tags)}"
                if d.tags
                else f"carries no tags, the request asks for {_shown(tags)}"
            ),
            need=", ".join(tags),
            have=", ".join(d.tags) or None,
            via=via,
            rule="request",
        )
        for i, d in enumerate(deployments)
        if i not in chosen
    )
    return TagSelection(kept, rejected, note)


class _HasDeployment(Protocol):
    @property
    def deployment(self) -> Deployment: ...


S = TypeVar("S", bound=_HasDeployment)


def prefer_default(ordered: Sequence[S]) -> list[S]:
    """An untagged request's order: ``default``-tagged candidates first, each
    part in the strategy's order."""
    first = [s for s in ordered if DEFAULT_TAG in s.deployment.tags]
    if not first or len(first) == len(ordered):
        return list(ordered)
    return first + [s for s in ordered if DEFAULT_TAG not in s.deployment.tags]
