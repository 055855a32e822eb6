"""The bundled catalog's price layer, built offline from the genai-prices package.

Every chat model that genai-prices prices by input and output tokens becomes a
deployment of the provider that lists it. The curated overlay claims the
entries it knows by their exact genai-prices (provider, model) reference and
files them under one model id across providers; everything else keeps an id
derived from its genai-prices name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from modelrouter.catalog.sources.vendors import infer_vendor
from modelrouter.pricing.units import UNITS

__all__ = [
    "EXCLUDED_PROVIDERS",
    "PROVIDER_IDS",
    "genai_layer",
    "genai_prices_for",
    "genai_version",
]

# genai-prices provider id -> ours, where they differ.
PROVIDER_IDS = {"aws": "bedrock", "x-ai": "xai"}

# Subscriptions and non-chat APIs: nothing a gateway routes chat requests to.
EXCLUDED_PROVIDERS = frozenset(
    {
        "cursor",
        "github-copilot",
        "openai-decisions",
        "quicksilverpro",
        "typesafe",
        "elevenlabs",
        "voyageai",
    }
)

_NOT_CHAT = re.compile(
    r"(embed|tts|whisper|dall-e|gpt-image|image-|imagen|moderation|rerank|transcri|"
    r"realtime|sonic|-ocr|ocr-|bge-|speech|audio|veo-|sora|lyria|music|search-preview|"
    r"^(ada|babbage|curie|davinci)(-|$))",
    re.IGNORECASE,
)

# genai-prices' ModelPrice field -> (our unit, how many it prices per).
_GENAI_UNITS = {unit.genai: (unit.name, unit.genai_per) for unit in UNITS if unit.genai}


@cache
def _providers() -> tuple[Any, ...]:
    from genai_prices.data import providers

    return tuple(providers)


@cache
def _index() -> Mapping[tuple[str, str], Any]:
    return {(p.id, m.id): m for p in _providers() for m in p.models}


@cache
def _fallbacks() -> Mapping[str, tuple[str, ...]]:
    return {p.id: tuple(p.fallback_model_providers or ()) for p in _providers()}


def _entry(provider: str, model: str) -> Any:
    """An exact entry, else the same model id at the provider's fallback
    providers: genai-prices' own rule (Azure bills OpenAI models at OpenAI's prices)."""
    entry = _index().get((provider, model))
    if entry is None:
        for fallback in _fallbacks().get(provider, ()):
            entry = _index().get((fallback, model))
            if entry is not None:
                break
    return entry


def genai_version() -> str:
    from importlib.metadata import version

    return version("genai-prices")


def our_provider_id(genai_provider: str, model_id: str) -> str:
    if genai_provider == "google" and model_id.startswith("claude"):
        return "vertex"  # Anthropic models listed under google are Vertex AI's.
    return PROVIDER_IDS.get(genai_provider, genai_provider)


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _rate(value: Any, divisor: int = 1) -> Any:
    if isinstance(value, Decimal):
        return _decimal_text(value / divisor)
    # TieredPrices: cliff tiers keyed on total input tokens.
    return {
        "base": _decimal_text(value.base / divisor),
        "tiers": [
            {"above_input_tokens": tier.start, "rate": _decimal_text(tier.price / divisor)}
            for tier in value.tiers
        ],
    }


def _rates(model_price: Any) -> dict[str, Any]:
    rates: dict[str, Any] = {}
    for key, value in model_price.__dict__.items():
        if value is None:
            continue
        if key in _GENAI_UNITS:
            unit, per = _GENAI_UNITS[key]
            rates[unit] = _rate(value, per)
    return rates


def _constraint(rule: dict[str, Any], constraint: Any) -> None:
    if constraint is None:
        return
    if hasattr(constraint, "start_date"):
        rule["from"] = constraint.start_date.isoformat()
    else:
        rule["daily_utc"] = [
            constraint.start_time.replace(tzinfo=None).isoformat(),
            constraint.end_time.replace(tzinfo=None).isoformat(),
        ]


def _price_rules(model: Any) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    conditional = model.prices if isinstance(model.prices, list) else None
    if conditional is None:
        rules.append({"rates": _rates(model.prices)})
    else:
        for price in conditional:
            rule: dict[str, Any] = {"rates": _rates(price.prices)}
            _constraint(rule, price.constraint)
            rules.append(rule)
    for variant in model.price_variants or ():
        rule = {"rates": _rates(variant.prices), "when": dict(sorted(variant.when.items()))}
        _constraint(rule, variant.constraint)
        if rule["rates"]:
            rules.append(rule)
    return rules


def _is_chat_priced(model: Any) -> bool:
    standard = model.prices if not isinstance(model.prices, list) else model.prices[-1].prices
    priced = getattr(standard, "input_mtok", None) is not None
    return priced and getattr(standard, "output_mtok", None) is not None


def genai_prices_for(provider: str, model: str) -> tuple[list[dict[str, Any]], int | None] | None:
    """Price rules and context window of one exact genai-prices entry, or None."""
    entry = _entry(provider, model)
    if entry is None or not _is_chat_priced(entry):
        return None
    return _price_rules(entry), entry.context_window


def _model_id(genai_provider: str, genai_id: str) -> str:
    name = genai_id.lower()
    if genai_provider == "aws":
        name = re.sub(r"^(regional|global|us|eu|apac)\.", "", name)
        name = name.split(".", 1)[1] if "." in name.split("-")[0] else name
    return name.rsplit("/", 1)[-1]


def genai_layer(claimed: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """A catalog document of every chat-priced genai-prices entry not claimed
    by the curated overlay. The first entry to take a (provider, model id)
    pair keeps it, in genai-prices' own order, so the result is stable."""
    taken = set(claimed)
    models: dict[str, dict[str, Any]] = {}
    providers: dict[str, dict[str, Any]] = {}
    for provider in _providers():
        if provider.id in EXCLUDED_PROVIDERS:
            continue
        for entry in provider.models:
            if (provider.id, entry.id) in taken or _NOT_CHAT.search(entry.id):
                continue
            if not _is_chat_priced(entry):
                continue
            model_id = _model_id(provider.id, entry.id)
            ours = our_provider_id(provider.id, model_id)
            model = models.setdefault(
                model_id,
                {
                    "vendor": infer_vendor(ours, entry.id) or "unknown",
                    "deployments": {},
                },
            )
            if ours in model["deployments"]:
                continue
            if entry.name and "name" not in model:
                model["name"] = entry.name
            deployment: dict[str, Any] = {
                "genai": {"provider": provider.id, "model": entry.id},
                "prices": _price_rules(entry),
            }
            if entry.context_window:
                deployment["context_window"] = entry.context_window
            if entry.deprecated:
                deployment["deprecated"] = True
            model["deployments"][ours] = deployment
            providers.setdefault(ours, {"name": provider.name})
    return {"providers": providers, "models": models}
