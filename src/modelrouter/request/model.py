"""The routing request: one pydantic model for the library, the CLI and the HTTP API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from modelrouter.bounds import Amount, Count, Name, Timestamp, amount
from modelrouter.catalog.model import Feature
from modelrouter.errors import invalid_input_from
from modelrouter.request.bodies import translate
from modelrouter.types import Percentile, Strategy, Weights

__all__ = [
    "MAX_INPUT_TOKENS",
    "SERVICE_TIERS",
    "AllowDeny",
    "ContentPart",
    "DataRequirements",
    "Message",
    "RouteRequest",
    "Strategy",
    "Weights",
    "parse_request",
    "price_context",
]

MAX_INPUT_TOKENS = 100_000_000
MAX_MESSAGES = 10_000
MAX_TEXT = 2_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AllowDeny(_Strict):
    """``allow``: only these (None = no allow-list); ``deny``: never these."""

    allow: list[Name] | None = Field(default=None, max_length=1000)
    deny: list[Name] = Field(default_factory=list, max_length=1000)


class DataRequirements(_Strict):
    zero_data_retention: bool = False
    no_training: bool = False


class ContentPart(_Strict):
    type: Literal["text", "image_url", "input_image", "image", "input_audio", "file"]
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    image_url: Any = None
    input_audio: Any = None
    file: Any = None
    source: Any = None


class Message(BaseModel):
    # Chat messages come from many SDKs: unknown keys (name, tool_calls...) are kept, not refused.
    model_config = ConfigDict(extra="allow", frozen=True)

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    @field_validator("content")
    @classmethod
    def _length(cls, value: str | list[ContentPart] | None) -> str | list[ContentPart] | None:
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise ValueError(f"message content is longer than {MAX_TEXT} characters")
        return value


class RouteRequest(_Strict):
    """What a gateway asks: serve ``model`` for this request, within these limits."""

    model: Name
    tenant_id: Name | None = None
    request_id: Name | None = None
    # Requests with one affinity key draw the same deployment among equals
    # (stickiness asked for, never implied by equal content).
    affinity_key: Name | None = None
    input_tokens: Count | None = Field(default=None, ge=0, le=MAX_INPUT_TOKENS)
    messages: list[Message] | None = Field(default=None, min_length=1, max_length=MAX_MESSAGES)
    max_output_tokens: Count | None = Field(default=None, gt=0, le=MAX_INPUT_TOKENS)
    expected_output_tokens: Count | None = Field(default=None, ge=0, le=MAX_INPUT_TOKENS)
    expected_cache_hit_ratio: Decimal | None = Field(default=None, ge=0, le=1)
    require: list[Feature] = Field(default_factory=list, max_length=20)
    # Only deployments carrying all of these (LiteLLM's tag routing).
    tags: list[Name] = Field(default_factory=list, max_length=20)
    regions: list[Name] | None = Field(default=None, max_length=100)
    providers: AllowDeny | None = None
    vendors: AllowDeny | None = None
    data: DataRequirements = Field(default_factory=DataRequirements)
    max_cost_usd: Amount | None = None
    strategy: Strategy | None = None
    weights: Weights | None = None
    fallback_models: list[Name] = Field(default_factory=list, max_length=20)
    max_fallbacks: Count | None = Field(default=None, ge=0, le=20)
    service_tier: Literal["standard", "flex", "priority", "batch"] = "standard"
    timestamp: Timestamp | None = None
    # Preferred cut-offs: deployments whose time to first token or output speed
    # at ``latency_percentile`` misses them go after those that meet them
    # (deprioritised, never excluded).
    max_latency_ms: Amount | None = None
    min_output_tokens_per_s: Amount | None = None
    latency_percentile: Percentile | None = None
    # Caps on each hop's per-million-token prices (OpenRouter's max_price).
    max_input_price_per_mtok: Amount | None = None
    max_output_price_per_mtok: Amount | None = None
    # What was mapped from an OpenAI, OpenRouter or Anthropic body (``request.bodies``).
    translation: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=list, max_length=50
    )

    @model_validator(mode="before")
    @classmethod
    def _translate(cls, data: Any) -> Any:
        # The bodies gateways already send are routed as they are.
        return translate(data) if isinstance(data, Mapping) else data

    # A ratio keeps its bounds in the schema (an annotated amount would hide them).
    _ratio = field_validator("expected_cache_hit_ratio", mode="before")(amount)

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @model_validator(mode="after")
    def _one_input(self) -> RouteRequest:
        if (self.input_tokens is None) == (self.messages is None):
            raise ValueError("give exactly one of input_tokens or messages")
        if (
            self.expected_output_tokens is not None
            and self.max_output_tokens is not None
            and self.expected_output_tokens > self.max_output_tokens
        ):
            raise ValueError("expected_output_tokens is above max_output_tokens")
        return self


SERVICE_TIERS = ("standard", "flex", "priority", "batch")


def price_context(service_tier: str) -> dict[str, str]:
    """The price-context keys a service tier selects in the catalog's price
    variants (genai-prices' names: ``processing``, ``service_tier``)."""
    if service_tier == "batch":
        return {"processing": "batch"}
    if service_tier in ("flex", "priority"):
        return {"service_tier": service_tier}
    return {}


def parse_request(raw: object) -> RouteRequest:
    """Validate a request from outside; errors name the field."""
    if isinstance(raw, RouteRequest):
        return raw
    try:
        return RouteRequest.model_validate(raw)
    except ValidationError as exc:
        raise invalid_input_from(exc) from None
