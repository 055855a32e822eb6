"""Importers for LiteLLM's data: its model cost map and its proxy config.

Both return a catalog document in our schema (see ``schema.py``), with warnings
and counts of what was skipped. Neither opens a file: the caller reads and
parses the JSON or YAML and passes the value.

``import_litellm_cost_map`` reads ``model_prices_and_context_window.json``.
Every ``mode: chat`` entry becomes one deployment: the model id is the entry's
key without its provider prefix, lowercase; the deployment key is our provider
id (``azure-eu``, ``bedrock-us-east-1``... for LiteLLM's regional entries).
LiteLLM prices per token, we price per million tokens: the conversion is exact.

``import_litellm_config`` reads a proxy ``config.yaml``. Every ``model_list``
entry becomes one deployment, filled in from a base catalog where the config is
silent; every ``model_name`` group becomes an alias of its deployments. Only
named facts are read from an entry, so credentials are never copied.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from modelrouter.catalog.build import validate_layer
from modelrouter.catalog.matching import GENAI_PROVIDERS, genai_models, genai_ref
from modelrouter.catalog.schema import SCHEMA_ID, DeploymentSpec
from modelrouter.catalog.sources.vendors import infer_vendor
from modelrouter.errors import CatalogError
from modelrouter.money import exact_str, parse_decimal
from modelrouter.validation import first_problem

if TYPE_CHECKING:
    from modelrouter.catalog.catalog import Catalog
    from modelrouter.catalog.model import Deployment

__all__ = [
    "ImportResult",
    "import_litellm_config",
    "import_litellm_cost_map",
    "provider_from_litellm",
]


@dataclass(frozen=True)
class ImportResult:
    document: dict[str, Any]  # a catalog document in our schema
    warnings: tuple[str, ...]  # human-readable, each names the entry
    skipped: Mapping[str, int]  # reason -> count, e.g. "mode=embedding": 812


# -- providers -----------------------------------------------------------------

# LiteLLM provider -> ours, where they differ. Unknown providers keep their name.
_PROVIDER_IDS = {
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "gemini": "google",
    "bedrock_converse": "bedrock",
    "cohere_chat": "cohere",
}
# Providers that serve only their own models: they are the vendor.


def provider_from_litellm(litellm_provider: str) -> str | None:
    """Our id for a LiteLLM provider; None for text-completion endpoints (not chat)."""
    name = litellm_provider.strip().lower()
    if name.startswith("text-completion-"):
        return None
    if name.startswith("vertex_ai"):  # vertex_ai-language-models, vertex_ai-anthropic_models...
        return "vertex"
    if name.startswith("fireworks_ai"):
        return "fireworks"
    return _PROVIDER_IDS.get(name, name)


# -- regions -------------------------------------------------------------------

# Azure data zones in cost-map keys (``azure/eu/gpt-4o-2024-08-06``).
_AZURE_ZONES = {"eu": "eu", "us": "us", "global": "global", "global-standard": "global"}
_AWS_REGION = re.compile(r"^(?P<area>[a-z]{2})(-gov)?-[a-z]+-\d+$")
# Bedrock cross-region inference profiles: ``us.anthropic.claude-...``.
_BEDROCK_GEO = re.compile(r"^(?P<geo>us|eu|apac|global|jp|au|ca)\.")
_GEO_REGIONS = {"jp": "apac", "au": "apac"}
_AWS_AREAS = {"us": "us", "eu": "eu", "ap": "apac", "ca": "ca", "sa": "sa"}
_GCP_AREAS = (
    ("europe-", "eu"),
    ("us-", "us"),
    ("asia-", "apac"),
    ("australia-", "apac"),
    ("northamerica-", "ca"),
    ("southamerica-", "sa"),
)


def _aws_region(code: str) -> str:
    # Our regions are the coarse ones policies name (us, eu, uk, apac...), not AWS codes.
    if code == "eu-west-2":
        return "uk"  # London
    match = _AWS_REGION.match(code)
    return _AWS_AREAS.get(match["area"], code) if match else code


def _gcp_region(location: str) -> str:
    for prefix, region in _GCP_AREAS:
        if location.startswith(prefix):
            return region
    return location


# -- prices ----------------------------------------------------------------------

# LiteLLM per-token field -> our unit. ``_batches``, ``_flex`` and ``_priority``
# suffixes and ``_above_<N>k_tokens`` tiers apply to any of them.
_UNITS = {
    "input_cost_per_token": "input",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "input_cost_per_audio_token": "input_audio",
    "cache_read_input_audio_token_cost": "cache_audio_read",
    "input_cost_per_image_token": "input_image",
    "output_cost_per_token": "output",
    "output_cost_per_reasoning_token": "output_reasoning",
    "output_cost_per_audio_token": "output_audio",
    "output_cost_per_image_token": "output_image",
    "input_cost_per_request": "request",  # USD per request: not scaled
}
_UNIT_ORDER = tuple(dict.fromkeys(_UNITS.values()))
_VARIANTS = {
    "_batches": ("batches", {"processing": "batch"}),
    "_flex": ("flex", {"service_tier": "flex"}),
    "_priority": ("priority", {"service_tier": "priority"}),
}
_WHEN = dict(_VARIANTS.values())
_TIER = re.compile(r"(?P<unit>.+)_above_(?P<thousands>\d+)k_tokens")

_CAPABILITIES = {
    # LiteLLM fakes streaming for the others; only native streaming is the
    # provider's own capability.
    "supports_native_streaming": "streaming",
    "supports_function_calling": "tools",
    "supports_vision": "vision",
    "supports_response_schema": "json_schema",
    "supports_reasoning": "reasoning",
}

_NAME = re.compile(r"^[^\s]{1,200}$")
_KEY = re.compile(r"^[^\s/]{1,200}$")

# variant (None: standard) -> unit -> tier threshold (None: base) -> rate
PriceTable = dict[str | None, dict[str, dict[int | None, Decimal]]]


def _price_field(name: str) -> tuple[str, int | None, str | None] | None:
    """(unit, tier threshold, variant) of a LiteLLM price field; None if not one."""
    variant = None
    for suffix, (which, _) in _VARIANTS.items():
        if name.endswith(suffix):
            name, variant = name[: -len(suffix)], which
            break
    threshold = None
    tier = _TIER.fullmatch(name)
    if tier is not None:
        name, threshold = tier["unit"], int(tier["thousands"]) * 1000
        for suffix, (which, _) in _VARIANTS.items():
            if variant is None and name.endswith(suffix):
                name, variant = name[: -len(suffix)], which
    unit = _UNITS.get(name)
    return None if unit is None else (unit, threshold, variant)


@dataclass(frozen=True)
class _Where:
    """Where a value came from, for errors: source, entry and a field prefix."""

    source: str
    entry: str
    prefix: str = ""

    def error(self, message: str, name: str | None = None) -> CatalogError:
        path = f"{self.prefix}{name}" if name is not None else (self.prefix.rstrip(".") or None)
        return CatalogError(message, source=self.source, entry=self.entry, field=path)

    def under(self, prefix: str) -> _Where:
        return dataclasses.replace(self, prefix=f"{self.prefix}{prefix}.")


def _rate(value: Any, unit: str, where: _Where, name: str) -> Decimal:
    try:
        amount = parse_decimal(value, what="cost")
    except ValueError as exc:
        raise where.error(str(exc), name) from None
    # Exact: a decimal shift, no float arithmetic. 2.5e-06 per token -> 2.5 per million.
    return amount if unit == "request" else amount.scaleb(6)


def _positive_int(value: Any, where: _Where, name: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise where.error(f"must be a positive whole number, got {value!r}", name)
    return value


@dataclass
class _Facts:
    """What one mapping of LiteLLM fields says about a deployment."""

    prices: PriceTable = field(default_factory=dict)
    context_window: int | None = None
    max_output_tokens: int | None = None
    capabilities: dict[str, bool] = field(default_factory=dict)
    deprecated: bool = False

    def over(self, top: _Facts) -> _Facts:
        """These facts with ``top``'s laid over them, rate by rate."""
        prices: PriceTable = {}
        for table in (self.prices, top.prices):
            for variant, units in table.items():
                for unit, rates in units.items():
                    prices.setdefault(variant, {}).setdefault(unit, {}).update(rates)
        return _Facts(
            prices=prices,
            context_window=top.context_window or self.context_window,
            max_output_tokens=top.max_output_tokens or self.max_output_tokens,
            capabilities={**self.capabilities, **top.capabilities},
            deprecated=top.deprecated or self.deprecated,
        )


