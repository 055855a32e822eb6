"""The inference runtime's capability feed: a report of what each deployment
can do now (``PUT /v1/runtime/deployments``), turned into a new catalog.

A deployment the report names is updated field by field (context window, max
output, capabilities, regions), or created when it is a new ``provider/model``
of a known provider and model (it has no price until a source gives one).
``available: false`` removes it. Layers merge and never delete, so a removal
is not a layer: ``apply_report`` deletes the deployment from the catalog's
content, drops the alias targets that named only what was deleted (an alias
left with no target is dropped), and builds a normal catalog from that
content, versioned by its hash. ``runtime_layer`` is the layer of a report
without removals.

A report that would leave an alias without deployments, or remove the last
deployment of a model an alias names, is refused unless it says ``force``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from modelrouter.bounds import Count
from modelrouter.catalog.build import validate_layer
from modelrouter.catalog.changes import Problem, check_change
from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Feature
from modelrouter.catalog.schema import Name
from modelrouter.errors import CatalogError, invalid_input_from

__all__ = [
    "SOURCE",
    "RuntimeDeployment",
    "RuntimeReport",
    "apply_report",
    "parse_report",
    "runtime_layer",
]

# The layer's name in the catalog's sources.
SOURCE = "runtime"

StrictBool = Annotated[bool, Strict()]
Tokens = Annotated[Count, Field(gt=0, le=10**9)]


class RuntimeDeployment(BaseModel):
    """What the runtime knows of one deployment; a field left out is unchanged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Name  # an existing deployment id, or a new "provider/model"
    available: StrictBool = True  # False: gone, removed from routing
    context_window: Tokens | None = None
    max_output_tokens: Tokens | None = None
    capabilities: dict[Feature, StrictBool] | None = None
    regions: list[Name] | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _gone_says_nothing_else(self) -> RuntimeDeployment:
        if not self.available:
            stated = sorted(self.model_fields_set - {"id", "available"})
            if stated:
                raise ValueError(
                    f"a deployment reported unavailable takes no other fields; got {stated}"
                )
        return self


class RuntimeReport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    deployments: list[RuntimeDeployment] = Field(min_length=1, max_length=1000)
    force: StrictBool = False  # apply even if it empties an alias

    @field_validator("deployments")
    @classmethod
    def _once_each(cls, deployments: list[RuntimeDeployment]) -> list[RuntimeDeployment]:
        first: dict[str, int] = {}
        for index, item in enumerate(deployments):
            if item.id in first:
                raise ValueError(
                    f"deployment {item.id!r} is listed twice, at [{first[item.id]}] and [{index}]"
                )
            first[item.id] = index
        return deployments


def parse_report(raw: object) -> RuntimeReport:
    """Validate a report from outside; errors name the field."""
    if isinstance(raw, RuntimeReport):
        return raw
    try:
        return RuntimeReport.model_validate(raw)
    except ValidationError as exc:
        raise invalid_input_from(exc, source="runtime report") from None


# -- placing the report in the catalog ------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Change:
    item: RuntimeDeployment
    model: str
    key: str  # the deployment's key under the model


def _placements(current: Catalog) -> dict[str, tuple[str, str]]:
    """Deployment id -> (model id, deployment key), as the catalog builds ids."""
    found: dict[str, tuple[str, str]] = {}
    for model_id, model in current.document.models.items():
        for key in model.deployments:
            found.setdefault(f"{key}/{model_id}", (model_id, key))
    return found


def _new_place(current: Catalog, index: int, deployment_id: str) -> tuple[str, str]:
    """(model, provider) of a new ``provider/model`` deployment, or CatalogError."""
    field = f"deployments[{index}].id"
    parts = deployment_id.split("/")
    splits = [("/".join(parts[:cut]), "/".join(parts[cut:])) for cut in range(1, len(parts))]
    providers = [(p, m) for p, m in splits if p in current.providers]
    for provider, model in providers:
        if model in current.models:
            return model, provider
    if not splits:
        why = "it is not provider/model"
    elif not providers:
        why = f"provider {splits[0][0]!r} is not in the catalog"
    else:
        why = f"model {providers[0][1]!r} is not in the catalog"
    raise CatalogError(
        f"deployment {deployment_id!r} is not in the catalog, and a new deployment must "
        f"name a known provider and model as provider/model: {why}",
        source=SOURCE,
        field=field,
    )


