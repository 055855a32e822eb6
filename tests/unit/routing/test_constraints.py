"""The hard constraints, rule by rule: each rejection's code, the numbers
behind it (``need``/``have``, as a user reads them in a plan or a NoRouteError)
and the policy layer whose rule fell the candidate (``rule``). Figures are the
small catalog's (tests/conftest.py), checked by hand."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import DataTerms, Deployment, Feature
from modelrouter.catalog.prices import PriceSheet
from modelrouter.policy.document import parse_policy
from modelrouter.policy.effective import EffectivePolicy
from modelrouter.pricing.cost import estimate_cost
from modelrouter.routing.constraints import Need, check_cost, check_static
from modelrouter.types import CostEstimate, DeploymentSignals, Rejection
from modelrouter.types import RejectionCode as Code
from tests.conftest import FIXED_NOW


def layer(name: str, document: dict[str, Any] | None = None) -> tuple[str, EffectivePolicy]:
    return name, EffectivePolicy.of(parse_policy(document or {}))


def need(
    *,
    input_tokens: int = 1000,
    input_exact: bool = True,
    max_output_tokens: int | None = None,
    require: tuple[Feature, ...] = (),
    layers: tuple[tuple[str, EffectivePolicy], ...] = (),
    allow_unknown: bool = False,
    zero_data_retention: tuple[str, ...] = (),
    no_training: tuple[str, ...] = (),
    fast_path: bool = False,
) -> Need:
    """``fast_path`` declares no list rules and no caps, as the planner does
    when no layer has any, which lets check_static take its shortcut."""
    return Need(
        input_tokens=input_tokens,
        input_exact=input_exact,
        max_output_tokens=max_output_tokens,
        require=require,
        layers=layers,
        allow_unknown=allow_unknown,
        zero_data_retention=zero_data_retention,
        no_training=no_training,
        has_list_rules=not fast_path,
        has_cost_caps=not fast_path,
    )


def facts(rejections: list[Rejection]) -> list[tuple[Code, str | None, str | None, str | None]]:
    return [(r.code, r.need, r.have, r.rule) for r in rejections]


@pytest.fixture
def d(small_catalog: Catalog) -> dict[str, Deployment]:
    return dict(small_catalog.deployments)


# -- static constraints -----------------------------------------------------------------


@pytest.mark.parametrize("fast_path", [True, False])
def test_a_deployment_that_meets_every_need_passes(
    d: dict[str, Deployment], fast_path: bool
) -> None:
    wanted = need(
        input_tokens=100_000,
        max_output_tokens=8192,
        require=(Feature.TOOLS, Feature.VISION, Feature.JSON_SCHEMA),
        layers=(layer("platform"),),
        zero_data_retention=("platform",),
        no_training=("platform",),
        fast_path=fast_path,
    )
    assert check_static(d["beta/chat-large"], wanted, None) == []
    assert check_static(d["beta/chat-large"], wanted, DeploymentSignals(circuit="half_open")) == []


def test_context_window_counts_input_plus_max_output(d: dict[str, Deployment]) -> None:
    chat_large = d["alpha/chat-large"]  # a window of 128000
    exactly = need(input_tokens=126_000, max_output_tokens=2000)
    assert check_static(chat_large, exactly, None) == []
    over = check_static(chat_large, need(input_tokens=127_000, max_output_tokens=2000), None)
    assert facts(over) == [(Code.CONTEXT_WINDOW_TOO_SMALL, "129000", "128000", None)]
    assert over[0].message == "needs 129000 (input 127000 + max output 2000), has 128000"
    assert over[0].deployment == "alpha/chat-large"
    # Estimated input says so; without a max output only the input counts.
    estimated = check_static(chat_large, need(input_tokens=130_000, input_exact=False), None)
    assert facts(estimated) == [(Code.CONTEXT_WINDOW_TOO_SMALL, "130000", "128000", None)]
    assert (
        estimated[0].message == "needs 130000 (input 130000 (estimated) + max output 0), has 128000"
    )


def test_an_unknown_context_window_needs_allow_unknown(d: dict[str, Deployment]) -> None:
    unknown = replace(d["beta/chat-small"], context_window=None)
    wanted = need(input_tokens=3000, max_output_tokens=500)
    fell = check_static(unknown, wanted, None)
    assert facts(fell) == [(Code.CONTEXT_WINDOW_UNKNOWN, "3500", "unknown", None)]
    assert "needs 3500 tokens of context" in fell[0].message
    assert check_static(unknown, replace(wanted, allow_unknown=True), None) == []


def test_max_output_against_the_published_cap(d: dict[str, Deployment]) -> None:
    fell = check_static(d["beta/chat-small"], need(max_output_tokens=5000), None)
    assert facts(fell) == [(Code.MAX_OUTPUT_TOO_SMALL, "5000", "4096", None)]
    assert fell[0].message == "needs 5000 output tokens, has 4096"
    assert check_static(d["beta/chat-small"], need(max_output_tokens=4096), None) == []
    # open-70b publishes no output cap: its window bounds it instead.
    assert check_static(d["gamma/open-70b"], need(max_output_tokens=100_000), None) == []


def test_features_unsupported_and_unknown(d: dict[str, Deployment]) -> None:
    # chat-small says no to tools and vision: one rejection for each.
    fell = check_static(d["alpha/chat-small"], need(require=(Feature.TOOLS, Feature.VISION)), None)
    assert facts(fell) == [
        (Code.FEATURE_UNSUPPORTED, "tools", "False", None),
        (Code.FEATURE_UNSUPPORTED, "vision", "False", None),
    ]
    assert fell[0].message == "needs tools, not supported"
    # open-70b does not say whether it has vision.
    unknown = check_static(d["alpha/open-70b"], need(require=(Feature.VISION,)), None)
    assert facts(unknown) == [(Code.FEATURE_UNKNOWN, "vision", "unknown", None)]
    assert "allow_unknown is off" in unknown[0].message
    lenient = need(require=(Feature.VISION,), allow_unknown=True)
    assert check_static(d["alpha/open-70b"], lenient, None) == []
    # allow_unknown never admits a stated "no".
    still_no = check_static(d["alpha/chat-small"], replace(lenient, require=(Feature.TOOLS,)), None)
    assert [r.code for r in still_no] == [Code.FEATURE_UNSUPPORTED]


def test_provider_rules_name_their_layer(d: dict[str, Deployment]) -> None:
    denied = need(layers=(layer("platform", {"providers": {"deny": ["beta"]}}),))
    fell = check_static(d["beta/chat-large"], denied, None)
    assert facts(fell) == [(Code.PROVIDER_DENIED, None, "beta", "platform")]
    assert fell[0].message == "provider beta is denied by the platform policy"
    assert check_static(d["alpha/chat-large"], denied, None) == []

    # The platform allows alpha and beta; the tenant narrows to alpha.
    narrowed = need(
        layers=(
            layer("platform", {"providers": {"allow": ["beta", "alpha"]}}),
            layer("tenant", {"providers": {"allow": ["alpha"]}}),
        )
    )
    fell = check_static(d["beta/chat-large"], narrowed, None)
    assert facts(fell) == [(Code.PROVIDER_NOT_ALLOWED, "[alpha]", "beta", "tenant")]
    assert fell[0].message == "provider beta is not in the tenant allow-list [alpha]"
    outside_both = check_static(d["gamma/chat-large"], narrowed, None)
    assert facts(outside_both) == [
        (Code.PROVIDER_NOT_ALLOWED, "[alpha, beta]", "gamma", "platform"),
        (Code.PROVIDER_NOT_ALLOWED, "[alpha]", "gamma", "tenant"),
    ]


def test_vendor_rules(d: dict[str, Deployment]) -> None:
    no_meta = need(layers=(layer("tenant", {"vendors": {"deny": ["meta"]}}),))
    assert facts(check_static(d["gamma/open-70b"], no_meta, None)) == [
        (Code.VENDOR_DENIED, None, "meta", "tenant")
    ]
    only_meta = need(layers=(layer("request", {"vendors": {"allow": ["meta"]}}),))
    assert facts(check_static(d["beta/chat-large"], only_meta, None)) == [
        (Code.VENDOR_NOT_ALLOWED, "[meta]", "acme", "request")
    ]


def test_model_rules_match_the_model_its_deployment_or_a_pin(d: dict[str, Deployment]) -> None:
    # A glob on the deployment id denies one provider's copy of a model only.
    no_gamma = need(layers=(layer("platform", {"models": {"deny": ["gamma/*"]}}),))
    assert facts(check_static(d["gamma/open-70b"], no_gamma, None)) == [
        (Code.MODEL_DENIED, None, "open-70b", "platform")
    ]
    assert check_static(d["alpha/open-70b"], no_gamma, None) == []
    # Globs are case-insensitive.
    open_only = need(layers=(layer("tenant", {"models": {"allow": ["OPEN-*"]}}),))
    assert check_static(d["alpha/open-70b"], open_only, None) == []
    assert facts(check_static(d["alpha/chat-large"], open_only, None)) == [
        (Code.MODEL_NOT_ALLOWED, "[OPEN-*]", "chat-large", "tenant")
    ]


def test_regions_need_one_allowed_region_left(d: dict[str, Deployment]) -> None:
    us_only = need(layers=(layer("request", {"regions": {"allow": ["us"]}}),))
    fell = check_static(d["gamma/chat-large"], us_only, None)
    assert facts(fell) == [(Code.REGION_NOT_ALLOWED, "[us]", "eu", "request")]
    assert fell[0].message == "serves regions [eu], the request policy allows [us]"
    assert check_static(d["alpha/chat-large"], us_only, None) == []  # us and eu

    no_eu = need(layers=(layer("platform", {"regions": {"deny": ["eu"]}}),))
    assert check_static(d["alpha/chat-large"], no_eu, None) == []  # us remains
    fell = check_static(d["gamma/chat-large"], no_eu, None)
    assert facts(fell) == [(Code.REGION_NOT_ALLOWED, "any", "eu", "platform")]
    assert fell[0].message.endswith("allows any; denied: eu")
    nowhere = replace(d["alpha/chat-large"], regions=())
    assert facts(check_static(nowhere, us_only, None)) == [
        (Code.REGION_NOT_ALLOWED, "[us]", "unknown", "request")
    ]


def test_data_terms_must_be_stated_and_name_the_first_layer_requiring_them(
    d: dict[str, Deployment],
) -> None:
    zdr = need(zero_data_retention=("tenant", "request"))
    assert check_static(d["beta/chat-large"], zdr, None) == []  # beta states it
    fell = check_static(d["alpha/chat-large"], zdr, None)  # alpha does not say
    assert facts(fell) == [(Code.ZERO_DATA_RETENTION_REQUIRED, "True", "unknown", "tenant")]
    assert fell[0].message == "zero data retention required, provider alpha: unknown"
    retains = replace(d["alpha/chat-large"], data=DataTerms(zero_data_retention=False))
    assert [r.have for r in check_static(retains, zdr, None)] == ["retains data"]

    no_training = need(no_training=("platform",))
    assert check_static(d["alpha/chat-large"], no_training, None) == []
    fell = check_static(d["gamma/chat-large"], no_training, None)
    assert facts(fell) == [(Code.NO_TRAINING_REQUIRED, "True", "unknown", "platform")]
    trains = replace(d["gamma/chat-large"], data=DataTerms(no_training=False))
    assert [r.have for r in check_static(trains, no_training, None)] == ["may train on data"]


@pytest.mark.parametrize("fast_path", [True, False])
def test_deprecated_and_open_circuit(d: dict[str, Deployment], fast_path: bool) -> None:
    old = replace(d["beta/chat-small"], deprecated=True)
    fell = check_static(old, need(fast_path=fast_path), None)
    assert facts(fell) == [(Code.MODEL_DEPRECATED, None, "True", None)]
    assert fell[0].message == "chat-small is deprecated"

    tripped = DeploymentSignals(circuit="open", error_rate=Decimal("0.60"))
    fell = check_static(d["beta/chat-small"], need(fast_path=fast_path), tripped)
    assert facts(fell) == [(Code.CIRCUIT_OPEN, "closed", "open", None)]
    assert fell[0].message == "circuit open after recent failures (error rate 0.6)"
    bare = check_static(d["beta/chat-small"], need(), DeploymentSignals(circuit="open"))
    assert bare[0].message == "circuit open after recent failures"


def test_every_failed_rule_is_reported_not_just_the_first(d: dict[str, Deployment]) -> None:
    wanted = need(
        input_tokens=40_000,
        max_output_tokens=5000,
        require=(Feature.TOOLS,),
        layers=(layer("platform", {"providers": {"deny": ["alpha"]}}),),
        zero_data_retention=("platform",),
    )
    fell = check_static(d["alpha/chat-small"], wanted, DeploymentSignals(circuit="open"))
    assert [r.code for r in fell] == [
        Code.CONTEXT_WINDOW_TOO_SMALL,
        Code.MAX_OUTPUT_TOO_SMALL,
        Code.FEATURE_UNSUPPORTED,
        Code.PROVIDER_DENIED,
        Code.ZERO_DATA_RETENTION_REQUIRED,
        Code.CIRCUIT_OPEN,
    ]
    assert {r.deployment for r in fell} == {"alpha/chat-small"}


# -- cost constraints -------------------------------------------------------------------


def estimate(
    deployment: Deployment, *, max_output_tokens: int | None = 500
) -> tuple[CostEstimate, PriceSheet]:
    return estimate_cost(
        deployment,
        input_tokens=2000,
        input_exact=True,
        expected_output_tokens=256,
        max_output_tokens=max_output_tokens,
        at=FIXED_NOW,
    )


def test_worst_case_cost_against_each_layers_cap(d: dict[str, Deployment]) -> None:
    alpha = d["alpha/chat-large"]
    cost, sheet = estimate(alpha)
    assert cost.worst_case_usd == Decimal("0.0135")  # 2000*3/1e6 + 500*15/1e6
    layers = (
        layer("platform", {"limits": {"max_cost_per_request_usd": "0.02"}}),
        layer("tenant", {"limits": {"max_cost_per_request_usd": "0.01"}}),
    )
    fell = check_cost(alpha, need(layers=layers), cost, sheet)
    assert facts(fell) == [(Code.COST_ABOVE_MAX, "<= 0.01", "0.0135", "tenant")]
    assert fell[0].message == "worst-case cost USD 0.0135 is above the tenant cap 0.01"

    both = (layer("platform", {"limits": {"max_cost_per_request_usd": "0.012"}}), layers[1])
    assert [r.rule for r in check_cost(alpha, need(layers=both), cost, sheet)] == [
        "platform",
        "tenant",
    ]
    exact = (layer("request", {"limits": {"max_cost_per_request_usd": "0.0135"}}),)
    assert check_cost(alpha, need(layers=exact), cost, sheet) == []


def test_an_unbounded_worst_case_fails_any_cost_cap(d: dict[str, Deployment]) -> None:
    cost, sheet = estimate(d["alpha/chat-large"], max_output_tokens=None)
    assert cost.worst_case_usd is None
    capped = need(layers=(layer("request", {"limits": {"max_cost_per_request_usd": "5"}}),))
    fell = check_cost(d["alpha/chat-large"], capped, cost, sheet)
    assert facts(fell) == [(Code.COST_ABOVE_MAX, "<= 5", "unbounded", "request")]
    assert "unbounded (no max output known)" in fell[0].message
    assert check_cost(d["alpha/chat-large"], need(layers=(layer("platform"),)), cost, sheet) == []


def test_price_caps_per_million_tokens(d: dict[str, Deployment]) -> None:
    caps = need(
        layers=(
            layer(
                "platform",
                {"limits": {"max_input_price_per_mtok": "2.5", "max_output_price_per_mtok": "12"}},
            ),
        )
    )
    alpha = d["alpha/chat-large"]  # 3 in, 15 out
    fell = check_cost(alpha, caps, *estimate(alpha))
    assert facts(fell) == [
        (Code.INPUT_PRICE_ABOVE_MAX, "<= 2.5", "3", "platform"),
        (Code.OUTPUT_PRICE_ABOVE_MAX, "<= 12", "15", "platform"),
    ]
    assert fell[0].message == "input price per million tokens 3 is above the platform cap 2.5"
    beta = d["beta/chat-large"]  # 2.5 in, 10 out: at the cap is within it
    assert check_cost(beta, caps, *estimate(beta)) == []


def test_a_price_cap_reads_the_tier_the_request_reaches(small_catalog: Catalog) -> None:
    tiered = small_catalog.layered(
        "tiers",
        {
            "models": {
                "open-70b": {
                    "deployments": {
                        "gamma": {
                            "prices": {
                                "input": {
                                    "base": "0.6",
                                    "tiers": [{"above_input_tokens": 100_000, "rate": "4"}],
                                },
                                "output": "0.8",
                            }
                        }
                    }
                }
            }
        },
    )
    gamma = tiered.deployments["gamma/open-70b"]
    capped = (layer("tenant", {"limits": {"max_input_price_per_mtok": "2"}}),)

    def verdict(tokens: int) -> list[Rejection]:
        cost, sheet = estimate_cost(
            gamma,
            input_tokens=tokens,
            input_exact=True,
            expected_output_tokens=256,
            max_output_tokens=1000,
            at=FIXED_NOW,
        )
        return check_cost(gamma, need(input_tokens=tokens, layers=capped), cost, sheet)

    assert verdict(100_000) == []
    assert facts(verdict(100_001)) == [(Code.INPUT_PRICE_ABOVE_MAX, "<= 2", "4", "tenant")]