def _read_facts(fields: Mapping[str, Any], where: _Where) -> _Facts:
    facts = _Facts()
    for name, value in fields.items():
        if value is None or not isinstance(name, str):
            continue
        if name in _CAPABILITIES:
            if not isinstance(value, bool):
                raise where.error(f"must be true or false, got {value!r}", name)
            facts.capabilities[_CAPABILITIES[name]] = value
        elif name == "max_input_tokens":
            # Our context_window is the whole window (input + output); LiteLLM's
            # max_input_tokens limits the input alone. Taking it as the window is
            # conservative: a request the check admits is one the provider accepts.
            facts.context_window = _positive_int(value, where, name)
        elif name == "max_output_tokens":
            facts.max_output_tokens = _positive_int(value, where, name)
        elif name == "deprecated":
            if not isinstance(value, bool):
                raise where.error(f"must be true or false, got {value!r}", name)
            facts.deprecated = value
        elif name == "tiered_pricing":
            _read_tiered_pricing(value, facts.prices, where)
        elif (parsed := _price_field(name)) is not None:
            unit, threshold, variant = parsed
            rate = _rate(value, unit, where, name)
            facts.prices.setdefault(variant, {}).setdefault(unit, {})[threshold] = rate
    # ``max_tokens`` is ignored: LiteLLM documents it as legacy, holding the output
    # limit for some providers and the input limit for others.
    # ``deprecation_date`` is ignored too: an importer reads no clock, so it cannot
    # tell a past date from a future one, and a catalog must not depend on the
    # day it was imported. Only an explicit ``deprecated`` flag is recorded.
    return facts


