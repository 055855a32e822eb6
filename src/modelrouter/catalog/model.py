"""The catalog's values: providers, models, deployments and aliases.

All frozen. A capability or term is ``True``, ``False`` or ``None`` (unknown);
unknown is never read as either answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from modelrouter.catalog.prices import PriceSchedule

__all__ = [
    "Alias",
    "ApiShape",
    "Capabilities",
    "DataTerms",
    "Deployment",
    "Endpoint",
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


class ApiShape(StrEnum):
    """The wire format a gateway speaks to call a deployment. The values are
    stable: gateways pick their client on them."""

    OPENAI_CHAT = "openai-chat"
    OPENAI_RESPONSES = "openai-responses"
    ANTHROPIC_MESSAGES = "anthropic-messages"
    GEMINI = "gemini"
    BEDROCK_CONVERSE = "bedrock-converse"


_ENDPOINT_FIELDS = ("upstream_model", "api_base", "api_version", "api_shape", "credential_ref")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What a gateway needs to call a deployment, so that it keeps no table of
    its own from hop to endpoint. ``credential_ref`` is the *name* of a secret
    (an environment variable, a vault key) that the gateway resolves; the
    catalog never holds the secret, since every plan copies its hops' endpoints.
    Any field may be unknown (None): Azure's ``api_base``, say, is per resource."""

    # The id sent to the provider (an Azure deployment name, a Bedrock model id).
    upstream_model: str | None = None
    api_base: str | None = None
    api_version: str | None = None
    api_shape: ApiShape | None = None
    credential_ref: str | None = None
    # ``to_dict``'s answer, kept: every plan that names this hop copies it.
    _encoded: dict[str, str] | None = field(default=None, init=False, compare=False, repr=False)

    def to_dict(self) -> dict[str, str]:
        encoded = self._encoded
        if encoded is None:
            # Only what is known: a field added later leaves older hops' JSON, and
            # so their plan hashes, as they were.
            encoded = {}
            for name in _ENDPOINT_FIELDS:
                value = getattr(self, name)
                if value is not None:
                    encoded[name] = value.value if isinstance(value, ApiShape) else value
            object.__setattr__(self, "_encoded", encoded)
        return dict(encoded)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Endpoint:
        if not isinstance(raw, Mapping):
            raise TypeError(f"an endpoint must be a mapping, got {type(raw).__name__}")
        values: dict[str, Any] = {}
        for name in _ENDPOINT_FIELDS:
            value = raw.get(name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"endpoint {name} must be text, got {value!r}")
            values[name] = value
        shape = values["api_shape"]
        values["api_shape"] = None if shape is None else ApiShape(shape)
        return cls(**values)


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
    # How a gateway calls it; None when neither the deployment nor its provider says.
    endpoint: Endpoint | None = None
    # Labels a request's ``tags`` select on (LiteLLM's tag routing; ``default``
    # serves requests that carry none).
    tags: tuple[str, ...] = ()

    @property
    def rate_limited(self) -> bool:
        """Whether a requests- or tokens-per-minute limit counts against it: the
        one rule every signal backend and the compiled table count by."""
        return self.rpm is not None or self.tpm is not None


@dataclass(frozen=True, slots=True)
class Alias:
    """A name for a list of targets, with the chains that follow them: after
    every target (``fallbacks``), when the request does not fit the targets'
    windows (``context_window_fallbacks``), and after a ``content_policy``
    refusal (``content_policy_fallbacks``). Chains name models or aliases."""

    name: str
    targets: tuple[str, ...]
    fallbacks: tuple[str, ...] = ()
    context_window_fallbacks: tuple[str, ...] = ()
    content_policy_fallbacks: tuple[str, ...] = ()
