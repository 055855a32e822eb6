"""The catalog document: our documented YAML/JSON schema, validated strictly.

Every source (the bundled default, catalog files, importers) produces a
document of this shape. Layers merge field by field, and the merged document
is the catalog's canonical content: its hash is the catalog version.

```yaml
schema: modelrouter.catalog/v1
providers:
  azure:
    name: Microsoft Azure
    regions: [us, eu]
    data: {zero_data_retention: false}
    # Defaults for every azure deployment's endpoint; a deployment's own win, field by field.
    endpoint: {api_shape: openai-chat, api_version: "2024-10-21", credential_ref: AZURE_API_KEY}
models:
  gpt-4o:
    vendor: openai
    context_window: 128000
    max_output_tokens: 16384
    capabilities: {streaming: true, tools: true, vision: true, json_schema: true}
    quality: {score: 1265, scale: lmarena-text-elo}
    deployments:
      azure:                       # key: a name for the deployment; provider defaults to it
        regions: [eu]
        prices: {input: "2.50", output: "10", cache_read: "1.25"}   # USD per million tokens
        latency: {ttft_ms: 500, output_tokens_per_s: 80}
        weight: 2
        endpoint:                  # what a gateway needs to call it
          upstream_model: contoso-gpt4o-eu        # the id sent upstream; default: the model id
          api_base: https://contoso-eu.openai.azure.com
          credential_ref: AZURE_EU_KEY            # the NAME of the secret, never the secret
aliases:
  fast-chat: [gpt-4o-mini, groq/llama-3.1-8b-instant]
```
"""

from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from modelrouter.bounds import Count
from modelrouter.bounds import Name as BoundedName
from modelrouter.catalog.model import ApiShape
from modelrouter.money import parse_decimal
from modelrouter.pricing.units import UNITS

__all__ = [
    "SCHEMA_ID",
    "AliasSpec",
    "CapabilitiesSpec",
    "CatalogDocument",
    "DataTermsSpec",
    "DeploymentSpec",
    "EndpointDefaultsSpec",
    "EndpointSpec",
    "GenaiRef",
    "LatencySpec",
    "ModelSpec",
    "PriceRuleSpec",
    "ProviderSpec",
    "QualitySpec",
    "RateSpec",
    "RatesSpec",
    "TierSpec",
    "check_api_base",
    "check_credential_ref",
]

SCHEMA_ID = "modelrouter.catalog/v1"

