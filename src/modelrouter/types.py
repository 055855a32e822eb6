"""Values shared by every layer: rejections, estimates, candidates, plans, signals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from modelrouter.catalog.model import Endpoint
from modelrouter.encoding import json_hash
from modelrouter.errors import InvalidInputError
from modelrouter.frozen import quick_init
from modelrouter.money import exact_str, parse_decimal

__all__ = [
    "SNAPSHOT_FORMAT",
    "Candidate",
    "CircuitState",
    "CostEstimate",
    "DeploymentSignals",
    "RecordedInputs",
    "Rejection",
    "RejectionCode",
    "RoutingPlan",
    "Strategy",
    "Weights",
]


class Strategy(StrEnum):
    CHEAPEST = "cheapest"
    FASTEST = "fastest"
    QUALITY = "quality"
    PINNED = "pinned"
    BALANCED = "balanced"
    # LiteLLM's simple-shuffle: traffic split by weight among the admissible.
    WEIGHTED = "weighted"


class Weights(BaseModel):
    """Balanced strategy weights; they need not sum to one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cost: Decimal = Decimal(1)
    latency: Decimal = Decimal(1)
    quality: Decimal = Decimal(1)
    # How much ``balanced`` prefers deployments with rpm/tpm headroom left; it
    # counts only among candidates that have a limit.
    headroom: Decimal = Decimal("0.5")

    @field_validator("cost", "latency", "quality", "headroom", mode="before")
    @classmethod
    def _decimal(cls, value: Any) -> Decimal:
        return parse_decimal(value, what="weight")

    @model_validator(mode="after")
    def _not_all_zero(self) -> Weights:
        if not (self.cost or self.latency or self.quality):
            raise ValueError("at least one weight must be above zero")
        return self


class RejectionCode(StrEnum):
    """Why a candidate fell. The values are stable: scripts and dashboards key on them."""

    CONTEXT_WINDOW_TOO_SMALL = "context_window_too_small"
    CONTEXT_WINDOW_UNKNOWN = "context_window_unknown"
    MAX_OUTPUT_TOO_SMALL = "max_output_too_small"
    FEATURE_UNSUPPORTED = "feature_unsupported"
    FEATURE_UNKNOWN = "feature_unknown"
    REGION_NOT_ALLOWED = "region_not_allowed"
    PROVIDER_NOT_ALLOWED = "provider_not_allowed"
    PROVIDER_DENIED = "provider_denied"
    VENDOR_NOT_ALLOWED = "vendor_not_allowed"
    VENDOR_DENIED = "vendor_denied"
    MODEL_NOT_ALLOWED = "model_not_allowed"
    MODEL_DENIED = "model_denied"
    ZERO_DATA_RETENTION_REQUIRED = "zero_data_retention_required"
    NO_TRAINING_REQUIRED = "no_training_required"
    PRICE_UNKNOWN = "price_unknown"
    COST_ABOVE_MAX = "cost_above_max"
    INPUT_PRICE_ABOVE_MAX = "input_price_above_max"
    OUTPUT_PRICE_ABOVE_MAX = "output_price_above_max"
    MODEL_DEPRECATED = "model_deprecated"
    CIRCUIT_OPEN = "circuit_open"
    RATE_LIMIT_HEADROOM = "rate_limit_headroom"
    TAG_MISMATCH = "tag_mismatch"
    TAG_DENIED = "tag_denied"
    BUDGET_EXCEEDED = "budget_exceeded"


@quick_init
@dataclass(frozen=True, slots=True)
class Rejection:
    deployment: str
    code: RejectionCode
    message: str
    need: str | None = None
    have: str | None = None
    # Which requested name brought the candidate in: the model, or a fallback model.
    via: str | None = None
    # For policy rejections: which document's rule fell it ("platform", "tenant", "request").
    rule: str | None = None
    # For rejections that pass with time (an open circuit, no headroom): the
    # error class that caused it and when it is over.
    error_class: str | None = None
    resets_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "deployment": self.deployment,
            "code": self.code.value,
            "message": self.message,
        }
        for key in _REJECTION_OPTIONAL:
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Rejection:
        return cls(
            deployment=raw["deployment"],
            code=RejectionCode(raw["code"]),
            message=raw["message"],
            **{key: raw.get(key) for key in _REJECTION_OPTIONAL},
        )


_REJECTION_OPTIONAL = ("need", "have", "via", "rule", "error_class", "resets_at")