def _changes(current: Catalog, report: RuntimeReport) -> list[_Change]:
    placed = _placements(current)
    changes: list[_Change] = []
    for index, item in enumerate(report.deployments):
        where = placed.get(item.id)
        if where is not None:
            changes.append(_Change(item, *where))
        elif item.available:
            model, provider = _new_place(current, index, item.id)
            changes.append(_Change(item, model, provider))
        # Unavailable and not in the catalog: already gone, nothing to remove
        # (a report sent again changes nothing).
    return changes


def _spec(item: RuntimeDeployment) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if item.context_window is not None:
        spec["context_window"] = item.context_window
    if item.max_output_tokens is not None:
        spec["max_output_tokens"] = item.max_output_tokens
    if item.capabilities is not None:
        spec["capabilities"] = {
            feature.value: value for feature, value in sorted(item.capabilities.items())
        }
    if item.regions is not None:
        spec["regions"] = list(item.regions)
    return spec


def _fragment(current: Catalog, changes: Iterable[_Change]) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for change in changes:
        spec = _spec(change.item)
        if not spec and change.item.id in current.deployments:
            continue
        deployments = models.setdefault(change.model, {"deployments": {}})["deployments"]
        deployments[change.key] = spec
    return {"models": models} if models else {}


def runtime_layer(current: Catalog, report: RuntimeReport) -> dict[str, Any]:
    """The catalog layer that, laid over ``current`` with
    ``current.layered("runtime", layer)``, makes the report's updates and new
    deployments. A layer cannot remove: a report with ``available: false`` for
    a deployment of the catalog raises CatalogError (use ``apply_report``)."""
    changes = _changes(current, report)
    for index, item in enumerate(report.deployments):
        if not item.available and item.id in current.deployments:
            raise CatalogError(
                f"deployment {item.id!r} is reported unavailable, and a catalog layer cannot "
                "remove a deployment; apply_report removes it",
                source=SOURCE,
                field=f"deployments[{index}].available",
            )
    return _fragment(current, changes)


# -- applying --------------------------------------------------------------------------


def _without(base: Catalog, removed: Sequence[_Change], sources: Sequence[str]) -> Catalog:
    """``base`` with the deployments of ``removed`` deleted, and the alias
    targets that resolved only to them dropped (the catalog refuses a target
    that resolves to nothing; an alias left with no target is dropped too)."""
    gone = {f"{change.key}/{change.model}" for change in removed}
    content = base.content()
    for change in removed:
        del content["models"][change.model]["deployments"][change.key]
    kept: dict[str, list[str]] = {}
    for name, alias in base.aliases.items():
        live = [
            target
            for target in alias.targets
            if any(d.id not in gone for d in base.lookup_target(target))
        ]
        if live:
            kept[name] = live
    content["aliases"] = kept
    # The content is a whole merged document already: validated, not merged again.
    return Catalog(validate_layer(SOURCE, content), sources)


def _refusal(problems: Sequence[Problem]) -> CatalogError:
    emptied = [p.subject for p in problems if p.code == "alias_emptied"]
    return CatalogError(
        "the report is refused: "
        + "; ".join(p.message for p in problems)
        + '; send "force": true to apply it anyway',
        source=SOURCE,
        entry=f"aliases.{emptied[0]}" if emptied else None,
    )


def apply_report(
    current: Catalog, report: RuntimeReport, *, at: datetime
) -> tuple[Catalog, list[Problem]]:
    """The catalog with the report applied, and the problems of the change
    (``check_change`` without the price check). Raises CatalogError naming the
    alias (or the model and its alias) when there is a problem and the report
    does not say ``force``; with ``force`` the problems are returned."""
    changes = _changes(current, report)
    fragment = _fragment(current, (c for c in changes if c.item.available))
    removed = [c for c in changes if not c.item.available]
    if not fragment and not removed:
        return current, []  # nothing changes: the same catalog, the same version
    new = current.layered(SOURCE, fragment) if fragment else current
    if removed:
        new = _without(new, removed, (*current.sources, SOURCE))
    problems = check_change(current, new, at=at, max_price_factor=None)
    if problems and not report.force:
        raise _refusal(problems)
    return new, problems