Name = Annotated[BoundedName, Field(pattern=r"^[^\s]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _money(value: Any) -> Decimal:
    return parse_decimal(value, what="price")


class TierSpec(_Strict):
    above_input_tokens: Count = Field(ge=0)
    rate: Decimal

    _rate = field_validator("rate", mode="before")(_money)


class RateSpec(_Strict):
    """A tiered rate: ``base`` until the request's input passes a tier's threshold."""

    base: Decimal
    tiers: list[TierSpec] = Field(min_length=1)

    _base = field_validator("base", mode="before")(_money)

    @field_validator("tiers")
    @classmethod
    def _ascending(cls, tiers: list[TierSpec]) -> list[TierSpec]:
        starts = [tier.above_input_tokens for tier in tiers]
        if starts != sorted(set(starts)):
            raise ValueError("tiers must have strictly ascending above_input_tokens")
        return tiers


Rate = Decimal | RateSpec


class _RatesBase(_Strict):
    """Rates in USD per million tokens; ``request`` is USD per request. The
    fields are the units of ``pricing.units``."""

    @field_validator("*", mode="before")
    @classmethod
    def _decimals(cls, value: Any) -> Any:
        if value is None or isinstance(value, dict | RateSpec):
            return value
        return _money(value)


if TYPE_CHECKING:
    RatesSpec = _RatesBase
else:
    # One optional field per unit of the table: a flat or tiered rate, and a
    # plain amount for the per-request fee.
    RatesSpec = create_model(
        "RatesSpec",
        __base__=_RatesBase,
        **{
            unit.name: ((Decimal if unit.side == "request" else Rate) | None, None)
            for unit in UNITS
        },
    )


class PriceRuleSpec(_Strict):
    rates: RatesSpec
    from_: date | None = Field(default=None, alias="from")
    daily_utc: tuple[time, time] | None = None
    when: dict[str, str] | None = None


class GenaiRef(_Strict):
    """Take this deployment's prices from the genai-prices data bundled in the
    installed package (offline): its provider id and model id, exactly."""

    provider: Name
    model: Name


class CapabilitiesSpec(_Strict):
    streaming: bool | None = None
    tools: bool | None = None
    vision: bool | None = None
    json_schema: bool | None = None
    reasoning: bool | None = None


class DataTermsSpec(_Strict):
    zero_data_retention: bool | None = None
    no_training: bool | None = None
    retention_days: Count | None = Field(default=None, ge=0)
    source: str | None = None


class LatencySpec(_Strict):
    """Priors: time to first token and output speed; either may be unknown."""

    ttft_ms: Decimal | None = Field(default=None, gt=0)
    output_tokens_per_s: Decimal | None = Field(default=None, gt=0)

    @field_validator("ttft_ms", "output_tokens_per_s", mode="before")
    @classmethod
    def _decimal(cls, value: Any) -> Decimal | None:
        return None if value is None else parse_decimal(value, what="latency")


class QualitySpec(_Strict):
    score: Decimal
    scale: Name
    source: str | None = None
    as_of: str | None = None

    @field_validator("score", mode="before")
    @classmethod
    def _decimal(cls, value: Any) -> Decimal:
        return parse_decimal(value, what="quality score")

    @field_validator("as_of", mode="before")
    @classmethod
    def _date_text(cls, value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value


# -- endpoints -----------------------------------------------------------------

MAX_CREDENTIAL_REF = 100
_REF_CHARS = re.compile(r"^[A-Za-z0-9_./:-]+$")
# Prefixes of well-known API keys (OpenAI, Anthropic, OpenRouter and DeepSeek
# use sk-; Groq gsk_, xAI xai-, Google AIza, Perplexity pplx-, Cerebras csk-,
# GitHub ghp_).
_KEY_PREFIXES = ("sk-", "sk_", "gsk_", "xai-", "AIza", "pplx-", "csk-", "ghp_")
_RUN = re.compile(r"[A-Za-z0-9]+")
_API_BASE = re.compile(r"^https?://[^\s/?#@]+(/[^\s?#@]*)?$")


def check_credential_ref(value: str) -> str:
    """A credential reference: the name of a secret, which the catalog and
    every plan copy, so it must never be the secret itself. Names are short
    words joined by ``_ . / : -`` (``AZURE_EU_KEY``, ``vault:llm/azure-eu``);
    keys are long random runs, or start as the well-known ones do. The
    message never repeats the value: it may be a key."""
    why = None
    if len(value) > MAX_CREDENTIAL_REF:
        why = f"it is longer than {MAX_CREDENTIAL_REF} characters"
    elif not _REF_CHARS.match(value):
        why = "it has characters outside A-Z a-z 0-9 _ . / : -"
    elif not (value[0].isalpha() or value[0] == "_"):
        why = "it does not start with a letter or '_'"
    elif prefix := next((p for p in _KEY_PREFIXES if value.startswith(p)), None):
        why = f"it starts with {prefix!r}, as API keys do"
    else:
        for run in _RUN.findall(value):
            mixed = any(c.isdigit() for c in run) and any(c.isalpha() for c in run)
            if len(run) >= 32 or (len(run) >= 20 and mixed):
                why = f"it has a run of {len(run)} letters and digits, as keys do"
                break
    if why is not None:
        raise ValueError(
            "must be the name of a secret (an environment variable such as AZURE_API_KEY), "
            f"never the secret: {why}"
        )
    return value


def check_api_base(value: str) -> str:
    """An http(s) URL without user info, query or fragment: those are where a
    key hides (``?key=...``), and the URL is copied into every plan."""
    if len(value) > 500 or not _API_BASE.match(value):
        raise ValueError(
            "must be an http(s) URL without credentials, query or fragment "
            "(e.g. https://api.openai.com/v1)"
        )
    return value


class EndpointDefaultsSpec(_Strict):
    """How a provider's deployments are called, where they do not say: a
    provider's ``endpoint:`` block. Every field is optional."""

    api_base: str | None = None
    api_version: Name | None = None
    api_shape: ApiShape | None = None
    credential_ref: str | None = None

    _api_base = field_validator("api_base")(check_api_base)
    _credential_ref = field_validator("credential_ref")(check_credential_ref)

    @field_validator("api_version", mode="before")
    @classmethod
    def _date_text(cls, value: Any) -> Any:
        # YAML reads an unquoted 2024-10-21 as a date; it is the version's name.
        return value.isoformat() if isinstance(value, date) else value


class EndpointSpec(EndpointDefaultsSpec):
    """A deployment's ``endpoint:`` block; with no ``upstream_model`` the
    model id is sent (or, for a deployment priced from genai-prices, the
    provider's own id that genai-prices names)."""

    upstream_model: Name | None = None


class DeploymentSpec(_Strict):
    provider: Name | None = None
    genai: GenaiRef | None = None
    prices: list[PriceRuleSpec] | None = None
    regions: list[Name] | None = None
    context_window: Count | None = Field(default=None, gt=0)
    max_output_tokens: Count | None = Field(default=None, gt=0)
    capabilities: CapabilitiesSpec | None = None
    latency: LatencySpec | None = None
    data: DataTermsSpec | None = None
    deprecated: bool | None = None
    weight: Count | None = Field(default=None, ge=0, le=1_000_000)
    order: Count | None = None
    # The provider's limits for this deployment: requests and tokens per minute.
    rpm: Count | None = Field(default=None, gt=0, le=10**9)
    tpm: Count | None = Field(default=None, gt=0, le=10**12)
    endpoint: EndpointSpec | None = None
    tags: list[Name] | None = Field(default=None, max_length=50)

    @field_validator("prices", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # ``prices: {input: .., output: ..}`` is shorthand for one standard rule.
        if isinstance(value, dict):
            return [{"rates": value}]
        return value


class ModelSpec(_Strict):
    vendor: Name | None = None
    name: str | None = None
    context_window: Count | None = Field(default=None, gt=0)
    max_output_tokens: Count | None = Field(default=None, gt=0)
    capabilities: CapabilitiesSpec | None = None
    quality: QualitySpec | None = None
    deprecated: bool | None = None
    deployments: dict[Name, DeploymentSpec] = Field(default_factory=dict)


class AliasSpec(_Strict):
    """An alias with chains; a plain list is an alias of targets only."""

    targets: list[Name] = Field(min_length=1, max_length=1000)
    fallbacks: list[Name] = Field(default_factory=list, max_length=20)
    context_window_fallbacks: list[Name] = Field(default_factory=list, max_length=20)
    content_policy_fallbacks: list[Name] = Field(default_factory=list, max_length=20)


class ProviderSpec(_Strict):
    name: str | None = None
    regions: list[Name] | None = None
    data: DataTermsSpec | None = None
    endpoint: EndpointDefaultsSpec | None = None


class CatalogDocument(_Strict):
    schema_: Literal["modelrouter.catalog/v1"] = Field(
        default="modelrouter.catalog/v1", alias="schema"
    )
    providers: dict[Name, ProviderSpec] = Field(default_factory=dict)
    models: dict[Name, ModelSpec] = Field(default_factory=dict)
    # An alias may have a model's name: it then means its own targets (a
    # LiteLLM group ``gpt-4o`` over two of gpt-4o's deployments).
    aliases: dict[Name, list[Name] | AliasSpec] = Field(default_factory=dict)
