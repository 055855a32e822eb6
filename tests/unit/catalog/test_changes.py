"""check_change: the problems of swapping one catalog version for another, with the numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from modelrouter.catalog.changes import Problem, check_change, summary
from modelrouter.catalog.index import Catalog
from tests.conftest import FIXED_NOW, small_document


def _catalog(document: dict[str, Any]) -> Catalog:
    return Catalog.from_layers([("test", document)])


def _priced(input_price: str) -> Catalog:
    document = small_document()
    document["models"]["chat-large"]["deployments"]["alpha"]["prices"]["input"] = input_price
    return _catalog(document)


def test_the_same_catalog_has_no_problem(small_catalog: Catalog) -> None:
    assert check_change(small_catalog, small_catalog, at=FIXED_NOW) == []


def test_a_tenfold_price_is_refused_with_the_numbers(small_catalog: Catalog) -> None:
    problems = check_change(small_catalog, _priced("30"), at=FIXED_NOW)

    assert [(p.code, p.subject) for p in problems] == [("price_moved", "alpha/chat-large")]
    message = problems[0].message
    assert "input price moved from 3 to 30 USD per million tokens" in message
    assert "10x up" in message
    assert "factor 5" in message


def test_a_price_falling_tenfold_is_refused_too(small_catalog: Catalog) -> None:
    (problem,) = check_change(small_catalog, _priced("0.3"), at=FIXED_NOW)
    assert "from 3 to 0.3" in problem.message
    assert "10x down" in problem.message


def test_a_moderate_move_passes_and_the_factor_is_the_callers(small_catalog: Catalog) -> None:
    one_and_a_half = _priced("4.5")
    assert check_change(small_catalog, one_and_a_half, at=FIXED_NOW) == []

    (strict,) = check_change(
        small_catalog, one_and_a_half, at=FIXED_NOW, max_price_factor=Decimal("1.2")
    )
    assert "1.5x up" in strict.message
    # Exactly at the factor is not more than it.
    assert check_change(small_catalog, _priced("15"), at=FIXED_NOW) == []
    assert check_change(small_catalog, _priced("15.000001"), at=FIXED_NOW) != []


def test_none_disables_the_price_check(small_catalog: Catalog) -> None:
    assert check_change(small_catalog, _priced("300"), at=FIXED_NOW, max_price_factor=None) == []


def test_a_price_becoming_free_or_unknown_is_a_problem(small_catalog: Catalog) -> None:
    (free,) = check_change(small_catalog, _priced("0"), at=FIXED_NOW)
    assert free.code == "price_moved"
    assert "from 3 to 0" in free.message and "free" in free.message

    document = small_document()
    del document["models"]["chat-large"]["deployments"]["alpha"]["prices"]["cache_read"]
    del document["models"]["chat-small"]["deployments"]["beta"]["prices"]
    problems = check_change(small_catalog, _catalog(document), at=FIXED_NOW)
    assert [(p.code, p.subject) for p in problems] == [
        ("price_removed", "alpha/chat-large"),
        ("price_removed", "beta/chat-small"),
        ("price_removed", "beta/chat-small"),
    ]
    assert "cache_read price was 0.3" in problems[0].message
    assert "input price was 0.1" in problems[1].message


def test_prices_are_compared_as_in_force_at_the_given_time(small_catalog: Catalog) -> None:
    document = small_document()
    document["models"]["chat-large"]["deployments"]["alpha"]["prices"] = [
        {"rates": {"input": "3", "output": "15", "cache_read": "0.3"}},
        {"from": "2027-01-01", "rates": {"input": "60", "output": "15", "cache_read": "0.3"}},
    ]
    scheduled = _catalog(document)

    assert check_change(small_catalog, scheduled, at=FIXED_NOW) == []
    later = FIXED_NOW.replace(year=2027)
    (problem,) = check_change(small_catalog, scheduled, at=later)
    assert "from 3 to 60" in problem.message and "20x up" in problem.message


def test_tiered_rates_are_compared_tier_by_tier(small_catalog: Catalog) -> None:
    document = small_document()
    tiered = {"base": "3", "tiers": [{"above_input_tokens": 100000, "rate": "60"}]}
    document["models"]["chat-large"]["deployments"]["alpha"]["prices"]["input"] = tiered
    (problem,) = check_change(small_catalog, _catalog(document), at=FIXED_NOW)
    assert "price above 100000 input tokens moved from 3 to 60" in problem.message


def test_an_alias_losing_its_last_deployment_is_named() -> None:
    document = small_document()
    document["aliases"]["edge"] = ["gamma/open-70b"]
    old = _catalog(document)
    del document["models"]["open-70b"]["deployments"]["gamma"]
    document["aliases"] = {"smart": ["chat-large", "open-70b"], "budget": ["chat-small"]}

    (emptied,) = check_change(
        old, _catalog({**document, "aliases": {**document["aliases"], "edge": []}}), at=FIXED_NOW
    )
    assert (emptied.code, emptied.subject) == ("alias_emptied", "edge")
    assert "alias 'edge' resolves to no deployment" in emptied.message
    assert "it lost gamma/open-70b" in emptied.message

    (gone,) = check_change(old, _catalog(document), at=FIXED_NOW)
    assert (gone.code, gone.subject) == ("alias_emptied", "edge")
    assert "alias 'edge' is gone from the new catalog; it routed to gamma/open-70b" in gone.message


def test_a_removed_model_an_alias_names_is_named(small_catalog: Catalog) -> None:
    document = small_document()
    del document["models"]["open-70b"]
    document["aliases"] = {"smart": ["chat-large"], "budget": ["chat-small"]}

    problems = check_change(small_catalog, _catalog(document), at=FIXED_NOW)

    assert [(p.code, p.subject) for p in problems] == [("model_removed", "open-70b")]
    message = problems[0].message
    assert "model 'open-70b' is no longer in the catalog" in message
    assert "alias 'smart'" in message
    assert "alias 'budget' (as 'gamma/open-70b')" in message
    assert "alpha/open-70b, gamma/open-70b" in message


def test_a_deployment_no_alias_needs_may_go_quietly(small_catalog: Catalog) -> None:
    document = small_document()
    del document["models"]["chat-large"]["deployments"]["gamma"]
    del document["models"]["unpriced"]
    assert check_change(small_catalog, _catalog(document), at=FIXED_NOW) == []


def test_problem_to_dict() -> None:
    problem = Problem("alias_emptied", "smart", "gone")
    assert problem.to_dict() == {"code": "alias_emptied", "subject": "smart", "message": "gone"}


def test_summary_counts_what_changed(small_catalog: Catalog) -> None:
    document = small_document()
    deployments = document["models"]["chat-large"]["deployments"]
    deployments["alpha"]["prices"]["input"] = "3.5"
    deployments["beta"]["latency"] = {"ttft_ms": 800}
    del deployments["gamma"]
    document["models"]["chat-small"]["deployments"]["gamma"] = {"prices": {"input": "1"}}
    document["aliases"]["fast"] = ["chat-small"]
    new = _catalog(document)

    found = summary(small_catalog, new, at=FIXED_NOW)

    assert found["old_version"] == small_catalog.version
    assert found["new_version"] == new.version
    assert found["counts"] == {
        "deployments_added": 1,
        "deployments_removed": 1,
        "deployments_changed": 2,
        "price_changes": 1,
        "aliases_added": 1,
        "aliases_removed": 0,
        "aliases_changed": 2,
    }
    assert found["deployments"] == {
        "added": ["gamma/chat-small"],
        "removed": ["gamma/chat-large"],
        "changed": ["alpha/chat-large", "beta/chat-large"],
    }
    assert found["price_changes"] == [
        {"deployment": "alpha/chat-large", "unit": "input", "old": "3", "new": "3.5"}
    ]
    # smart lost gamma/chat-large; budget gained gamma/chat-small.
    assert found["aliases"] == {"added": ["fast"], "removed": [], "changed": ["budget", "smart"]}


def test_summary_of_no_change(bundled: Catalog) -> None:
    found = summary(bundled, bundled, at=FIXED_NOW)
    assert set(found["counts"].values()) == {0}
    assert check_change(bundled, bundled, at=FIXED_NOW) == []


def test_a_factor_below_one_is_refused(small_catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        check_change(small_catalog, small_catalog, at=FIXED_NOW, max_price_factor=Decimal("0.5"))
