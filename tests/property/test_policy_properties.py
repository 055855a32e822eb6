"""Tenants only narrow: for any platform policy, tenant overlay and request,
what the merge admits is a subset of what the platform alone admits."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from modelrouter.catalog.index import Catalog
from modelrouter.errors import NoRouteError
from modelrouter.policy.document import PolicyDocument, parse_policy
from modelrouter.policy.effective import EffectivePolicy
from modelrouter.router import Router
from tests.conftest import FIXED_NOW
from tests.property.test_routing_properties import (
    PROVIDERS,
    REGIONS,
    SETTINGS,
    documents,
    requests,
)

PATTERNS = st.sampled_from([*PROVIDERS, "p*", "*1", "m0", "m*", "*/m1", "p2/*", "v1"])


def rule(draw: st.DrawFn, values: st.SearchStrategy[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["allow"] = draw(st.lists(values, max_size=3))
    if draw(st.booleans()):
        out["deny"] = draw(st.lists(values, max_size=2))
    return out


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "providers": rule(draw, PATTERNS),
        "models": rule(draw, PATTERNS),
        "vendors": rule(draw, st.sampled_from(["v1", "v2", "v*"])),
        "regions": rule(draw, st.sampled_from(REGIONS)),
        "data": {"zero_data_retention": draw(st.booleans())},
        "limits": {"max_fallbacks": draw(st.none() | st.integers(0, 5))},
    }
    if draw(st.booleans()):
        policy["capabilities"] = {"allow_unknown": draw(st.booleans())}
    if draw(st.booleans()):
        policy["limits"]["max_cost_per_request_usd"] = str(draw(st.decimals(0, 2, places=3)))
    if draw(st.booleans()):
        policy["routing"] = {
            "strategy": draw(
                st.sampled_from(["cheapest", "fastest", "quality", "pinned", "balanced"])
            )
        }
    if draw(st.booleans()):
        policy["aliases"] = {
            "a": draw(st.lists(st.sampled_from(["m0", "m1", "p1/m0"]), min_size=1))
        }
    return policy


def admitted(router: Router, request: dict[str, Any], tenant: dict[str, Any] | None) -> set[str]:
    try:
        plan = router.route(
            {**request, "max_fallbacks": 20},
            tenant_policy=None if tenant is None else parse_policy(tenant),
        )
    except NoRouteError:
        return set()
    return {hop.deployment for hop in plan.chain}


@SETTINGS
@given(documents().flatmap(lambda d: st.tuples(st.just(d), requests(d))), policies(), policies())
def test_the_merge_admits_a_subset_of_the_platform(
    case: tuple[dict[str, Any], dict[str, Any]], platform: dict[str, Any], tenant: dict[str, Any]
) -> None:
    document, request = case
    # Tenant aliases name their own routes: compare on a name both can resolve.
    tenant.pop("aliases", None)
    platform.pop("aliases", None)
    platform["limits"]["max_fallbacks"] = None  # compare admissibility, not chain length
    tenant["limits"]["max_fallbacks"] = None
    router = Router(
        Catalog.from_layers([("generated", document)]),
        parse_policy(platform),
        clock=lambda: FIXED_NOW,
    )
    assert admitted(router, request, tenant) <= admitted(router, request, None)


@SETTINGS
@given(policies(), policies())
def test_merge_laws(platform_raw: dict[str, Any], tenant_raw: dict[str, Any]) -> None:
    platform = EffectivePolicy.of(parse_policy(platform_raw))
    tenant = EffectivePolicy.of(parse_policy(tenant_raw))
    empty = EffectivePolicy.of(PolicyDocument())
    assert platform.meet(empty) == platform  # merge(P, empty) = P
    merged = platform.meet(tenant)
    assert merged.meet(tenant) == merged  # merging again changes nothing
    assert platform.meet(platform) == platform
    # Caps only fall and requirements only rise.
    if platform.max_cost_per_request_usd is not None:
        assert merged.max_cost_per_request_usd is not None
        assert merged.max_cost_per_request_usd <= platform.max_cost_per_request_usd
    assert merged.zero_data_retention >= platform.zero_data_retention
    assert (merged.allow_unknown is True) <= (platform.allow_unknown is True)
