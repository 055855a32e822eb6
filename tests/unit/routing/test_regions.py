"""Unknown regions answer with the known ones, before any candidate is
rejected for them; and a plan says how a name people use was resolved,
while one the catalog holds adds no note."""

from __future__ import annotations

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.errors import InvalidInputError, PolicyError
from modelrouter.policy.document import parse_policy
from modelrouter.router import Router
from modelrouter.routing.regions import check_regions, known_regions
from modelrouter.routing.resolver import check_policy_names
from tests.conftest import FIXED_NOW


def test_known_regions_are_the_providers_and_deployments(small_catalog: Catalog) -> None:
    assert known_regions(small_catalog) == ("eu", "us")
    assert known_regions(Catalog.bundled())[:3] == ("apac", "ca", "eu")


@pytest.mark.parametrize("region", ["europe", "eu-west-1", "mars"])
def test_an_unknown_region_is_invalid_input_naming_the_known(
    small_catalog: Catalog, region: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_regions(["us", region], small_catalog)
    assert caught.value.field == "regions[1]"
    assert caught.value.message.startswith(f"unknown region {region!r}; known: eu, us")


def test_known_regions_and_globs_pass(small_catalog: Catalog) -> None:
    check_regions(None, small_catalog)
    check_regions(["EU", "u*"], small_catalog)
    with pytest.raises(InvalidInputError, match="unknown region pattern 'x\\*'"):
        check_regions(["x*"], small_catalog)


def test_route_answers_the_unknown_region_not_region_not_allowed(router: Router) -> None:
    with pytest.raises(InvalidInputError) as caught:
        router.route(
            {"model": "chat-large", "request_id": "r", "input_tokens": 10, "regions": ["europe"]}
        )
    assert caught.value.code == "invalid_input"
    assert "did you mean eu?" in caught.value.message


def test_policies_are_checked_against_the_catalog(small_catalog: Catalog) -> None:
    check_policy_names(
        parse_policy({"aliases": {"team": ["chat-large", "beta/chat-small"]}}), small_catalog
    )
    check_policy_names(
        parse_policy({"regions": {"allow": ["eu*"], "deny": ["cn*"]}}), small_catalog
    )
    with pytest.raises(PolicyError) as caught:
        check_policy_names(parse_policy({"aliases": {"team": ["chat-lrge"]}}), small_catalog)
    assert caught.value.field == "aliases.team[0]"
    assert "'chat-lrge'" in caught.value.message
    assert "did you mean chat-large" in caught.value.message
    with pytest.raises(PolicyError) as caught:
        check_policy_names(parse_policy({"regions": {"deny": ["europe"]}}), small_catalog)
    assert caught.value.field == "regions.deny[0]"


def test_a_plan_says_how_a_name_was_resolved_and_only_then(bundled: Catalog) -> None:
    router = Router(bundled, clock=lambda: FIXED_NOW)
    exact = router.route({"model": "gpt-4o", "request_id": "r", "input_tokens": 10})
    assert not any(note.startswith("resolved:") for note in exact.notes)
    dated = router.route({"model": "gpt-4o-2024-08-06", "request_id": "r", "input_tokens": 10})
    assert dated.notes[0] == (
        "resolved: gpt-4o-2024-08-06 → model gpt-4o "
        "(genai-prices prices gpt-4o-2024-08-06 as openai gpt-4o)"
    )
    assert {hop.deployment for hop in dated.chain} <= {
        d.id for d in bundled.deployments_of("gpt-4o")
    }
    assert dated.primary.via == "gpt-4o-2024-08-06"
