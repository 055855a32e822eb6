"""``import_litellm_cost_map`` reads ``model_prices_and_context_window.json``.
Every ``mode: chat`` entry becomes one deployment: the model id is the entry's
key without its provider prefix, lowercase; the deployment key is our provider
id (``azure-eu``, ``bedrock-us-east-1``... for LiteLLM's regional entries).
LiteLLM prices per token, we price per million tokens: the conversion is exact."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelrouter.catalog.schema import SCHEMA_ID
from modelrouter.catalog.sources.litellm.fields import (
    _AWS_REGION,
    _AZURE_ZONES,
    _BEDROCK_GEO,
    _GEO_REGIONS,
    _NAME,
    ImportResult,
    _aws_region,
    _price_warnings,
    _read_facts,
    _rules,
    _validated,
    _Where,
    provider_from_litellm,
)
from modelrouter.catalog.sources.litellm.report import ImportReport, ReportBuilder
from modelrouter.catalog.sources.vendors import infer_vendor
from modelrouter.errors import CatalogError

if TYPE_CHECKING:
    pass

__all__ = ["import_litellm_cost_map"]


# -- the cost map ------------------------------------------------------------------


def _place(key: str, litellm_provider: str, provider: str) -> tuple[str, str, str | None]:
    """(deployment key, model id, region) of a cost-map key."""
    parts = key.split("/")
    first = parts[0].lower()
    if len(parts) > 1 and (
        first == litellm_provider.lower() or provider_from_litellm(first) == provider
    ):
        parts = parts[1:]
    segment = region = None
    if len(parts) > 1 and provider == "azure" and parts[0].lower() in _AZURE_ZONES:
        segment = parts[0].lower()
        region = _AZURE_ZONES[segment]
        parts = parts[1:]
    elif len(parts) > 1 and provider == "bedrock" and _AWS_REGION.match(parts[0].lower()):
        segment = parts[0].lower()
        region = _aws_region(segment)
        parts = parts[1:]
    model_id = "/".join(parts).lower()
    if provider == "bedrock" and segment is None and (geo := _BEDROCK_GEO.match(model_id)):
        segment = geo["geo"]
        region = _GEO_REGIONS.get(segment, segment)
        model_id = model_id[geo.end() :]
    # Regional prices differ (Azure data zones cost more): a deployment of its own.
    deployment_key = provider if segment is None else f"{provider}-{segment}"
    return deployment_key, model_id, region


def import_litellm_cost_map(raw: Mapping[str, Any], *, source: str) -> ImportResult:
    """A catalog document of every chat model in a LiteLLM model cost map."""
    models: dict[str, dict[str, Any]] = {}
    taken: dict[tuple[str, str], str] = {}
    warnings: list[str] = []
    skipped: Counter[str] = Counter()
    for key, value in raw.items():
        if key == "sample_spec":
            skipped["sample_spec"] += 1
            continue
        where = _Where(source, str(key))
        try:
            placed = _cost_map_entry(str(key), value, where, skipped)
        except CatalogError as exc:
            # The map has thousands of rows maintained by many hands: one bad row
            # is skipped (and named) rather than stopping the whole import. A proxy
            # config, written by the user for their own gateway, fails instead.
            warnings.append(f"skipped: {exc.message}")
            skipped["malformed"] += 1
            continue
        if placed is None:
            continue
        model_id, deployment_key, vendor, deployment, problem = placed
        first = taken.get((model_id, deployment_key))
        if first is not None:
            warnings.append(
                f"entry {key}: same model and deployment as entry {first} "
                f"({deployment_key}/{model_id}); kept the first"
            )
            skipped["duplicate"] += 1
            continue
        taken[(model_id, deployment_key)] = str(key)
        if model_id not in models:
            models[model_id] = {"vendor": vendor} if vendor is not None else {}
            models[model_id]["deployments"] = {}
        models[model_id]["deployments"][deployment_key] = deployment
        if problem is not None:
            warnings.append(f"entry {key}: {problem}")
    document = {"schema": SCHEMA_ID, "providers": {}, "models": models, "aliases": {}}
    return ImportResult(
        document, tuple(warnings), dict(skipped), report=_report(source, models, skipped, warnings)
    )


def _report(
    source: str, models: Mapping[str, Any], skipped: Counter[str], warnings: list[str]
) -> ImportReport:
    report = ReportBuilder(source)
    count = sum(len(model["deployments"]) for model in models.values())
    report.kept(source, f"{count} chat deployments of {len(models)} models")
    for reason, entries in sorted(skipped.items()):
        if reason == "malformed":
            continue
        why = "a duplicate: kept the first" if reason == "duplicate" else "not a chat model"
        report.dropped(f"{entries} entries with {reason}", why)
    for warning in warnings:
        if warning.startswith("skipped: "):
            report.skipped(source, warning.removeprefix("skipped: "))
    return report.build()


def _cost_map_entry(
    key: str, value: Any, where: _Where, skipped: Counter[str]
) -> tuple[str, str, str | None, dict[str, Any], str | None] | None:
    """(model id, deployment key, vendor, deployment, price problem); None if skipped."""
    if not isinstance(value, Mapping):
        raise where.error(f"must be a mapping, got {type(value).__name__}")
    mode = value.get("mode")
    if mode is None:
        token_priced = all(
            value.get(name) is not None
            for name in ("input_cost_per_token", "output_cost_per_token")
        )
        if not token_priced:
            skipped["mode=(missing)"] += 1
            return None
    elif not isinstance(mode, str):
        raise where.error(f"must be a string, got {mode!r}", "mode")
    elif mode != "chat":
        skipped[f"mode={mode}"] += 1
        return None
    litellm_provider = value.get("litellm_provider")
    if not isinstance(litellm_provider, str) or not litellm_provider.strip():
        raise where.error("a chat entry needs a litellm_provider", "litellm_provider")
    provider = provider_from_litellm(litellm_provider)
    if provider is None:
        skipped[f"litellm_provider={litellm_provider}"] += 1
        return None
    deployment_key, model_id, region = _place(key, litellm_provider, provider)
    if not _NAME.match(model_id) or not _NAME.match(deployment_key):
        raise where.error(f"{model_id!r} cannot be a model id (empty, spaces or too long)")

    facts = _read_facts(value, where)
    rules, problem = _price_warnings(_rules(facts.prices))
    deployment: dict[str, Any] = {}
    if deployment_key != provider:
        deployment["provider"] = provider
    if rules:
        deployment["prices"] = rules
    if region is not None:
        deployment["regions"] = [region]
    if facts.context_window is not None:
        deployment["context_window"] = facts.context_window
    if facts.max_output_tokens is not None:
        deployment["max_output_tokens"] = facts.max_output_tokens
    if facts.capabilities:
        deployment["capabilities"] = facts.capabilities
    if facts.deprecated:
        deployment["deprecated"] = True
    _validated(deployment, where)
    return model_id, deployment_key, infer_vendor(provider, model_id), deployment, problem