@quick_init
@dataclass(frozen=True, slots=True)
class CostEstimate:
    """Before inference: the expected cost, and the most the request can cost."""

    input_tokens: int
    expected_output_tokens: int
    max_output_tokens: int | None
    expected_usd: Decimal
    worst_case_usd: Decimal | None  # None: no bound on output is known
    price_rule: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "expected_output_tokens": self.expected_output_tokens,
            "max_output_tokens": self.max_output_tokens,
            "expected_usd": exact_str(self.expected_usd),
            "worst_case_usd": None
            if self.worst_case_usd is None
            else exact_str(self.worst_case_usd),
            "price_rule": self.price_rule,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CostEstimate:
        max_output = raw["max_output_tokens"]
        return cls(
            input_tokens=_whole(raw["input_tokens"]),
            expected_output_tokens=_whole(raw["expected_output_tokens"]),
            max_output_tokens=None if max_output is None else _whole(max_output),
            expected_usd=Decimal(raw["expected_usd"]),
            worst_case_usd=_decimal_or_none(raw["worst_case_usd"]),
            price_rule=raw["price_rule"],
        )


@quick_init
@dataclass(frozen=True, slots=True)
class Candidate:
    deployment: str
    provider: str
    model: str
    estimate: CostEstimate
    expected_latency_ms: Decimal | None
    quality: Decimal | None
    via: str
    # How the gateway calls this hop: the deployment's endpoint, if the catalog has one.
    endpoint: Endpoint | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "deployment": self.deployment,
            "provider": self.provider,
            "model": self.model,
            "via": self.via,
            "estimate": self.estimate.to_dict(),
            "expected_latency_ms": None
            if self.expected_latency_ms is None
            else exact_str(self.expected_latency_ms),
            "quality": None if self.quality is None else exact_str(self.quality),
        }
        # Written only when there is one: a plan over a catalog without endpoint
        # data (every one stored before they existed) hashes as it always did.
        if self.endpoint is not None:
            out["endpoint"] = self.endpoint.to_dict()
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Candidate:
        endpoint = raw.get("endpoint")
        return cls(
            deployment=raw["deployment"],
            provider=raw["provider"],
            model=raw["model"],
            estimate=CostEstimate.from_dict(raw["estimate"]),
            expected_latency_ms=_decimal_or_none(raw["expected_latency_ms"]),
            quality=_decimal_or_none(raw["quality"]),
            via=raw["via"],
            endpoint=None if endpoint is None else Endpoint.from_dict(endpoint),
        )


CircuitState = Literal["closed", "open", "half_open"]
Percentile = Literal["p50", "p90", "p99"]
PERCENTILES: tuple[Percentile, ...] = ("p50", "p90", "p99")

# Optional fields beyond the first four, written only when set: a snapshot of
# hand-made signals reads as it always did.
_SIGNAL_DECIMALS = (
    "ttft_p90_ms",
    "ttft_p99_ms",
    "output_tokens_per_s_p90",
    "output_tokens_per_s_p99",
    "samples",
    "probe_share",
    "headroom",
)
_SIGNAL_INTS = ("requests_left", "tokens_left")
# Each Decimal signal's bounds: (name, low, high, rule); a low of None means
# above 0 (a speed of zero would divide by zero in the latency estimate). Built
# once: a live view makes signals for every deployment it reads afresh.
_ZERO = Decimal(0)
_SIGNAL_RULES: tuple[tuple[str, Decimal | None, Decimal | None, str], ...] = (
    ("ttft_ms", _ZERO, None, "at least 0"),
    ("ttft_p90_ms", _ZERO, None, "at least 0"),
    ("ttft_p99_ms", _ZERO, None, "at least 0"),
    ("output_tokens_per_s", None, None, "above 0"),
    ("output_tokens_per_s_p90", None, None, "above 0"),
    ("output_tokens_per_s_p99", None, None, "above 0"),
    ("error_rate", _ZERO, Decimal(1), "between 0 and 1"),
    ("samples", _ZERO, None, "at least 0"),
    ("probe_share", _ZERO, Decimal(1), "between 0 and 1"),
    ("headroom", _ZERO, Decimal(1), "between 0 and 1"),
)
_SIGNAL_TEXTS = ("circuit_reason", "reopens_at", "headroom_resets_at")


