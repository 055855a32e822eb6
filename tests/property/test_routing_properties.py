"""Properties of routing over generated catalogs and requests.

The oracle below re-derives admissibility and cost from the raw document with
plain arithmetic, independently of the planner's code, so a planner bug cannot
hide behind itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelrouter.catalog.index import Catalog
from modelrouter.encoding import canonical_bytes
from modelrouter.errors import NoRouteError
from modelrouter.policy.document import parse_policy
from modelrouter.router import Router
from modelrouter.routing.replay import replay
from tests.conftest import FIXED_NOW

PROVIDERS = ("p1", "p2", "p3", "p4")
REGIONS = ("us", "eu", "apac")
FEATURES = ("streaming", "tools", "vision", "json_schema", "reasoning")
TRI = st.sampled_from([True, False, None])
MOSTLY_TRUE = st.sampled_from([True, True, True, False, None])
PRICE = st.decimals(min_value=0, max_value=30, places=2).map(lambda d: d.normalize())

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def rates(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"input": str(draw(PRICE)), "output": str(draw(PRICE))}
    if draw(st.booleans()):
        out["cache_write"] = str(draw(PRICE))
    if draw(st.booleans()):
        threshold = draw(st.sampled_from([1000, 50_000, 128_000]))
        out["input"] = {
            "base": out["input"],
            "tiers": [{"above_input_tokens": threshold, "rate": str(draw(PRICE))}],
        }
    return out


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    providers = {
        p: {
            "regions": draw(st.lists(st.sampled_from(REGIONS), unique=True, max_size=3)),
            "data": {"zero_data_retention": draw(st.sampled_from([True, None, False]))},
        }
        for p in PROVIDERS
    }
    models: dict[str, Any] = {}
    for index in range(draw(st.integers(1, 4))):
        deployments = {}
        for provider in draw(st.lists(st.sampled_from(PROVIDERS), unique=True, min_size=1)):
            deployment: dict[str, Any] = {"weight": draw(st.integers(0, 3))}
            if draw(st.integers(0, 9)) < 9:  # about one in ten has no price at all
                deployment["prices"] = draw(rates())
            if draw(st.booleans()):
                deployment["latency"] = {
                    "ttft_ms": draw(st.integers(50, 3000)),
                    "output_tokens_per_s": draw(st.integers(10, 500)),
                }
            if draw(st.integers(0, 19)) == 19:
                deployment["deprecated"] = True
            deployments[provider] = deployment
        model: dict[str, Any] = {
            "vendor": draw(st.sampled_from(["v1", "v2"])),
            "capabilities": {f: draw(MOSTLY_TRUE) for f in FEATURES},
            "deployments": deployments,
        }
        if draw(st.integers(0, 4)) < 4:
            model["context_window"] = draw(st.sampled_from([8_000, 32_000, 128_000, 1_000_000]))
        if draw(st.booleans()):
            model["max_output_tokens"] = draw(st.sampled_from([1_000, 4_096, 16_384]))
        if draw(st.booleans()):
            model["quality"] = {"score": draw(st.integers(900, 1500)), "scale": "elo"}
        models[f"m{index}"] = model
    aliases = {"a": draw(st.lists(st.sampled_from(sorted(models)), unique=True, min_size=1))}
    return {"providers": providers, "models": models, "aliases": aliases}


@st.composite
def requests(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    names = [*sorted(document["models"]), "a"]
    request: dict[str, Any] = {
        "model": draw(st.sampled_from(names)),
        "request_id": draw(st.text("abcdef0123", min_size=1, max_size=6)),
        "input_tokens": draw(
            st.one_of(st.integers(0, 6_000), st.integers(0, 300_000), st.just(128_000))
        ),
        "strategy": draw(st.sampled_from(["cheapest", "fastest", "quality", "pinned", "balanced"])),
        "require": draw(st.lists(st.sampled_from(FEATURES), unique=True, max_size=1)),
        "max_fallbacks": draw(st.integers(0, 6)),
    }
    if draw(st.booleans()):
        request["max_output_tokens"] = draw(st.integers(1, 20_000))
    # Regions the catalog knows (an unknown one is an invalid request, not a rejection).
    known = sorted({r for p in document["providers"].values() for r in p["regions"]})
    if draw(st.integers(0, 3)) == 3 and known:
        request["regions"] = draw(st.lists(st.sampled_from(known), unique=True, min_size=1))
    if draw(st.integers(0, 3)) == 3:
        request["providers"] = {
            "deny": draw(st.lists(st.sampled_from(PROVIDERS), unique=True, max_size=2))
        }
    if draw(st.integers(0, 4)) == 4:
        request["data"] = {"zero_data_retention": True}
    if draw(st.integers(0, 3)) == 3:
        request["max_cost_usd"] = str(draw(st.decimals(0, 5, places=3)))
    others = [m for m in sorted(document["models"]) if m != request["model"]]
    if draw(st.booleans()) and others:
        request["fallback_models"] = draw(st.lists(st.sampled_from(others), unique=True))
    return request


# -- the oracle ---------------------------------------------------------------


@dataclass
class Facts:
    deployment_id: str
    provider: str
    model: str
    context: int | None
    max_output: int | None
    caps: dict[str, bool | None]
    regions: list[str]
    zdr: bool | None
    rates: dict[str, Any] | None
    deprecated: bool
    quality: int | None


def facts(document: dict[str, Any]) -> dict[str, Facts]:
    out = {}
    for model_id, model in document["models"].items():
        for provider, d in model["deployments"].items():
            pdata = document["providers"][provider]
            out[f"{provider}/{model_id}"] = Facts(
                f"{provider}/{model_id}",
                provider,
                model_id,
                model.get("context_window"),
                model.get("max_output_tokens"),
                model["capabilities"],
                pdata["regions"],
                pdata["data"]["zero_data_retention"],
                d.get("prices"),
                bool(d.get("deprecated")),
                model["quality"]["score"] if "quality" in model else None,
            )
    return out


def rate_at(value: Any, tokens: int) -> Decimal:
    if isinstance(value, dict):
        tier = value["tiers"][0]
        return Decimal(tier["rate"] if tokens > tier["above_input_tokens"] else value["base"])
    return Decimal(value)


def oracle_costs(f: Facts, request: dict[str, Any]) -> tuple[Decimal, Decimal | None]:
    assert f.rates is not None
    tokens = request["input_tokens"]
    max_out = request.get("max_output_tokens")
    expected_out = min(256, max_out) if max_out is not None else 256
    rin, rout = rate_at(f.rates["input"], tokens), rate_at(f.rates["output"], tokens)
    expected = (tokens * rin + expected_out * rout) / 1_000_000
    bound = max_out or f.max_output or (max(f.context - tokens, 0) if f.context else None)
    if bound is None:
        return expected, None
    dearest_in = max(rin, Decimal(f.rates.get("cache_write", 0)))
    return expected, (tokens * dearest_in + bound * rout) / 1_000_000


def admissible(f: Facts, request: dict[str, Any]) -> bool:
    tokens, max_out = request["input_tokens"], request.get("max_output_tokens")
    if f.context is None or tokens + (max_out or 0) > f.context:
        return False
    if max_out is not None and f.max_output is not None and max_out > f.max_output:
        return False
    if any(f.caps[feature] is not True for feature in request["require"]):
        return False
    if "regions" in request and not set(f.regions) & set(request["regions"]):
        return False
    if f.provider in request.get("providers", {}).get("deny", []):
        return False
    if request.get("data", {}).get("zero_data_retention") and f.zdr is not True:
        return False
    if f.deprecated or f.rates is None:
        return False
    if "max_cost_usd" in request:
        _, worst = oracle_costs(f, request)
        if worst is None or worst > Decimal(request["max_cost_usd"]):
            return False
    return True


def members(name: str, document: dict[str, Any]) -> list[str]:
    models = document["aliases"]["a"] if name == "a" else [name]
    return [f"{p}/{m}" for m in models for p in document["models"][m]["deployments"]]


def route(document: dict[str, Any], request: dict[str, Any]) -> tuple[Router, Any]:
    router = Router(Catalog.from_layers([("generated", document)]), clock=lambda: FIXED_NOW)
    try:
        return router, router.route(request)
    except NoRouteError as exc:
        return router, exc


# -- properties ----------------------------------------------------------------

cases = documents().flatmap(lambda doc: st.tuples(st.just(doc), requests(doc)))


@SETTINGS
@given(cases)
def test_routing_is_deterministic_and_replays(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    document, request = case
    _, first = route(document, request)
    _, second = route(document, request)  # a separately built catalog and router
    if isinstance(first, NoRouteError):
        assert isinstance(second, NoRouteError)
        assert first.to_dict() == second.to_dict()
        return
    assert canonical_bytes(first.to_dict(include_snapshot=True)) == canonical_bytes(
        second.to_dict(include_snapshot=True)
    )
    result = replay(first.snapshot, Catalog.from_layers([("again", document)]))
    assert result.matched, result.differences


@SETTINGS
@given(cases)
def test_every_hop_satisfies_every_constraint(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    document, request = case
    known = facts(document)
    _, plan = route(document, request)
    candidates = [
        d
        for name in (request["model"], *request.get("fallback_models", []))
        for d in members(name, document)
    ]
    allowed = {d for d in candidates if admissible(known[d], request)}
    if isinstance(plan, NoRouteError):
        assert not allowed
        assert {r.deployment for r in plan.rejections} == set(candidates)
        return
    chain = [c.deployment for c in plan.chain]
    assert set(chain) <= allowed
    assert len(chain) == len(set(chain))
    assert len(chain) == min(len(allowed), 1 + request["max_fallbacks"])
    assert {r.deployment for r in plan.rejected} == set(candidates) - allowed
    for hop in plan.chain:
        expected, worst = oracle_costs(known[hop.deployment], request)
        assert hop.estimate.expected_usd == expected
        assert hop.estimate.worst_case_usd == worst


@SETTINGS
@given(cases)
def test_cheapest_and_quality_pick_the_extreme(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    document, request = case
    known = facts(document)
    primary_group = [
        d for d in members(request["model"], document) if admissible(known[d], request)
    ]
    if not primary_group:
        return
    for strategy in ("cheapest", "quality"):
        _, plan = route(document, {**request, "strategy": strategy})
        assert not isinstance(plan, NoRouteError)
        if strategy == "cheapest":
            cheapest = min(oracle_costs(known[d], request)[0] for d in primary_group)
            assert plan.primary.estimate.expected_usd == cheapest
        else:
            scores = [known[d].quality for d in primary_group]
            best = max((s for s in scores if s is not None), default=None)
            assert known[plan.primary.deployment].quality == best


@SETTINGS
@given(cases, st.lists(st.sampled_from(PROVIDERS), unique=True, min_size=1))
def test_a_platform_deny_holds_for_every_hop(
    case: tuple[dict[str, Any], dict[str, Any]], denied: list[str]
) -> None:
    document, request = case
    router = Router(
        Catalog.from_layers([("generated", document)]),
        parse_policy({"providers": {"deny": denied}}),
        clock=lambda: FIXED_NOW,
    )
    try:
        plan = router.route(request)
    except NoRouteError:
        return
    assert all(hop.provider not in denied for hop in plan.chain)
