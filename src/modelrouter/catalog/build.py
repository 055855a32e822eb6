"""Layering sources into one validated document, and compiling it into values.

A later layer overrides an earlier one field by field: mappings merge, every
other value (numbers, strings, lists) is replaced whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import time
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from modelrouter.catalog.model import (
    Capabilities,
    DataTerms,
    Deployment,
    Endpoint,
    LatencyPrior,
    Model,
    Provider,
    Quality,
)
from modelrouter.catalog.prices import PriceRule, PriceSchedule, PriceSheet, Rate
from modelrouter.catalog.schema import (
    CapabilitiesSpec,
    CatalogDocument,
    DataTermsSpec,
    DeploymentSpec,
    EndpointDefaultsSpec,
    EndpointSpec,
    GenaiRef,
    ModelSpec,
    PriceRuleSpec,
    ProviderSpec,
    RateSpec,
    RatesSpec,
)
from modelrouter.catalog.sources.genai import genai_prices_for
from modelrouter.encoding import canonical_bytes
from modelrouter.errors import CatalogError, first_problem
from modelrouter.pricing.units import UNIT_NAMES

__all__ = ["Layer", "catalog_version", "compile_document", "merge_layers", "validate_layer"]

Layer = tuple[str, Mapping[str, Any]]


def validate_layer(source: str, raw: Mapping[str, Any]) -> CatalogDocument:
    try:
        return CatalogDocument.model_validate(raw)
    except ValidationError as exc:
        path, message = first_problem(exc.errors(include_url=False))
        entry, _, field = path.partition(".")
        if entry in {"models", "providers", "aliases"} and field:
            name, _, rest = field.partition(".")
            entry, field = f"{entry}.{name}", rest
        raise CatalogError(message, source=source, entry=entry, field=field or None) from None


def _deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merge_layers(layers: Sequence[Layer]) -> CatalogDocument:
    """Validate each layer on its own (so errors name its source), merge them,
    fill genai-prices references, and validate the result."""
    merged: dict[str, Any] = {}
    filled = 0
    first: CatalogDocument | None = None
    for source, raw in layers:
        first = validate_layer(source, raw)
        layer = first.model_dump(by_alias=True, exclude_none=True)
        filled += _fill_genai_prices(layer, source)
        merged = _deep_merge(merged, layer)
    if len(layers) == 1 and not filled and first is not None:
        # One layer with every price stated (a stored version): it is already
        # the whole document, and validating it again would cost a third of a load.
        return first
    return validate_layer("merged catalog", merged)


def _fill_genai_prices(document: dict[str, Any], source: str) -> int:
    """Fill the prices of deployments that name a genai-prices entry; how many."""
    filled = 0
    for model_id, model in document.get("models", {}).items():
        for key, deployment in model.get("deployments", {}).items():
            ref = deployment.get("genai")
            if not ref or "prices" in deployment:
                continue
            found = genai_prices_for(ref["provider"], ref["model"])
            if found is None:
                raise CatalogError(
                    f"genai-prices has no chat price for provider {ref['provider']!r}, "
                    f"model {ref['model']!r}",
                    source=source,
                    entry=f"models.{model_id}",
                    field=f"deployments.{key}.genai",
                )
            rules, context_window = found
            deployment["prices"] = rules
            # The provider's own window, unless the model or deployment states one.
            stated = "context_window" in deployment or "context_window" in model
            if context_window and not stated:
                deployment["context_window"] = context_window
            filled += 1
    return filled


def catalog_version(document: CatalogDocument) -> str:
    digest = hashlib.sha256(canonical_bytes(document_content(document))).hexdigest()
    return f"cat_{digest[:32]}"


def document_content(document: CatalogDocument) -> dict[str, Any]:
    content: dict[str, Any] = document.model_dump(mode="json", by_alias=True, exclude_none=True)
    return content


# -- compiling ---------------------------------------------------------------


def _rate(spec: Decimal | RateSpec | None) -> Rate | None:
    if spec is None:
        return None
    if isinstance(spec, Decimal):
        return Rate(spec)
    return Rate(spec.base, tuple((tier.above_input_tokens, tier.rate) for tier in spec.tiers))


def _sheet(spec: RatesSpec) -> PriceSheet:
    return PriceSheet(**{name: _rate(getattr(spec, name)) for name in UNIT_NAMES})


def _rule(spec: PriceRuleSpec) -> PriceRule:
    daily: tuple[time, time] | None = spec.daily_utc
    return PriceRule(
        sheet=_sheet(spec.rates),
        effective_from=spec.from_,
        daily_utc=daily,
        when=tuple(sorted((spec.when or {}).items())),
    )


def _capabilities(*layers: CapabilitiesSpec | None) -> Capabilities:
    """The most specific layer that states a capability decides it."""
    values: dict[str, bool | None] = {}
    for layer in layers:
        if layer is None:
            continue
        for name, value in layer.model_dump().items():
            if value is not None and name not in values:
                values[name] = value
    return Capabilities(**values)


def _data_terms(*layers: DataTermsSpec | None) -> DataTerms:
    values: dict[str, Any] = {}
    for layer in layers:
        if layer is None:
            continue
        for name in ("zero_data_retention", "no_training", "retention_days"):
            value = getattr(layer, name)
            if value is not None and name not in values:
                values[name] = value
    return DataTerms(**values)


def _endpoint(
    own: EndpointSpec | None,
    defaults: EndpointDefaultsSpec | None,
    model_id: str,
    genai: GenaiRef | None,
) -> Endpoint | None:
    """The deployment's own endpoint fields over its provider's, field by
    field; None when neither states one."""
    values: dict[str, Any] = {}
    for layer in (own, defaults):
        if layer is not None:
            for name, value in layer.model_dump(exclude_none=True).items():
                values.setdefault(name, value)
    if not values:
        return None
    if "upstream_model" not in values:
        # genai-prices keys a provider's prices by the id that provider's API
        # answers with (bedrock's ``global.anthropic.claude-opus-5``, groq's
        # ``llama-3.1-8b-instant``): a better guess at what to send than our
        # model id, which is the fallback.
        values["upstream_model"] = genai.model if genai is not None else model_id
    return Endpoint(**values)


def _deployment(
    key: str,
    spec: DeploymentSpec,
    model_id: str,
    model: ModelSpec,
    compiled_model: Model,
    providers: Mapping[str, Provider],
    provider_specs: Mapping[str, ProviderSpec],
) -> Deployment:
    provider_id = spec.provider or key
    provider = providers[provider_id]
    provider_spec = provider_specs.get(provider_id)
    schedule = None
    if spec.prices:
        try:
            schedule = PriceSchedule(tuple(_rule(rule) for rule in spec.prices))
        except ValueError as exc:
            raise CatalogError(
                str(exc), entry=f"models.{model_id}", field=f"deployments.{key}.prices"
            ) from None
    latency = spec.latency
    return Deployment(
        id=f"{key}/{model_id}",
        provider=provider_id,
        model=model_id,
        vendor=compiled_model.vendor,
        regions=tuple(spec.regions) if spec.regions is not None else provider.regions,
        context_window=spec.context_window or model.context_window,
        max_output_tokens=spec.max_output_tokens or model.max_output_tokens,
        capabilities=_capabilities(spec.capabilities, model.capabilities),
        prices=schedule,
        latency=LatencyPrior(latency.ttft_ms, latency.output_tokens_per_s) if latency else None,
        data=_data_terms(spec.data, provider_spec.data if provider_spec else None),
        quality=compiled_model.quality,
        deprecated=bool(spec.deprecated if spec.deprecated is not None else model.deprecated),
        weight=spec.weight if spec.weight is not None else 1,
        order=spec.order,
        rpm=spec.rpm,
        tpm=spec.tpm,
        tags=tuple(spec.tags or ()),
        endpoint=_endpoint(
            spec.endpoint,
            provider_spec.endpoint if provider_spec else None,
            model_id,
            spec.genai,
        ),
    )


def compile_document(
    document: CatalogDocument,
) -> tuple[dict[str, Provider], dict[str, Model], dict[str, Deployment]]:
    providers: dict[str, Provider] = {}
    for provider_id, pspec in document.providers.items():
        providers[provider_id] = Provider(
            id=provider_id,
            name=pspec.name or provider_id,
            regions=tuple(pspec.regions or ()),
            data=_data_terms(pspec.data),
        )
    models: dict[str, Model] = {}
    deployments: dict[str, Deployment] = {}
    for model_id, mspec in document.models.items():
        quality = mspec.quality
        model = Model(
            id=model_id,
            vendor=mspec.vendor or "unknown",
            name=mspec.name or model_id,
            quality=Quality(quality.score, quality.scale, quality.source, quality.as_of)
            if quality
            else None,
            deprecated=bool(mspec.deprecated),
        )
        models[model_id] = model
        for key, dspec in mspec.deployments.items():
            provider_id = dspec.provider or key
            if provider_id not in providers:
                # A provider named only by its deployments: terms unknown.
                providers[provider_id] = Provider(provider_id, provider_id, (), DataTerms())
            deployment = _deployment(
                key, dspec, model_id, mspec, model, providers, document.providers
            )
            deployments[deployment.id] = deployment
    return providers, models, deployments