@quick_init
@dataclass(frozen=True, slots=True)
class DeploymentSignals:
    """Live observations of one deployment, as read for one decision.

    Latency is kept at three percentiles; for output speed, ``p90`` is the
    speed nine replies in ten reach (the slow tail, like time to first token's).
    ``samples`` is how many decayed observations they rest on; the planner
    blends them with the catalog's priors until there are enough. None means
    the values were given by hand and are taken as they are."""

    ttft_ms: Decimal | None = None
    output_tokens_per_s: Decimal | None = None
    error_rate: Decimal | None = None
    circuit: CircuitState = "closed"
    ttft_p90_ms: Decimal | None = None
    ttft_p99_ms: Decimal | None = None
    output_tokens_per_s_p90: Decimal | None = None
    output_tokens_per_s_p99: Decimal | None = None
    samples: Decimal | None = None
    # Why the circuit is open or half-open (an error class), and until when it is open.
    circuit_reason: str | None = None
    reopens_at: str | None = None
    # Half-open: the share of requests let through as probes, chosen by request id.
    probe_share: Decimal | None = None
    # rpm/tpm: what this view may still send in the current minute, and when that grows.
    requests_left: int | None = None
    tokens_left: int | None = None
    headroom_resets_at: str | None = None
    # The share of the tightest limit left (0 to 1): what ``balanced`` prefers.
    headroom: Decimal | None = None
    # ``to_dict``'s answer, kept: a live view hands one value to many decisions.
    _encoded: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name, low, high, rule in _SIGNAL_RULES:
            value = getattr(self, name)
            if value is None:
                continue
            fine = value.is_finite() and (value > 0 if low is None else value >= low)
            if not fine or (high is not None and value > high):
                raise ValueError(f"signal {name} must be {rule}, got {value}")
        for name in _SIGNAL_INTS:
            count = getattr(self, name)
            if count is not None and (type(count) is not int or count < 0):
                raise ValueError(f"signal {name} must be a whole number at least 0, got {count!r}")

    def ttft_at(self, percentile: Percentile) -> Decimal | None:
        if percentile == "p90" and self.ttft_p90_ms is not None:
            return self.ttft_p90_ms
        if percentile == "p99" and self.ttft_p99_ms is not None:
            return self.ttft_p99_ms
        return self.ttft_ms

    def speed_at(self, percentile: Percentile) -> Decimal | None:
        if percentile == "p90" and self.output_tokens_per_s_p90 is not None:
            return self.output_tokens_per_s_p90
        if percentile == "p99" and self.output_tokens_per_s_p99 is not None:
            return self.output_tokens_per_s_p99
        return self.output_tokens_per_s

    def to_dict(self) -> dict[str, Any]:
        if self._encoded is None:
            object.__setattr__(self, "_encoded", self._to_dict())
        assert self._encoded is not None
        return dict(self._encoded)

    def _to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ttft_ms": None if self.ttft_ms is None else exact_str(self.ttft_ms),
            "output_tokens_per_s": None
            if self.output_tokens_per_s is None
            else exact_str(self.output_tokens_per_s),
            "error_rate": None if self.error_rate is None else exact_str(self.error_rate),
            "circuit": self.circuit,
        }
        for name in _SIGNAL_DECIMALS:
            value = getattr(self, name)
            if value is not None:
                out[name] = exact_str(value)
        for name in (*_SIGNAL_INTS, *_SIGNAL_TEXTS):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DeploymentSignals:
        def dec(key: str) -> Decimal | None:
            value = raw.get(key)
            return None if value is None else Decimal(str(value))

        circuit = raw.get("circuit", "closed")
        if circuit not in ("closed", "open", "half_open"):
            raise ValueError(f"circuit must be closed, open or half_open, not {circuit!r}")
        extra: dict[str, Any] = {name: dec(name) for name in _SIGNAL_DECIMALS}
        for name in _SIGNAL_INTS:
            value = raw.get(name)
            extra[name] = None if value is None else _whole(value)
        for name in _SIGNAL_TEXTS:
            value = raw.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"signal {name} must be text, got {value!r}")
            extra[name] = value
        return cls(dec("ttft_ms"), dec("output_tokens_per_s"), dec("error_rate"), circuit, **extra)


class RecordedInputs(Protocol):
    """Every input a plan was computed from, as the planner read them (the
    request, the catalog version, the policy, the signals, the budget). The
    value that implements it (``routing.planner.PlanInputs``) writes itself
    into the snapshot."""

    def to_dict(self) -> dict[str, Any]: ...


SNAPSHOT_FORMAT = "modelrouter.snapshot/v1"


