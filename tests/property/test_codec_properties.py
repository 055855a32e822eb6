"""Round trips of the codecs that sit beside their types: the request model,
the normalised request, the plan and its parts, the signals and the snapshot.

Every value is generated (requests of every shape; plans the router really
made over the small test catalog, under platform and tenant policies, budgets,
learned reply lengths and live signals), written out and read back: what comes
back must equal what went in, and what it writes must be what was written.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import ApiShape, Endpoint
from modelrouter.encoding import canonical_bytes
from modelrouter.errors import BudgetExceeded, InvalidInputError, NoRouteError, UnknownModelError
from modelrouter.money import exact_str
from modelrouter.policy.budgets import window_for
from modelrouter.policy.document import PolicyDocument, parse_policy
from modelrouter.request.model import MAX_INPUT_TOKENS, RouteRequest
from modelrouter.request.normalize import NormalizedRequest, normalize
from modelrouter.router import DEFAULT_TENANT, Router
from modelrouter.routing.planner import PlanInputs
from modelrouter.routing.replay import replay
from modelrouter.signals.budgets import MemoryBudgetStore
from modelrouter.signals.learner import MIN_OBSERVATIONS, OutputLearner
from modelrouter.types import (
    Candidate,
    CostEstimate,
    DeploymentSignals,
    Rejection,
    RejectionCode,
    RoutingPlan,
)
from tests.conftest import FIXED_NOW, small_document

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Built once: Hypothesis does not reset function-scoped fixtures between examples.
CATALOG = Catalog.from_layers([("small", small_document())])
NAMES = CATALOG.names()
DEPLOYMENTS = sorted(CATALOG.deployments)
PROVIDERS = ("alpha", "beta", "gamma")
VENDORS = ("acme", "meta")
# The small catalog's regions: an unknown one is an invalid request (routing.regions).
REGIONS = ("us", "eu")
FEATURES = ("streaming", "tools", "vision", "json_schema", "reasoning")
STRATEGIES = ("cheapest", "fastest", "quality", "pinned", "balanced")
TIERS = ("standard", "flex", "priority", "batch")

# -- building blocks -----------------------------------------------------------------

ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))]
)
# Requests are bounded to 2000-2100 UTC; a day's margin keeps every offset inside.
MOMENTS = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30))
# Naive moments too: the request model reads them as UTC.
TIMESTAMPS = st.one_of(
    MOMENTS, st.builds(lambda moment, zone: moment.replace(tzinfo=zone), MOMENTS, ZONES)
)
# Names are printable: no control characters, no lone surrogates.
PRINTABLE = st.characters(exclude_categories=("Cc", "Cs"))
MONEY = st.decimals(min_value=0, max_value=100, places=6, allow_nan=False, allow_infinity=False)
SMALL_DECIMALS = st.decimals(
    min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
PARTS = st.one_of(
    st.builds(lambda text: {"type": "text", "text": text}, st.text(max_size=40)),
    st.builds(lambda url: {"type": "image_url", "image_url": url}, JSON_VALUES),
    st.just({"type": "input_image", "image_url": "https://example.com/cat.png"}),
    st.just({"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}),
    st.just({"type": "file", "file": {"file_id": "file-1"}}),
)
MESSAGES = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["system", "developer", "user", "assistant", "tool"]),
        "content": st.one_of(st.none(), st.text(max_size=80), st.lists(PARTS, max_size=3)),
    },
    # Chat SDKs send keys of their own; they are kept, and may hold any JSON.
    optional={
        "name": st.text(min_size=1, max_size=10),
        "tool_call_id": st.text(min_size=1, max_size=10),
        "metadata": JSON_VALUES,
    },
)
WEIGHTS = st.fixed_dictionaries(
    {},
    optional={
        key: st.decimals(min_value=0, max_value=5, places=2)
        for key in ("cost", "latency", "quality")
    },
).filter(lambda weights: not weights or any(weights.values()))


def lists_of(values: tuple[str, ...] | list[str], *, min_size: int = 0) -> Any:
    return st.lists(st.sampled_from(values), unique=True, min_size=min_size, max_size=len(values))


@st.composite
def request_fields(
    draw: st.DrawFn,
    names: st.SearchStrategy[str],
    fallback_names: st.SearchStrategy[str],
    *,
    max_tokens: int,
    rare: int,
    money: st.SearchStrategy[Decimal] = MONEY,
) -> dict[str, Any]:
    """A valid request as JSON-ish fields; each optional field appears about
    once in ``rare`` draws, so requests over a real catalog still route."""

    def sometimes() -> bool:
        return draw(st.integers(1, rare)) == 1

    raw: dict[str, Any] = {"model": draw(names)}
    if draw(st.integers(0, 3)) == 0:
        raw["messages"] = draw(st.lists(MESSAGES, min_size=1, max_size=3))
    else:
        raw["input_tokens"] = draw(st.one_of(st.integers(0, 5_000), st.integers(0, max_tokens)))
    if draw(st.booleans()):
        raw["request_id"] = draw(st.text(PRINTABLE, min_size=1, max_size=12))
    if draw(st.booleans()):
        raw["tenant_id"] = draw(st.sampled_from(["acme", "initech"]))
    if draw(st.booleans()):
        raw["max_output_tokens"] = draw(st.integers(1, 10_000))
    if sometimes():
        ceiling = raw.get("max_output_tokens", 10_000)
        raw["expected_output_tokens"] = draw(st.integers(0, ceiling))
    if sometimes():
        raw["expected_cache_hit_ratio"] = draw(st.decimals(0, 1, places=2))
    if sometimes():
        raw["require"] = draw(lists_of(FEATURES))
    if sometimes():
        raw["regions"] = draw(lists_of(REGIONS, min_size=1))
    if sometimes():
        raw["providers"] = draw(
            st.fixed_dictionaries(
                {},
                optional={"allow": lists_of(PROVIDERS, min_size=1), "deny": lists_of(PROVIDERS)},
            )
        )
    if sometimes():
        raw["vendors"] = draw(
            st.fixed_dictionaries(
                {}, optional={"allow": lists_of(VENDORS, min_size=1), "deny": lists_of(VENDORS)}
            )
        )
    if sometimes():
        raw["data"] = {
            "zero_data_retention": draw(st.booleans()),
            "no_training": draw(st.booleans()),
        }
    if sometimes():
        raw["max_cost_usd"] = draw(money)
    if draw(st.booleans()):
        raw["strategy"] = draw(st.sampled_from(STRATEGIES))
    if sometimes():
        raw["weights"] = draw(WEIGHTS)
    if sometimes():
        raw["fallback_models"] = draw(st.lists(fallback_names, max_size=3))
    if draw(st.booleans()):
        raw["max_fallbacks"] = draw(st.integers(0, 6))
    if sometimes():
        raw["service_tier"] = draw(st.sampled_from(TIERS))
    if sometimes():
        raw["timestamp"] = draw(TIMESTAMPS)
    return raw


ANY_NAME = st.text(PRINTABLE, min_size=1, max_size=30)
ANY_REQUEST = request_fields(ANY_NAME, ANY_NAME, max_tokens=MAX_INPUT_TOKENS, rare=2).map(
    RouteRequest.model_validate
)
# Mostly names the catalog knows; "team" is a policy alias, "chat-lrge" a typo.
ROUTABLE_FIELDS = request_fields(
    st.sampled_from([*NAMES, "team", "chat-lrge"]),
    st.sampled_from(NAMES),
    max_tokens=200_000,
    rare=6,
    money=st.decimals(min_value="0.001", max_value=5, places=3),
)


# -- RouteRequest ---------------------------------------------------------------------


@SETTINGS
@given(ANY_REQUEST)
def test_route_request_survives_its_json_form(request: RouteRequest) -> None:
    dumped = request.model_dump(mode="json")
    again = RouteRequest.model_validate(json.loads(json.dumps(dumped)))
    assert again == request
    assert again.model_dump(mode="json") == dumped


# -- NormalizedRequest ----------------------------------------------------------------


@SETTINGS
@given(ANY_REQUEST, TIMESTAMPS, st.none() | st.integers(0, 100_000))
def test_normalized_request_round_trips(
    request: RouteRequest, now: datetime, learned: int | None
) -> None:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if request.request_id is None:  # a caller (the Router) assigns one
        request = request.model_copy(update={"request_id": "req-assigned"})
    normalized = normalize(request, now=now, learned_output_tokens=learned)
    written = normalized.to_dict()
    text = json.dumps(written)  # JSON types only: no Decimal, datetime, tuple or enum
    decoded = NormalizedRequest.from_dict(json.loads(text))
    assert decoded == normalized
    assert decoded.to_dict() == written
    # The prompt never enters the record, only its size and digest.
    assert "messages" not in written


# -- plans the router made ------------------------------------------------------------

# Policy documents, for the platform and a tenant (any pair): list rules, caps,
# routing choices, an alias, and budgets (a soft limit that switches to
# cheapest, one that turns a model away).
POLICIES: tuple[dict[str, Any] | None, ...] = (
    None,
    {"providers": {"deny": ["gamma"]}},
    {"limits": {"max_cost_per_request_usd": "0.05", "max_input_price_per_mtok": "2.8"}},
    {"routing": {"weights": {"cost": 2, "latency": 0, "quality": 1}, "diversify_providers": False}},
    {"routing": {"strategy": "quality"}, "aliases": {"team": ["chat-small", "open-70b"]}},
    {
        "budgets": [
            {"period": "day", "limit_usd": "1", "soft_limit_pct": 50, "soft_action": "cheapest"}
        ]
    },
)
# Only as the platform's, and with no tenant: a budget with a deny_models soft
# action makes PolicyStack.effective raise TypeError whenever there is a tenant
# layer to meet (Budget is hashed, and its dict action is not hashable). A bug
# in src, reported; the generator steers around it until it is fixed.
PLATFORM_ONLY: tuple[dict[str, Any], ...] = (
    {
        "limits": {"max_fallbacks": 1},
        "budgets": [
            {
                "period": "month",
                "limit_usd": "2",
                "soft_limit_pct": "10",
                "soft_action": {"deny_models": ["chat-large"]},
                "timezone": "Europe/Paris",
            }
        ],
    },
)
SIGNALS = st.builds(
    DeploymentSignals,
    ttft_ms=st.none() | SMALL_DECIMALS,
    # Above zero: nothing validates a speed, and 0 makes the planner raise
    # decimal.DivisionByZero (a bug in src, reported).
    output_tokens_per_s=st.none() | st.decimals(min_value="0.5", max_value=1000, places=1),
    error_rate=st.none() | st.decimals(min_value=0, max_value=1, places=3),
    circuit=st.sampled_from(["closed", "open", "half_open"]),
)


@dataclass(frozen=True)
class Case:
    request: dict[str, Any]
    platform_policy: PolicyDocument | None
    tenant_policy: PolicyDocument | None
    signals: dict[str, DeploymentSignals]
    spent_usd: Decimal
    reply_lengths: tuple[int, ...]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    platform = draw(st.sampled_from((*POLICIES, *PLATFORM_ONLY)))
    tenant = None if platform in PLATFORM_ONLY else draw(st.sampled_from(POLICIES))
    return Case(
        request=draw(ROUTABLE_FIELDS),
        platform_policy=None if platform is None else parse_policy(platform),
        tenant_policy=None if tenant is None else parse_policy(tenant),
        signals=draw(st.dictionaries(st.sampled_from(DEPLOYMENTS), SIGNALS, max_size=3)),
        spent_usd=draw(st.sampled_from([Decimal(0), Decimal(0), Decimal("0.6"), Decimal("0.95")])),
        reply_lengths=draw(
            st.sampled_from([(), (300,) * MIN_OBSERVATIONS, (40, 90, 120, 800, 1000, 75)])
        ),
    )


def route(case: Case) -> RoutingPlan | NoRouteError | None:
    """The plan for a case, the NoRouteError that explains why there is none,
    or None when the name is unknown or the budget is spent."""
    learner = OutputLearner()
    for length in case.reply_lengths:
        learner.observe(case.request["model"], length)
    ledger = MemoryBudgetStore()
    tenant = case.request.get("tenant_id") or DEFAULT_TENANT
    for policy in (case.platform_policy, case.tenant_policy):
        for budget in () if policy is None or not case.spent_usd else policy.budgets:
            key = window_for(budget, FIXED_NOW).key
            ledger.settle(tenant, [key], f"earlier-{key}", case.spent_usd)
    router = Router(
        CATALOG, case.platform_policy, clock=lambda: FIXED_NOW, learner=learner, budgets=ledger
    )
    try:
        plan = router.route(case.request, tenant_policy=case.tenant_policy, signals=case.signals)
    except NoRouteError as exc:
        event("no route")
        return exc
    except (UnknownModelError, BudgetExceeded) as exc:
        event(type(exc).__name__)
        return None
    event("routed" if plan.reserved_usd is None else "routed within a budget")
    return plan


@SETTINGS
@given(cases())
def test_a_plan_reads_back_as_written(case: Case) -> None:
    plan = route(case)
    if isinstance(plan, NoRouteError):
        # No plan: the rejections that explain why round-trip like a plan's.
        document = json.loads(json.dumps(plan.to_dict()))
        assert [Rejection.from_dict(r) for r in document["rejections"]] == list(plan.rejections)
        return
    if plan is None:
        return
    written = plan.to_dict()
    decoded = RoutingPlan.from_dict(json.loads(json.dumps(written)))
    assert decoded.to_dict() == written
    assert decoded.plan_hash == plan.plan_hash == written["plan_hash"]
    assert decoded.body() == plan.body()
    assert decoded.chain == plan.chain
    assert decoded.rejected == plan.rejected
    assert decoded.timestamp == plan.timestamp
    assert decoded.inputs is None and decoded.snapshot is None  # read back: no inputs
    # A plan carrying its snapshot reads back the same (the snapshot is not the plan).
    assert RoutingPlan.from_dict(plan.to_dict(include_snapshot=True)).to_dict() == written


def _bump(text: str) -> str:
    return exact_str(Decimal(text) + 1)


def _set(
    path: tuple[str | int, ...], change: Callable[[Any], Any]
) -> Callable[[dict[str, Any]], None]:
    def alter(document: dict[str, Any]) -> None:
        target: Any = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = change(target[path[-1]])

    return alter


def _add_rejection(document: dict[str, Any]) -> None:
    document["rejected"].append(
        Rejection("beta/chat-small", RejectionCode.CIRCUIT_OPEN, "forged").to_dict()
    )


def _change_fallbacks(document: dict[str, Any]) -> None:
    hops = document["fallbacks"]
    document["fallbacks"] = hops[:-1] if hops else [document["primary"]]


# Every field the plan_hash covers, each altered to a different value.
ALTERATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "model": _set(("model",), lambda name: name + "-x"),
    "strategy": _set(("strategy",), lambda s: "pinned" if s != "pinned" else "cheapest"),
    "catalog_version": _set(("catalog_version",), lambda v: v + "0"),
    "policy_version": _set(("policy_version",), lambda v: v + "0"),
    "notes": _set(("notes",), lambda notes: [*notes, "routed by hand"]),
    "primary.deployment": _set(("primary", "deployment"), lambda d: "gamma/chat-small"),
    "primary.provider": _set(("primary", "provider"), lambda p: p + "x"),
    "primary.via": _set(("primary", "via"), lambda via: via + "x"),
    "primary.quality": _set(("primary", "quality"), lambda q: "1" if q is None else _bump(q)),
    "primary.expected_latency_ms": _set(
        ("primary", "expected_latency_ms"), lambda ms: "1" if ms is None else _bump(ms)
    ),
    "primary.estimate.expected_usd": _set(("primary", "estimate", "expected_usd"), _bump),
    "primary.estimate.input_tokens": _set(("primary", "estimate", "input_tokens"), lambda n: n + 1),
    "primary.estimate.worst_case_usd": _set(
        ("primary", "estimate", "worst_case_usd"), lambda w: "0" if w is None else _bump(w)
    ),
    "primary.estimate.price_rule": _set(("primary", "estimate", "price_rule"), lambda r: r + "!"),
    "fallbacks": _change_fallbacks,
    "rejected": _add_rejection,
    "reserved_usd": lambda document: document.update(
        reserved_usd=_bump(document["reserved_usd"]) if "reserved_usd" in document else "1"
    ),
    "plan_hash": _set(("plan_hash",), lambda h: "sha256:" + "0" * 64),
    # Not a value the codec can read at all: refused as malformed.
    "input_tokens as text": _set(("primary", "estimate", "input_tokens"), str),
    "missing primary": lambda document: document.pop("primary"),
    "unknown code": _set(
        ("rejected",), lambda r: [{"deployment": "x", "code": "?", "message": ""}]
    ),
}


@SETTINGS
@given(cases(), st.sampled_from(sorted(ALTERATIONS)))
def test_an_altered_plan_is_refused(case: Case, alteration: str) -> None:
    plan = route(case)
    if not isinstance(plan, RoutingPlan):
        return
    document = copy.deepcopy(plan.to_dict())
    ALTERATIONS[alteration](document)
    if document == plan.to_dict():  # e.g. no fallback to drop: nothing was altered
        document["notes"].append("altered")
    with pytest.raises(InvalidInputError) as caught:
        RoutingPlan.from_dict(document)
    assert caught.value.field == "plan_hash" or "malformed plan" in caught.value.message


@SETTINGS
@given(cases())
def test_snapshots_survive_json_and_replay(case: Case) -> None:
    plan = route(case)
    if not isinstance(plan, RoutingPlan):
        return
    snapshot = plan.snapshot
    assert snapshot is not None
    reloaded = json.loads(json.dumps(snapshot))
    assert reloaded == snapshot
    assert canonical_bytes(reloaded) == canonical_bytes(snapshot)
    result = replay(reloaded, CATALOG)
    assert result.matched, result.differences
    assert result.actual_hash == plan.plan_hash
    inputs = PlanInputs.from_dict(reloaded["inputs"], CATALOG)
    assert inputs.to_dict() == snapshot["inputs"]
    assert (
        NormalizedRequest.from_dict(reloaded["inputs"]["request"]).to_dict()
        == (snapshot["inputs"]["request"])
    )


@SETTINGS
@given(cases())
def test_the_parts_of_a_plan_round_trip(case: Case) -> None:
    plan = route(case)
    if not isinstance(plan, RoutingPlan):
        return
    for candidate in plan.chain:
        assert Candidate.from_dict(json.loads(json.dumps(candidate.to_dict()))) == candidate
        assert CostEstimate.from_dict(candidate.estimate.to_dict()) == candidate.estimate
    for rejection in plan.rejected:
        assert Rejection.from_dict(json.loads(json.dumps(rejection.to_dict()))) == rejection
    for signal in case.signals.values():
        assert DeploymentSignals.from_dict(json.loads(json.dumps(signal.to_dict()))) == signal


# -- the parts, generated directly ----------------------------------------------------

OPTIONAL_TEXT = st.none() | st.text(max_size=20)
ESTIMATES = st.builds(
    CostEstimate,
    input_tokens=st.integers(0, MAX_INPUT_TOKENS),
    expected_output_tokens=st.integers(0, 10**6),
    max_output_tokens=st.none() | st.integers(0, 10**6),
    expected_usd=MONEY,
    worst_case_usd=st.none() | MONEY,
    price_rule=st.text(max_size=40),
)
ENDPOINTS = st.builds(
    Endpoint,
    upstream_model=OPTIONAL_TEXT,
    api_base=OPTIONAL_TEXT,
    api_version=OPTIONAL_TEXT,
    api_shape=st.none() | st.sampled_from(list(ApiShape)),
    credential_ref=OPTIONAL_TEXT,
)
CANDIDATES = st.builds(
    Candidate,
    deployment=st.text(min_size=1, max_size=30),
    provider=st.text(min_size=1, max_size=10),
    model=st.text(min_size=1, max_size=20),
    estimate=ESTIMATES,
    expected_latency_ms=st.none() | SMALL_DECIMALS,
    quality=st.none() | SMALL_DECIMALS,
    via=st.text(min_size=1, max_size=20),
    # None for hops over a catalog without endpoint data: no "endpoint" key at all.
    endpoint=st.none() | ENDPOINTS,
)
REJECTIONS = st.builds(
    Rejection,
    deployment=st.text(min_size=1, max_size=30),
    code=st.sampled_from(list(RejectionCode)),
    message=st.text(max_size=60),
    need=OPTIONAL_TEXT,
    have=OPTIONAL_TEXT,
    via=OPTIONAL_TEXT,
    rule=st.none() | st.sampled_from(["platform", "tenant", "request", "budget"]),
)
ANY_SIGNALS = st.builds(
    DeploymentSignals,
    ttft_ms=st.none() | SMALL_DECIMALS,
    output_tokens_per_s=st.none() | SMALL_DECIMALS.filter(lambda d: d > 0),
    error_rate=st.none() | st.decimals(min_value=0, max_value=1, places=4),
    circuit=st.sampled_from(["closed", "open", "half_open"]),
)


@settings(max_examples=100, deadline=None)
@given(CANDIDATES, REJECTIONS, ANY_SIGNALS)
def test_generated_parts_round_trip_through_json(
    candidate: Candidate, rejection: Rejection, signals: DeploymentSignals
) -> None:
    def through_json(document: dict[str, Any]) -> Any:
        return json.loads(json.dumps(document))

    assert Candidate.from_dict(through_json(candidate.to_dict())) == candidate
    assert ("endpoint" in candidate.to_dict()) == (candidate.endpoint is not None)
    assert CostEstimate.from_dict(through_json(candidate.estimate.to_dict())) == candidate.estimate
    assert Rejection.from_dict(through_json(rejection.to_dict())) == rejection
    assert DeploymentSignals.from_dict(through_json(signals.to_dict())) == signals
    # What a part writes, read back, writes the same: one spelling per value.
    assert Candidate.from_dict(candidate.to_dict()).to_dict() == candidate.to_dict()
    assert DeploymentSignals.from_dict(signals.to_dict()).to_dict() == signals.to_dict()
