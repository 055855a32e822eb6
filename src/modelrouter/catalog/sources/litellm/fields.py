"""What both LiteLLM importers share: LiteLLM's provider names and regions
mapped onto ours, its per-token price fields read into our price units
(exactly: per token to per million tokens is a shift), and the facts an entry
states about a deployment (context window, capabilities)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from modelrouter.catalog.schema import DeploymentSpec
from modelrouter.catalog.sources.litellm.report import ImportReport
from modelrouter.errors import CatalogError, first_problem
from modelrouter.money import exact_str, parse_decimal
from modelrouter.pricing.units import BY_NAME, UNIT_NAMES, UNITS

if TYPE_CHECKING:
    pass

__all__ = ["ImportResult", "provider_from_litellm"]


@dataclass(frozen=True)
class ImportResult:
    document: dict[str, Any]  # a catalog document in our schema
    warnings: tuple[str, ...]  # human-readable, each names the entry
    skipped: Mapping[str, int]  # reason -> count, e.g. "mode=embedding": 812
    # A platform-policy fragment (valid under ``policy.document.parse_policy``)
    # of the settings that are policy in modelrouter: strategy, health, budgets.
    policy: dict[str, Any] = field(default_factory=dict)
    report: ImportReport = field(default_factory=ImportReport)


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
_UNITS = {unit.litellm: unit.name for unit in UNITS if unit.litellm}
_UNIT_ORDER = UNIT_NAMES
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
    return amount if BY_NAME[unit].side == "request" else amount.scaleb(6)


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
        path, message = first_problem(exc.errors(include_url=False))
        raise where.error(message, path) from None
    return deployment
