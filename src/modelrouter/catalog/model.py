"""The catalog's values: providers, models, deployments and aliases.

All frozen. A capability or term is ``True``, ``False`` or ``None`` (unknown);
unknown is never read as either answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from modelrouter.catalog.prices import PriceSchedule

__all__ = [
    "Alias",
    "Capabilities",
    "DataTerms",
    "Deployment",
    "Feature",
    "LatencyPrior",
    "Model",
    "Provider",
    "Quality",
]


class Feature(StrEnum):
    STREAMING = "streaming"
    TOOLS = "tools"
    VISION = "vision"
    JSON_SCHEMA = "json_schema"
    REASONING = "reasoning"


@dataclass(frozen=True, slots=True)
class Capabilities:
    streaming: bool | None = None
    tools: bool | None = None
    vision: bool | None = None
    json_schema: bool | None = None
    reasoning: bool | None = None

    def get(self, feature: Feature) -> bool | None:
        value: bool | None = getattr(self, feature.value)
        return value


@dataclass(frozen=True, slots=True)
class DataTerms:
    zero_data_retention: bool | None = None
    no_training: bool | None = None
    retention_days: int | None = None


@dataclass(frozen=True, slots=True)
class LatencyPrior:
    ttft_ms: Decimal | None
    output_tokens_per_s: Decimal | None


@dataclass(frozen=True, slots=True)
class Quality:
    score: Decimal
    scale: str
    source: str | None = None
    as_of: str | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    id: str
    name: str
    regions: tuple[str, ...]
    data: DataTerms


@dataclass(frozen=True, slots=True)
class Model:
    id: str
    vendor: str
    name: str
    quality: Quality | None
    deprecated: bool


@dataclass(frozen=True, slots=True)
class Deployment:
    """One model served by one provider: the unit that is routed to."""

    id: str
    provider: str
    model: str
    vendor: str
    regions: tuple[str, ...]
    context_window: int | None
    max_output_tokens: int | None
    capabilities: Capabilities
    prices: PriceSchedule | None
    latency: LatencyPrior | None
    data: DataTerms
    quality: Quality | None
    deprecated: bool
    weight: int = 1
    # Lower runs first among otherwise equal candidates (LiteLLM's ``order``).
    order: int | None = None
    # Requests and tokens per minute the provider allows this deployment.
    rpm: int | None = None
    tpm: int | None = None


@dataclass(frozen=True, slots=True)
class Alias:
    name: str
    targets: tuple[str, ...]
