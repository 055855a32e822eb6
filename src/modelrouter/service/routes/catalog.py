"""The catalog: summary, models, aliases, and importing a layer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict

from modelrouter.bounds import Name
from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment
from modelrouter.catalog.names import match_name, suggest
from modelrouter.catalog.sources.litellm.cost_map import import_litellm_cost_map
from modelrouter.catalog.sources.litellm.fields import ImportResult
from modelrouter.catalog.sources.litellm.proxy import import_litellm_config
from modelrouter.catalog.sources.litellm.report import ImportReport, ReportLine
from modelrouter.catalog.sources.litellm.sniff import wrong_format
from modelrouter.errors import CatalogError
from modelrouter.money import exact_str
from modelrouter.service.auth import authenticate, not_found, require, state_of
from modelrouter.service.errors import ERROR_RESPONSES
from modelrouter.store.keys import Principal

router = APIRouter(tags=["catalog"])


def _deployment(d: Deployment) -> dict[str, Any]:
    prices = None
    if d.prices is not None:
        prices = [
            {
                "rule": rule.label(),
                "rates": {
                    unit: exact_str(rate.base)
                    for unit in rule.sheet.units()
                    if (rate := rule.sheet.rate(unit)) is not None
                },
            }
            for rule in d.prices.rules
        ]
    return {
        "id": d.id,
        "provider": d.provider,
        "model": d.model,
        "regions": list(d.regions),
        "context_window": d.context_window,
        "max_output_tokens": d.max_output_tokens,
        "capabilities": {
            name: getattr(d.capabilities, name)
            for name in ("streaming", "tools", "vision", "json_schema", "reasoning")
        },
        "deprecated": d.deprecated,
        "weight": d.weight,
        "prices_per_million": prices,
    }


@router.get("/v1/catalog", responses=ERROR_RESPONSES)
def catalog_summary(
    http: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> dict[str, Any]:
    catalog = state_of(http).catalog
    return {
        "version": catalog.version,
        "sources": list(catalog.sources),
        "providers": len(catalog.providers),
        "models": len(catalog.models),
        "deployments": len(catalog.deployments),
        "aliases": len(catalog.aliases),
    }


@router.get("/v1/catalog/models/{model_id}", responses=ERROR_RESPONSES)
def catalog_model(
    model_id: Annotated[Name, Path()],
    http: Request,
    principal: Annotated[Principal, Depends(authenticate)],
) -> dict[str, Any]:
    catalog = state_of(http).catalog
    model = catalog.models.get(model_id)
    resolved: dict[str, str] = {}
    if model is None:
        # A name people already use (a dated id, a slug), read as routing reads it.
        match = match_name(catalog, model_id)
        if match is None or not match.target.startswith("model "):
            raise not_found(f"model {model_id}", suggest(catalog, model_id))
        model = catalog.models[match.deployments[0].model]
        resolved = {"resolved": match.note}
    quality = model.quality
    return {
        **resolved,
        "id": model.id,
        "name": model.name,
        "vendor": model.vendor,
        "quality": None
        if quality is None
        else {
            "score": exact_str(quality.score),
            "scale": quality.scale,
            "source": quality.source,
            "as_of": quality.as_of,
        },
        "deployments": [_deployment(d) for d in catalog.deployments_of(model_id)],
    }


@router.get("/v1/catalog/aliases", responses=ERROR_RESPONSES)
def catalog_aliases(
    http: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> dict[str, Any]:
    catalog = state_of(http).catalog
    return {
        "aliases": {
            name: {
                "targets": list(alias.targets),
                "deployments": [d.id for d in catalog.alias_deployments(name) or ()],
            }
            for name, alias in sorted(catalog.aliases.items())
        }
    }


class CatalogImport(BaseModel):
    """A layer to lay over the catalog in use: our catalog document, LiteLLM's
    cost map, or a LiteLLM proxy config (then it is the whole catalog).
    ``strict``: a proxy-config entry that cannot be imported refuses the
    whole body (422) instead of being skipped."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["yaml", "litellm", "litellm-config"]
    content: dict[str, Any]
    strict: bool = False


@router.post("/v1/catalog/import", responses=ERROR_RESPONSES)
def catalog_import(
    body: CatalogImport, http: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> dict[str, Any]:
    """Validate, store the new catalog version, and put it in force: in this
    worker at once, in every other worker of every instance on the same
    database within a second, and after a restart. Answers the import report
    (kept, converted, dropped with the reason, skipped) and, for a proxy
    config, the platform-policy fragment of its settings (not put in force:
    ``PUT /v1/platform/policy`` does that)."""
    require(principal, "admin")
    state = state_of(http)
    wrong = wrong_format(body.content, body.format)
    if wrong is not None:
        raise CatalogError(wrong, source="import", field="format")
    if body.format == "yaml":
        catalog = state.catalog.layered("import", body.content)
        checked = ReportLine("kept", "import", "a modelrouter catalog document, laid over")
        result = ImportResult(body.content, (), {}, report=ImportReport((checked,)))
    elif body.format == "litellm":
        result = import_litellm_cost_map(body.content, source="import")
        catalog = state.catalog.layered("import", result.document)
    else:
        result = import_litellm_config(
            body.content, state.catalog, source="import", strict=body.strict
        )
        catalog = Catalog.from_layers([("import", result.document)])
    state.put_in_force(
        catalog,
        origin="import",
        source=f"POST /v1/catalog/import ({body.format})",
        author=principal.key_id,
    )
    return {
        "version": catalog.version,
        "deployments": len(catalog.deployments),
        "warnings": list(result.warnings),
        "skipped": dict(result.skipped),
        "report": result.report.to_dict(),
        "policy": result.policy,
    }


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    force: bool = False


@router.get("/v1/catalog/refresh", responses=ERROR_RESPONSES)
def refresh_status(
    http: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> dict[str, Any]:
    """The last price refresh of this worker: accepted, refused (and why),
    unchanged, failed, or off (no source configured)."""
    require(principal, "admin")
    status: dict[str, Any] = state_of(http).refresh.status.to_dict()
    return status


@router.post("/v1/catalog/refresh", responses=ERROR_RESPONSES)
def refresh_now(
    http: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    body: RefreshRequest | None = None,
) -> dict[str, Any]:
    """Refresh prices from the configured source now; ``force`` swaps the new
    catalog in past the problems it would otherwise be refused for."""
    require(principal, "admin")
    force = body is not None and body.force
    result: dict[str, Any] = (
        state_of(http).refresh.run(force=force, author=principal.key_id).to_dict()
    )
    return result


@router.get("/v1/config/history", responses=ERROR_RESPONSES)
def config_history(
    http: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """What was put in force, newest first: catalog and policy versions, their
    origin (start, import, runtime, refresh, api), source and author key."""
    require(principal, "admin")
    entries = state_of(http).config_log.history(limit=limit)
    return {"changes": [entry.to_dict() for entry in entries]}
