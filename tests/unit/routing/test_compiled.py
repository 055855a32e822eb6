"""The compiled routing table (``routing.table``, planned on by
``routing.compiled``) against the planner it compiles
(``routing.planner.plan``, the oracle): over generated catalogs, policies,
signals and requests, each routed in turn by one router that uses
the table and one that plans from scratch, the plans are byte for byte the
same (with their snapshots, and their hashes), and so are the errors when
there is no plan. Then the table's caches: bounded, and a new catalog or
policy stack gets a table of its own."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from modelrouter.catalog.index import Catalog
from modelrouter.encoding import canonical_bytes
from modelrouter.errors import ModelRouterError
from modelrouter.feedback.classify import ErrorClass as C
from modelrouter.policy.budgets import window_for
from modelrouter.policy.document import parse_policy
from modelrouter.policy.effective import PolicyStack
from modelrouter.request.model import RouteRequest
from modelrouter.request.normalize import normalize
from modelrouter.router import DEFAULT_TENANT, Router
from modelrouter.routing.compiled import CompiledTables, route_plan
from modelrouter.routing.planner import PlanInputs, plan
from modelrouter.routing.table import CompiledTable
from modelrouter.signals.budgets import MemoryBudgetStore
from modelrouter.signals.learner import OutputLearner
from modelrouter.signals.live import Observation
from modelrouter.types import DeploymentSignals
from tests.conftest import FIXED_NOW
from tests.property import test_codec_properties as codec
from tests.property.test_policy_properties import policies
from tests.property.test_routing_properties import FEATURES, PRICE, documents, requests

EXAMPLES = 200
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- generators: the routing property tests' catalogs, with every price shape ----------

# Rates the integer unit (10^-12 USD per million tokens) cannot hold, or whose
# costs pass its bound of exactness: those go the Decimal way.
ODD_RATES = st.sampled_from(["0.0000000000001", "0.1234567890123", "999999999999", "0"])
TAGS = ("default", "eu", "fast")


@st.composite
def rate_sheets(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    sheet = dict(base)
    if draw(st.booleans()):
        sheet["cache_read"] = str(draw(PRICE))
    if draw(st.integers(0, 3)) == 0:
        sheet["request"] = draw(st.sampled_from(["0.001", "0.000000000000000001", "0.5"]))
    if draw(st.integers(0, 4)) == 0:
        sheet[draw(st.sampled_from(["input", "output", "cache_read"]))] = draw(ODD_RATES)
    if draw(st.integers(0, 9)) == 0:
        sheet.pop(draw(st.sampled_from(["input", "output"])))  # a unit without a price
    if draw(st.integers(0, 4)) == 0:
        threshold = draw(st.sampled_from([1000, 50_000]))
        sheet["output"] = {
            "base": str(draw(PRICE)),
            "tiers": [{"above_input_tokens": threshold, "rate": str(draw(PRICE))}],
        }
    return sheet


@st.composite
def price_schedules(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    sheet = draw(rate_sheets(base))
    shape = draw(st.sampled_from(["flat", "flat", "history", "variant", "daily"]))
    if shape == "flat":
        return sheet
    other = {"input": str(draw(PRICE)), "output": str(draw(PRICE))}
    if shape == "history":
        start = (FIXED_NOW + timedelta(days=draw(st.sampled_from([-30, 30])))).date()
        return [{"rates": sheet}, {"rates": other, "from": start.isoformat()}]
    if shape == "variant":
        when = draw(st.sampled_from([{"service_tier": "flex"}, {"processing": "batch"}]))
        return [{"rates": sheet}, {"rates": other, "when": when}]
    return [{"rates": sheet}, {"rates": other, "daily_utc": ["00:00", "12:00"]}]


@st.composite
def catalogs(draw: st.DrawFn) -> dict[str, Any]:
    document = draw(documents())
    for model in document["models"].values():
        for deployment in model["deployments"].values():
            if "prices" in deployment:
                deployment["prices"] = draw(price_schedules(deployment["prices"]))
            if draw(st.integers(0, 3)) == 0:
                deployment["order"] = draw(st.integers(1, 2))
            if draw(st.integers(0, 2)) == 0:
                deployment["tags"] = draw(st.lists(st.sampled_from(TAGS), unique=True))
            if draw(st.integers(0, 3)) == 0:
                deployment["tpm"] = draw(st.sampled_from([1000, 100_000]))
    aliases = document["aliases"]
    if draw(st.booleans()):
        models = sorted(document["models"])
        aliases["a"] = {
            "targets": aliases["a"],
            "fallbacks": draw(st.lists(st.sampled_from(models), unique=True, max_size=2)),
            "context_window_fallbacks": draw(
                st.lists(st.sampled_from(models), unique=True, max_size=2)
            ),
            "content_policy_fallbacks": draw(
                st.lists(st.sampled_from(models), unique=True, max_size=2)
            ),
        }
    return document


DECIMALS = st.decimals(min_value=0, max_value=2000, places=1)
SIGNALS = st.builds(
    DeploymentSignals,
    ttft_ms=st.none() | DECIMALS,
    output_tokens_per_s=st.none() | st.decimals(min_value="0.5", max_value=1000, places=1),
    error_rate=st.none() | st.decimals(min_value=0, max_value=1, places=3),
    circuit=st.sampled_from(["closed", "closed", "open", "half_open"]),
    ttft_p90_ms=st.none() | DECIMALS,
    samples=st.none() | st.decimals(min_value=0, max_value=50, places=0),
    circuit_reason=st.none() | st.just("rate_limited"),
    probe_share=st.none() | st.decimals(min_value=0, max_value=1, places=2),
    requests_left=st.none() | st.integers(0, 3),
    tokens_left=st.none() | st.integers(0, 200_000),
    headroom=st.none() | st.decimals(min_value=0, max_value=1, places=2),
)
# A rate-limited deployment nothing has been observed of: headroom, no latency.
HEADROOM_ONLY = st.builds(
    DeploymentSignals,
    requests_left=st.none() | st.integers(0, 3),
    headroom=st.none() | st.decimals(min_value=0, max_value=1, places=2),
)
WEIGHTS = st.fixed_dictionaries(
    {},
    optional={
        key: st.decimals(min_value=0, max_value=3, places=1)
        for key in ("cost", "latency", "quality", "headroom")
    },
).filter(lambda w: not w or any(w.get(k, 1) for k in ("cost", "latency", "quality")))


@st.composite
def more_fields(draw: st.DrawFn, request: dict[str, Any]) -> dict[str, Any]:
    out = dict(request)
    out["strategy"] = draw(
        st.sampled_from(["cheapest", "fastest", "quality", "pinned", "balanced", "weighted"])
    )
    if draw(st.integers(0, 2)) == 0:
        out["require"] = draw(st.lists(st.sampled_from(FEATURES), unique=True, max_size=2))
    optional = {
        "weights": WEIGHTS,
        "tags": st.lists(st.sampled_from(TAGS), unique=True, min_size=1),
        "max_latency_ms": st.sampled_from(["300", "1500"]),
        "min_output_tokens_per_s": st.sampled_from(["20", "200"]),
        "latency_percentile": st.sampled_from(["p50", "p90", "p99"]),
        "expected_cache_hit_ratio": st.sampled_from(["0", "0.5", "1"]),
        "expected_output_tokens": st.integers(0, 3000),
        "service_tier": st.sampled_from(["flex", "batch", "priority"]),
        "affinity_key": st.sampled_from(["user-1", "user-2"]),
        "max_input_price_per_mtok": st.sampled_from(["5", "20"]),
        "vendors": st.sampled_from([{"deny": ["v2"]}, {"allow": ["v1"]}]),
        "data": st.sampled_from([{"no_training": True}, {"zero_data_retention": True}]),
        "tenant_id": st.sampled_from(["acme", "initech"]),
    }
    for key, values in optional.items():
        if draw(st.integers(0, 4)) == 0:
            out[key] = draw(values)
    if draw(st.integers(0, 5)) == 0:
        out["input_tokens"] = draw(st.sampled_from([1000, 1001, 50_000, 50_001]))
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    document = draw(catalogs())
    ids = [f"{p}/{m}" for m, model in document["models"].items() for p in model["deployments"]]
    batch = draw(st.lists(requests(document).flatmap(more_fields), min_size=1, max_size=4))
    # Repeats hit the table's caches: the same request again, and with other tokens.
    batch += [{**r, "request_id": r["request_id"] + "x"} for r in batch[:1]]
    batch += [{**r, "input_tokens": r["input_tokens"] + 1} for r in batch[:1]]
    return {
        "document": document,
        "platform": draw(st.none() | policies()),
        "tenant": draw(st.none() | policies()),
        "signals": draw(
            st.none() | st.dictionaries(st.sampled_from(ids), SIGNALS, max_size=len(ids))
        ),
        "requests": batch,
    }


def outcome(router: Router, request: dict[str, Any], **options: Any) -> tuple[Any, ...]:
    """A plan's bytes (with its snapshot) and hash, or the error's class, message and details."""
    try:
        result = router.route(request, **options)
    except ModelRouterError as exc:
        return type(exc).__name__, exc.message, canonical_bytes(exc.to_dict())
    return canonical_bytes(result.to_dict(include_snapshot=True)), result.plan_hash


@SETTINGS
@given(scenarios())
def test_compiled_plans_are_the_planners_byte_for_byte(scenario: dict[str, Any]) -> None:
    catalog = Catalog.from_layers([("generated", scenario["document"])])
    try:
        platform = None if scenario["platform"] is None else parse_policy(scenario["platform"])
        tenant = None if scenario["tenant"] is None else parse_policy(scenario["tenant"])
    except ModelRouterError:
        return
    compiled = Router(catalog, platform, clock=lambda: FIXED_NOW)
    oracle = Router(catalog, platform, clock=lambda: FIXED_NOW, compiled=False)
    for request in scenario["requests"]:
        options = {"tenant_policy": tenant, "signals": scenario["signals"]}
        expected = outcome(oracle, request, **options)
        event("planned" if isinstance(expected[1], str) and expected[1] else expected[0])
        assert outcome(compiled, request, **options) == expected


OBSERVATIONS = st.builds(
    lambda error, ttft, speed: (error, ttft, speed),
    st.none() | st.sampled_from([C.RATE_LIMITED, C.SERVER_ERROR, C.TIMEOUT]),
    st.none() | st.floats(min_value=50, max_value=3000),
    st.none() | st.floats(min_value=1, max_value=500),
)


@SETTINGS
@given(scenarios(), st.data())
def test_compiled_plans_match_on_live_signals(
    scenario: dict[str, Any], data: st.DataObject
) -> None:
    """Live views (``LiveView``), with some deployments observed: the table
    asks the view only for those observed or rate-limited, and plans the same."""
    catalog = Catalog.from_layers([("generated", scenario["document"])])
    ids = sorted(catalog.deployments)
    observed = data.draw(
        st.dictionaries(st.sampled_from(ids), st.lists(OBSERVATIONS, min_size=1, max_size=4))
    )
    routers = [Router(catalog, clock=lambda: FIXED_NOW, compiled=flag) for flag in (False, True)]
    at_ms = int(FIXED_NOW.timestamp() * 1000)
    for router in routers:
        for deployment, said in observed.items():
            for step, (error, ttft, speed) in enumerate(said):
                router.signals.observe(
                    Observation(deployment, at_ms - 1000 + step, error, None, ttft, speed)
                )
    for request in scenario["requests"]:
        expected, got = (outcome(router, request) for router in routers)
        assert got == expected


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(1, 9), st.integers(1, 9)), min_size=2, max_size=6),
    st.data(),
)
def test_compiled_plans_match_on_flat_prices_with_signals(
    prices: list[tuple[int, int]], data: st.DataObject
) -> None:
    """Flat prices (the table's quickest path) under signals with headroom,
    circuits and probe shares, ordered by ``balanced`` with a headroom weight.
    The same request is routed under several signal maps in turn by the same
    two routers: what the table keeps between requests (its static columns)
    must not outlive the signals it was computed under."""
    deployments: dict[str, Any] = {
        f"p{i}": {"prices": {"input": str(a), "output": str(b)}} for i, (a, b) in enumerate(prices)
    }
    for i, name in enumerate(deployments):
        if i % 3:  # most with the catalog's latency prior, some without
            deployments[name]["latency"] = {"ttft_ms": 150 * i, "output_tokens_per_s": 30 + 7 * i}
    document = {
        "providers": {name: {"regions": ["us"]} for name in deployments},
        "models": {"m": {"vendor": "v", "context_window": 100_000, "deployments": deployments}},
    }
    catalog = Catalog.from_layers([("flat", document)])
    ids = [f"{name}/m" for name in deployments]
    # Only headroom first (latencies are the priors), then any signals.
    views = [data.draw(st.dictionaries(st.sampled_from(ids), HEADROOM_ONLY))]
    views += data.draw(st.lists(st.dictionaries(st.sampled_from(ids), SIGNALS), max_size=3))
    weights = data.draw(
        WEIGHTS | st.just({"cost": "1", "latency": "1", "quality": "1", "headroom": "2"})
    )
    request = {
        "model": "m",
        "input_tokens": data.draw(st.integers(1, 5000)),
        "max_output_tokens": 500,
        "request_id": data.draw(st.sampled_from(["r1", "r2", "r3"])),
        "strategy": data.draw(st.sampled_from(["balanced", "balanced", "cheapest", "fastest"])),
        "weights": weights,
    }
    routers = [Router(catalog, clock=lambda: FIXED_NOW, compiled=flag) for flag in (False, True)]
    for signals in views:
        expected, got = (outcome(router, request, signals=signals) for router in routers)
        assert got == expected


@pytest.mark.parametrize(
    "schedule",
    [
        # A price change a month ago: the later rule is in force.
        [
            {"rates": {"input": "1", "output": "1"}},
            {"rates": {"input": "9", "output": "9"}, "from": -30},
        ],
        # A price change next month: the first rule still is.
        [
            {"rates": {"input": "9", "output": "9"}},
            {"rates": {"input": "1", "output": "1"}, "from": 30},
        ],
        # Variants apply only with a price context: without one, the standard price.
        [
            {"rates": {"input": "1", "output": "1"}},
            {"rates": {"input": "9", "output": "9"}, "when": {"processing": "batch"}},
            {"rates": {"input": "0.5", "output": "0.5"}, "when": {"service_tier": "flex"}},
        ],
    ],
)
@pytest.mark.parametrize("tier", [None, "batch", "flex"])
def test_compiled_plans_match_on_dated_and_variant_prices(
    schedule: list[dict[str, Any]], tier: str | None
) -> None:
    rules = [
        {**rule, "from": (FIXED_NOW + timedelta(days=rule["from"])).date().isoformat()}
        if "from" in rule
        else rule
        for rule in schedule
    ]
    document = {
        "providers": {"p": {"regions": ["us"]}, "q": {"regions": ["us"]}},
        "models": {
            "m": {
                "vendor": "v",
                "context_window": 100_000,
                "deployments": {
                    "p": {"prices": rules},
                    "q": {"prices": {"input": "5", "output": "5"}},
                },
            }
        },
    }
    catalog = Catalog.from_layers([("dated", document)])
    request = {"model": "m", "input_tokens": 1000, "request_id": "r", "strategy": "cheapest"}
    if tier is not None:
        request["service_tier"] = tier
    routers = [Router(catalog, clock=lambda: FIXED_NOW, compiled=flag) for flag in (False, True)]
    expected, got = (outcome(router, request) for router in routers)
    assert got == expected


# -- the codec tests' cases: the small catalog, budgets, tenants, learned lengths ------


def codec_router(case: codec.Case, *, compiled: bool) -> Router:
    learner = OutputLearner()
    for length in case.reply_lengths:
        learner.observe(case.request["model"], length)
    ledger = MemoryBudgetStore()
    tenant = case.request.get("tenant_id") or DEFAULT_TENANT
    for policy in (case.platform_policy, case.tenant_policy):
        for budget in () if policy is None or not case.spent_usd else policy.budgets:
            key = window_for(budget, FIXED_NOW).key
            ledger.settle(tenant, [key], f"earlier-{key}", case.spent_usd)
    return Router(
        codec.CATALOG,
        case.platform_policy,
        clock=lambda: FIXED_NOW,
        learner=learner,
        budgets=ledger,
        compiled=compiled,
    )


@SETTINGS
@given(codec.cases(), st.booleans())
def test_compiled_plans_match_under_budgets_and_tenants(case: codec.Case, live: bool) -> None:
    routers = [codec_router(case, compiled=flag) for flag in (False, True)]
    options = {"tenant_policy": case.tenant_policy, "signals": None if live else case.signals}
    # An id of its own: without one, each router would draw a fresh one.
    request = {"request_id": "req-1", **case.request}
    # Twice: the second plans on what the first reserved (and on a warm table).
    for _ in range(2):
        expected, got = (outcome(router, request, **options) for router in routers)
        assert got == expected


# -- the table ---------------------------------------------------------------------------


def small_catalog(price: str = "1") -> Catalog:
    return Catalog.from_layers(
        [
            (
                "t",
                {
                    "providers": {"p1": {"regions": ["us"]}, "p2": {"regions": ["us"]}},
                    "models": {
                        f"m{i}": {
                            "vendor": "v",
                            "context_window": 100_000,
                            "deployments": {
                                "p1": {"prices": {"input": price, "output": "2"}},
                                "p2": {"prices": {"input": "3", "output": "1"}},
                            },
                        }
                        for i in range(5)
                    },
                },
            )
        ]
    )


def inputs(
    catalog: Catalog, model: str, policy: PolicyStack | None = None, tokens: int = 1000
) -> PlanInputs:
    request = normalize(
        RouteRequest(model=model, input_tokens=tokens, request_id="r"), now=FIXED_NOW
    )
    return PlanInputs(request, catalog, policy or PolicyStack(), {})


def test_a_compiled_plan_equals_the_recorded_plan() -> None:
    catalog = small_catalog()
    item = inputs(catalog, "m0")
    got = route_plan(item, CompiledTable(catalog, item.policy))
    want = plan(item).recorded(item)
    assert canonical_bytes(got.to_dict(include_snapshot=True)) == canonical_bytes(
        want.to_dict(include_snapshot=True)
    )


def test_the_tables_and_their_caches_are_bounded() -> None:
    tables = CompiledTables(max_tables=2, max_groups=3)
    catalogs = [small_catalog(price) for price in ("1", "1.5", "2")]
    for catalog in catalogs:
        for index in range(5):
            tables.plan(inputs(catalog, f"m{index}"))
        assert len(tables.table(catalog, PolicyStack())) == 3
    assert len(tables) == 2
    # The oldest went first; the newest two are kept.
    newest = tables.table(catalogs[2], PolicyStack())
    assert tables.table(catalogs[2], PolicyStack()) is newest


def test_a_new_catalog_or_policy_gets_a_table_of_its_own() -> None:
    tables = CompiledTables()
    old, new = small_catalog("1"), small_catalog("9")
    first = tables.plan(inputs(old, "m0"))
    second = tables.plan(inputs(new, "m0"))
    assert first.catalog_version != second.catalog_version
    assert first.primary.estimate.expected_usd != second.primary.estimate.expected_usd
    assert tables.table(old, PolicyStack()) is not tables.table(new, PolicyStack())
    # Each answers as the planner does on its own catalog.
    for catalog, got in ((old, first), (new, second)):
        want = plan(inputs(catalog, "m0")).plan
        assert got.plan_hash == want.plan_hash
    # A policy stack that denies a provider: a table of its own, and it holds.
    denying = PolicyStack(parse_policy({"providers": {"deny": ["p1"]}}))
    third = tables.plan(inputs(old, "m0", denying))
    assert third.primary.provider == "p2"
    assert [r.deployment for r in third.rejected] == ["p1/m0"]
    assert tables.table(old, denying) is not tables.table(old, PolicyStack())
    assert len(tables) == 3


def test_a_router_keeps_one_table_per_catalog_and_policy_stack() -> None:
    catalog = small_catalog()
    router = Router(catalog, clock=lambda: FIXED_NOW)
    for i in range(3):
        router.route({"model": "m0", "input_tokens": 100 + i})
    tenant = parse_policy({"providers": {"deny": ["p2"]}})
    routed = router.route({"model": "m0", "input_tokens": 100}, tenant_policy=tenant)
    assert routed.primary.provider == "p1"
    assert router._tables is not None
    assert len(router._tables) == 2
    router.catalog = small_catalog("7")  # a new catalog version: a new table
    again = router.route({"model": "m0", "input_tokens": 100})
    assert again.catalog_version == router.catalog.version
    assert len(router._tables) == 3


@pytest.mark.parametrize("price", ["0.0000000000001", "999999999999"])
def test_prices_the_unit_cannot_hold_are_priced_the_decimal_way(price: str) -> None:
    # Not a whole count of 10^-12 USD per million tokens; 50,000 tokens of it
    # past 10^28 units of 10^-18 USD.
    catalog = small_catalog(price)
    item = inputs(catalog, "m0", tokens=50_000)
    got = route_plan(item, CompiledTable(catalog, item.policy))
    want = plan(item).recorded(item)
    assert canonical_bytes(got.to_dict(include_snapshot=True)) == canonical_bytes(
        want.to_dict(include_snapshot=True)
    )
    p1 = next(c for c in (*got.chain, *want.chain) if c.provider == "p1")
    assert p1.estimate.expected_usd == Decimal(price) * 50_000 / 10**6 + Decimal(512) / 10**6