def _read_tiered_pricing(value: Any, prices: PriceTable, where: _Where) -> None:
    """``tiered_pricing: [{range: [0, 256000], input_cost_per_token: ..}, ..]``:
    the request's input size picks one range for the whole request, like our
    cliff tiers (which start one token after the range does)."""
    if not isinstance(value, list):
        raise where.error("must be a list of price ranges", "tiered_pricing")
    standard = prices.setdefault(None, {})
    for index, item in enumerate(value):
        at = dataclasses.replace(where, prefix=f"{where.prefix}tiered_pricing[{index}].")
        bounds = item.get("range") if isinstance(item, Mapping) else None
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise at.error("must be a mapping with range: [from, to]")
        start = bounds[0]
        start = int(start) if isinstance(start, float) and start.is_integer() else start
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise at.error(f"range must start at a whole number of tokens, got {start!r}")
        for name, rate in item.items():
            parsed = _price_field(name) if isinstance(name, str) else None
            if parsed is None or rate is None or parsed[1] is not None or parsed[2] is not None:
                continue
            unit = parsed[0]
            threshold = None if start == 0 else start
            # A rate stated outside the ranges wins.
            standard.setdefault(unit, {}).setdefault(threshold, _rate(rate, unit, at, name))


def _rules(prices: PriceTable) -> list[dict[str, Any]]:
    """Price rules in our schema: the standard rule, then batch/flex/priority
    overrides. Empty when there is no standard rule (a schedule needs one)."""
    rules: list[dict[str, Any]] = []
    for variant in (None, *_WHEN):
        units = prices.get(variant)
        if not units:
            continue
        rates: dict[str, Any] = {}
        for unit in _UNIT_ORDER:
            by_threshold = units.get(unit)
            # A tier without a base rate (LiteLLM has some: a cache-write price
            # only above 200k) cannot be written as "unpriced below": leave the
            # unit out rather than invent a price.
            if not by_threshold or None not in by_threshold:
                continue
            base = by_threshold[None]
            tiers = sorted((t, r) for t, r in by_threshold.items() if t is not None)
            if unit == "request" or not tiers:
                rates[unit] = exact_str(base)
            else:
                rates[unit] = {
                    "base": exact_str(base),
                    "tiers": [{"above_input_tokens": t, "rate": exact_str(r)} for t, r in tiers],
                }
        if not rates:
            continue
        if variant is None:
            rules.append({"rates": rates})
        elif rules:
            rules.append({"rates": rates, "when": dict(_WHEN[variant])})
    return rules