@quick_init
@dataclass(frozen=True, eq=False)
class RoutingPlan:
    """The decision: serve with ``primary``, fall back through ``fallbacks`` in order.

    ``plan_hash`` and ``snapshot`` are computed on first use and then kept:
    they are pure functions of the plan and its recorded ``inputs``, and a
    gateway that only needs the route should not pay for their serialisation
    on the hot path (persistence reads them off it)."""

    decision_id: str
    request_id: str
    tenant_id: str | None
    model: str
    strategy: str
    primary: Candidate
    fallbacks: tuple[Candidate, ...]
    rejected: tuple[Rejection, ...]
    catalog_version: str
    policy_version: str
    # Inputs the outcome is priced with: the request's time and price context.
    timestamp: datetime
    price_context: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    # Hops that follow an attempt failing with one of these error classes
    # instead of the main chain (an alias's ``content_policy_fallbacks``).
    chains: tuple[tuple[str, tuple[Candidate, ...]], ...] = ()
    # With budgets: the money held for this decision (its costliest hop's worst
    # case), and the ledger windows it is held in.
    reserved_usd: Decimal | None = None
    budget_keys: tuple[str, ...] = ()
    # What the plan was computed from; None for a plan read back from JSON.
    inputs: RecordedInputs | None = field(default=None, repr=False)

    @property
    def chain(self) -> tuple[Candidate, ...]:
        return (self.primary, *self.fallbacks)

    @property
    def hops(self) -> tuple[Candidate, ...]:
        """Every deployment the plan may send to: the chain, then its error chains'."""
        extra = tuple(c for _, chain in self.chains for c in chain)
        return self.chain + extra if extra else self.chain

    def next_hop(self, tried: Iterable[str], error_class: str | None = None) -> Candidate | None:
        """The hop to try after the deployments ``tried``, the last of which
        failed with ``error_class``: the first untried hop of that class's
        chain when the plan has one, else of the main chain; None when none is
        left, or after a bad request (it would fail on every hop)."""
        if error_class == "bad_request":
            return None
        done = set(tried)
        chain = dict(self.chains).get(error_class or "", self.chain)
        return next((c for c in chain if c.deployment not in done), None)

    @cached_property
    def _body(self) -> dict[str, Any]:
        budget = {} if self.reserved_usd is None else {"reserved_usd": exact_str(self.reserved_usd)}
        return {
            **budget,
            "model": self.model,
            "strategy": self.strategy,
            "primary": self.primary.to_dict(),
            "fallbacks": [candidate.to_dict() for candidate in self.fallbacks],
            "rejected": [rejection.to_dict() for rejection in self.rejected],
            "catalog_version": self.catalog_version,
            "policy_version": self.policy_version,
            "notes": list(self.notes),
            # Only when there are any: plans without chains keep their hash.
            **(
                {
                    "chains": {
                        cls: [candidate.to_dict() for candidate in chain]
                        for cls, chain in self.chains
                    }
                }
                if self.chains
                else {}
            ),
        }

    def body(self) -> dict[str, Any]:
        """The decision itself: what ``plan_hash`` covers."""
        return dict(self._body)

    @cached_property
    def plan_hash(self) -> str:
        return "sha256:" + json_hash(self._body)

    @cached_property
    def snapshot(self) -> dict[str, Any] | None:
        """Every input of the plan and the plan itself, as JSON types only:
        what ``replay`` recomputes the plan from."""
        if self.inputs is None:
            return None
        return {
            "format": SNAPSHOT_FORMAT,
            "decision_id": self.decision_id,
            "inputs": self.inputs.to_dict(),
            "output": self.to_dict(),
            "plan_hash": self.plan_hash,
        }

    def to_dict(self, *, include_snapshot: bool = False) -> dict[str, Any]:
        out = {
            "decision_id": self.decision_id,
            "request_id": self.request_id,
            "tenant_id": self.tenant_id,
            **self._body,
            "plan_hash": self.plan_hash,
            "timestamp": self.timestamp.isoformat(),
            "price_context": dict(self.price_context),
        }
        if self.budget_keys:
            out["budget_keys"] = list(self.budget_keys)
        if include_snapshot and self.snapshot is not None:
            out["snapshot"] = self.snapshot
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RoutingPlan:
        """A plan as ``to_dict`` wrote it (``route --json``, a stored decision).
        Its ``plan_hash`` must still match its content, or it was altered."""
        try:
            reserved = raw.get("reserved_usd")
            plan = cls(
                decision_id=raw["decision_id"],
                request_id=raw["request_id"],
                tenant_id=raw.get("tenant_id"),
                model=raw["model"],
                strategy=raw["strategy"],
                primary=Candidate.from_dict(raw["primary"]),
                fallbacks=tuple(Candidate.from_dict(c) for c in raw["fallbacks"]),
                rejected=tuple(Rejection.from_dict(r) for r in raw["rejected"]),
                catalog_version=raw["catalog_version"],
                policy_version=raw["policy_version"],
                timestamp=datetime.fromisoformat(raw["timestamp"]),
                price_context=tuple(sorted(raw.get("price_context", {}).items())),
                notes=tuple(raw.get("notes", ())),
                chains=tuple(
                    (cls, tuple(Candidate.from_dict(c) for c in chain))
                    for cls, chain in raw.get("chains", {}).items()
                ),
                reserved_usd=None if reserved is None else Decimal(reserved),
                budget_keys=tuple(raw.get("budget_keys", ())),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise InvalidInputError(f"malformed plan: {exc!r}") from None
        if plan.plan_hash != raw.get("plan_hash"):
            raise InvalidInputError(
                f"plan {plan.decision_id} does not match its plan_hash: it was altered",
                field="plan_hash",
            )
        return plan


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, got {value!r}")
    return value


def _decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)