def _base_rate(rates: Mapping[str, Any], unit: str) -> Decimal | None:
    value = rates.get(unit)
    if value is None:
        return None
    return Decimal(value["base"] if isinstance(value, Mapping) else value)


def _price_warnings(rules: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """The rules to keep, and what is wrong with them if anything is."""
    standard: Mapping[str, Any] = next((r["rates"] for r in rules if "when" not in r), {})
    input_rate, output_rate = _base_rate(standard, "input"), _base_rate(standard, "output")
    if input_rate is None and output_rate is None:
        # Without both there is no cost to estimate; the router must say
        # price_unknown, never route as if it were free.
        return [], "no input or output token price: imported without prices (price_unknown)"
    if input_rate is None or output_rate is None:
        missing = "input" if input_rate is None else "output"
        return rules, f"no {missing} token price: the router rejects it as price_unknown"
    if input_rate == 0 and output_rate == 0:
        return rules, "priced at $0 by the source; check"
    return rules, None


# -- vendors ---------------------------------------------------------------------


def _validated(deployment: dict[str, Any], where: _Where) -> dict[str, Any]:
    try:
        DeploymentSpec.model_validate(deployment)
    except ValidationError as exc:
        path, message = first_problem(exc)
        raise where.error(message, path) from None
    return deployment


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
    return ImportResult(document, tuple(warnings), dict(skipped))


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


# -- the proxy config ----------------------------------------------------------------

# Bare model names LiteLLM routes without a provider prefix.
_BARE_PROVIDERS = (
    (("gpt-", "o1", "o3", "o4", "chatgpt-", "ft:gpt-"), "openai"),
    (("claude-",), "anthropic"),
    (("gemini-",), "vertex_ai"),
    (("command",), "cohere_chat"),
)


@dataclass
class _Base:
    """The base catalog, with an index of its deployments' genai-prices entries."""

    catalog: Catalog

    def find(
        self, litellm_provider: str, provider: str, name: str
    ) -> tuple[Deployment | None, list[str]]:
        """The base deployment to copy facts from, and notes on how it was found:
        the pin provider/model, else the model at another provider."""
        notes: list[str] = []
        model_id: str | None = name if self.catalog.deployments_of(name) else None
        if model_id is None:
            candidates = (litellm_provider, provider, GENAI_PROVIDERS.get(provider, provider))
            ref = genai_ref(candidates, name)
            matches = genai_models(self.catalog, ref) if ref is not None else []
            here = [m for m in matches if self.catalog.deployments_at(provider, m)]
            if here or matches:
                model_id = (here or matches)[0]
                notes.append(
                    f"{name!r} taken as the base catalog's {model_id} (genai-prices match)"
                )
        if model_id is None:
            return None, notes
        same = self.catalog.deployments_at(provider, model_id)
        if same:
            exact = [d for d in same if d.id == f"{provider}/{model_id}"]
            return (exact or list(same))[0], notes
        others = self.catalog.deployments_of(model_id)
        first_party = [d for d in others if d.provider == d.vendor]
        chosen = (first_party or list(others))[0]
        notes.append(
            f"the base catalog has no {provider}/{model_id}; "
            f"prices and limits copied from {chosen.id}"
        )
        return chosen, notes


def _copy_from_base(
    catalog: Catalog, found: Deployment, same_provider: bool
) -> tuple[dict[str, Any], dict[str, Any], dict[str, bool]]:
    """(model fields, deployment fields, capabilities) the base knows."""
    model_spec = catalog.document.models[found.model]
    key = found.id[: -len(found.model) - 1]
    spec = model_spec.deployments[key]
    model: dict[str, Any] = {}
    if found.vendor != "unknown":
        model["vendor"] = found.vendor
    if model_spec.name:
        model["name"] = model_spec.name
    if model_spec.quality is not None:
        model["quality"] = model_spec.quality.model_dump(mode="json", exclude_none=True)
    deployment: dict[str, Any] = {}
    if spec.prices:
        deployment["prices"] = [
            rule.model_dump(mode="json", by_alias=True, exclude_none=True) for rule in spec.prices
        ]
    if found.context_window is not None:
        deployment["context_window"] = found.context_window
    if found.max_output_tokens is not None:
        deployment["max_output_tokens"] = found.max_output_tokens
    # Latency and data terms belong to the provider that serves: not carried over
    # from another one.
    if same_provider and spec.latency is not None:
        deployment["latency"] = spec.latency.model_dump(mode="json", exclude_none=True)
    if same_provider and spec.data is not None:
        deployment["data"] = spec.data.model_dump(mode="json", exclude_none=True)
    if found.deprecated:
        deployment["deprecated"] = True
    capabilities = {
        name: value
        for name, value in dataclasses.asdict(found.capabilities).items()
        if value is not None
    }
    return model, deployment, capabilities


def _mapping(value: Any, where: _Where, name: str | None, *, required: bool) -> Mapping[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise where.error("must be a mapping", name)
    return value


def _split_model(params: Mapping[str, Any], where: _Where) -> tuple[str, str]:
    """(LiteLLM provider, model name) of ``litellm_params.model``."""
    model = params.get("model")
    if not isinstance(model, str) or not model.strip():
        raise where.error("required: the model LiteLLM calls, as provider/model", "model")
    model = model.strip()
    custom = params.get("custom_llm_provider")
    if custom is not None:
        if not isinstance(custom, str) or not custom.strip():
            raise where.error("must be a provider name", "custom_llm_provider")
        prefix = f"{custom.strip()}/"
        return custom.strip(), model[len(prefix) :] if model.startswith(prefix) else model
    if "/" in model:
        provider, name = model.split("/", 1)
        if not provider or not name:
            raise where.error(f"{model!r} is not provider/model", "model")
        return provider, name
    for prefixes, provider in _BARE_PROVIDERS:
        if model.lower().startswith(prefixes):
            return provider, model
    raise where.error(
        f"cannot tell which provider serves {model!r}: write it as provider/model "
        "(e.g. openai/gpt-4o)",
        "model",
    )


def _whole(value: Any, where: _Where, name: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(f"must be a whole number, got {value!r}", name)
    return value


def _regions(params: Mapping[str, Any], where: _Where) -> list[str]:
    stated = params.get("region_name")
    if stated is not None:
        if not isinstance(stated, str) or not _KEY.match(stated):
            raise where.error(
                f"must be a region name without spaces, got {stated!r}", "region_name"
            )
        return [stated]
    for name, convert in (("aws_region_name", _aws_region), ("vertex_location", _gcp_region)):
        value = params.get(name)
        if isinstance(value, str) and _KEY.match(value):
            return [convert(value.lower())]
    # One configured endpoint serves from one place, which the config does not
    # say: unknown (a region policy rejects it), not every region the provider has.
    return []


def _deployment_key(
    info: Mapping[str, Any], provider: str, number: int, used: Mapping[str, str], where: _Where
) -> str:
    """``model_info.id``, else ``{provider}-{n}`` for the provider's n-th entry."""
    stated = info.get("id")
    if stated is not None:
        key = str(stated) if isinstance(stated, int | str) and not isinstance(stated, bool) else ""
        if not _KEY.match(key):
            raise where.under("model_info").error(
                f"must be a name without spaces or '/', got {stated!r}", "id"
            )
        if key in used:
            raise where.under("model_info").error(
                f"id {key!r} is already taken by {used[key]}", "id"
            )
        return key
    while f"{provider}-{number}" in used:
        number += 1
    return f"{provider}-{number}"


def import_litellm_config(raw: Mapping[str, Any], base: Catalog, *, source: str) -> ImportResult:
    """A standalone catalog document of a LiteLLM proxy config's deployments
    (and the models and providers they need), with one alias per model group."""
    model_list = raw.get("model_list")
    if not isinstance(model_list, list):
        raise CatalogError(
            "a LiteLLM proxy config needs a model_list (a list of deployments)",
            source=source,
            field="model_list",
        )
    known = _Base(base)
    models: dict[str, dict[str, Any]] = {}
    providers: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[str]] = {}
    used: dict[str, str] = {}  # deployment key -> the entry that took it
    per_provider: Counter[str] = Counter()
    warnings: list[str] = []
    skipped: Counter[str] = Counter()
    if not model_list:
        warnings.append("model_list is empty: nothing to import")
    for index, entry in enumerate(model_list):
        where = _Where(source, f"model_list[{index}]")
        if not isinstance(entry, Mapping):
            raise where.error(f"must be a mapping, got {type(entry).__name__}")
        group = entry.get("model_name")
        if not isinstance(group, str) or not _NAME.match(group):
            raise where.error(f"must be a name without spaces, got {group!r}", "model_name")
        where = _Where(source, f"model_list[{index}] ({group})")
        params = _mapping(entry.get("litellm_params"), where, "litellm_params", required=True)
        info = _mapping(entry.get("model_info"), where, "model_info", required=False)
        mode = info.get("mode")
        if mode is not None and mode != "chat":
            skipped[f"mode={mode}"] += 1
            continue
        at_params, at_info = where.under("litellm_params"), where.under("model_info")
        litellm_provider, name = _split_model(params, at_params)
        provider = provider_from_litellm(litellm_provider)
        if provider is None:
            skipped[f"litellm_provider={litellm_provider}"] += 1
            continue
        base_model = info.get("base_model")
        if base_model is not None:
            if not isinstance(base_model, str) or not base_model.strip():
                raise at_info.error("must be a model name", "base_model")
            prefix, sep, rest = base_model.strip().partition("/")
            same = prefix == litellm_provider or provider_from_litellm(prefix) == provider
            name = rest if sep and rest and same else base_model.strip()
        underlying = name.lower()
        if not _NAME.match(underlying):
            raise at_params.error(f"{name!r} cannot be a model id", "model")

        found, notes = known.find(litellm_provider, provider, underlying)
        model_id = found.model if found is not None else underlying
        model: dict[str, Any] = {}
        deployment: dict[str, Any] = {"provider": provider}
        capabilities: dict[str, bool] = {}
        if found is not None:
            model, copied, capabilities = _copy_from_base(base, found, found.provider == provider)
            deployment.update(copied)
        elif (vendor := infer_vendor(provider, model_id)) is not None:
            model["vendor"] = vendor

        # What the config states wins over the base: prices as a whole (a
        # negotiated price voids the base's batch and priority rates too), and
        # limits and capabilities one by one.
        facts = _read_facts(info, at_info).over(_read_facts(params, at_params))
        stated = _rules(facts.prices)
        if stated:
            deployment["prices"] = stated
        elif facts.prices:
            notes.append("the config's prices have no standard rate (only batch/flex/priority)")
        for attribute in ("context_window", "max_output_tokens"):
            if (value := getattr(facts, attribute)) is not None:
                deployment[attribute] = value
        capabilities.update(facts.capabilities)
        if capabilities:
            deployment["capabilities"] = capabilities
        if facts.deprecated:
            deployment["deprecated"] = True
        deployment["regions"] = _regions(params, at_params)
        if params.get("weight") is not None:
            deployment["weight"] = _whole(params["weight"], at_params, "weight")
        if params.get("order") is not None:
            deployment["order"] = _whole(params["order"], at_params, "order")

        rules, problem = _price_warnings(deployment.get("prices", []))
        if rules:
            deployment["prices"] = rules
        else:
            deployment.pop("prices", None)
            hint = ""
            if provider == "azure" and base_model is None:
                hint = (
                    "; for azure the name after 'azure/' is a deployment name: "
                    "set model_info.base_model"
                )
            problem = (
                f"no prices for {provider}/{model_id}: neither the base catalog nor the config "
                f"prices it; the router rejects it as price_unknown{hint}"
            )
        per_provider[provider] += 1
        key = _deployment_key(info, provider, per_provider[provider], used, where)
        used[key] = where.entry
        _validated(deployment, where)

        warnings += [f"entry {where.entry}: {note}" for note in notes]
        if problem is not None:
            warnings.append(f"entry {where.entry}: {problem}")
        target = models.setdefault(model_id, {**model, "deployments": {}})
        target["deployments"][key] = deployment
        groups.setdefault(group, []).append(f"{key}/{model_id}")
        if provider not in providers and provider in base.document.providers:
            providers[provider] = base.document.providers[provider].model_dump(
                mode="json", exclude_none=True
            )

    aliases = _aliases(groups, models, source)
    settings = _mapping(
        raw.get("router_settings"), _Where(source, "router_settings"), None, required=False
    )
    _group_aliases(settings, groups, aliases, models, source)
    document = {"schema": SCHEMA_ID, "providers": providers, "models": models, "aliases": aliases}
    validate_layer(source, document)
    return ImportResult(document, tuple(warnings), dict(skipped))


def _aliases(
    groups: Mapping[str, list[str]], models: Mapping[str, Mapping[str, Any]], source: str
) -> dict[str, list[str]]:
    aliases: dict[str, list[str]] = {}
    for group, targets in groups.items():
        if group in models:
            # The model id already resolves to all of its deployments: an alias of
            # the same name is neither needed nor allowed. If the group is only
            # some of them, a request for it would reach the others too.
            own = {f"{key}/{group}" for key in models[group]["deployments"]}
            if set(targets) != own:
                raise CatalogError(
                    f"model group {group!r} has the name of model {group} but not all of its "
                    f"deployments ({', '.join(sorted(own - set(targets)))} are in other "
                    "groups): rename the group",
                    source=source,
                    entry=f"model_name {group}",
                    field="model_name",
                )
            continue
        aliases[group] = list(targets)
    return aliases


def _group_aliases(
    settings: Mapping[str, Any],
    groups: Mapping[str, list[str]],
    aliases: dict[str, list[str]],
    models: Mapping[str, Any],
    source: str,
) -> None:
    """``router_settings.model_group_alias: {alias: group}`` (or ``{model: group}``)."""
    where = _Where(source, "router_settings")
    table = _mapping(settings.get("model_group_alias"), where, "model_group_alias", required=False)
    for alias, value in table.items():
        name = f"model_group_alias.{alias}"
        group = value.get("model") if isinstance(value, Mapping) else value
        if not isinstance(alias, str) or not _NAME.match(alias):
            raise where.error(f"{alias!r} is not a name without spaces", name)
        if alias in models or alias in aliases:
            raise where.error(f"{alias!r} is already a model or a model group", name)
        if not isinstance(group, str) or group not in groups:
            raise where.error(f"{group!r} is not a model group of model_list", name)
        aliases[alias] = list(aliases.get(group, [group]))
