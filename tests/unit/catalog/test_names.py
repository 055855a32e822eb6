"""The names people already use: dated ids, OpenRouter slugs, Bedrock and
Vertex ids resolve to the catalog's models (or a provider's deployments) only
on evidence that they mean that model at its prices; the plan says how; the
catalog's own names resolve exactly as before, with no note."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.names import match_name, spelling, suggest
from modelrouter.errors import UnknownModelError
from modelrouter.policy.effective import EffectivePolicy
from modelrouter.routing.resolver import resolve

NO_POLICY = EffectivePolicy()
BUNDLED = Catalog.bundled()


def ids(found: object) -> list[str]:
    assert found is not None
    return sorted(d.id for d in found.deployments)  # type: ignore[attr-defined]


# name -> (model it means, or a deployment id when pinned to one provider; how the note says)
FORMS = {
    # dated ids: genai-prices' gpt-4o entry lists these snapshots as gpt-4o
    "gpt-4o-2024-08-06": ("model gpt-4o", "genai-prices prices gpt-4o-2024-08-06 as openai gpt-4o"),
    "gpt-4o-mini-2024-07-18": ("model gpt-4o-mini", "as openai gpt-4o-mini"),
    # the catalog holds this snapshot (Bedrock's spelling): it, not claude-3-5-sonnet
    "claude-3-5-sonnet-20240620": (
        "model claude-3-5-sonnet-20240620-v1:0",
        "the same id spelled another way",
    ),
    # OpenRouter slugs: the ids OpenRouter's deployments are called upstream
    "anthropic/claude-3.5-sonnet": ("model claude-3-5-sonnet", "OpenRouter slug"),
    "meta-llama/llama-3.3-70b-instruct": ("model llama-3.3-70b-instruct", "novita, openrouter"),
    # Bedrock: ids and inference profiles; us. is priced as the regional entry
    "anthropic.claude-3-5-sonnet-20240620-v1:0": (
        "model claude-3-5-sonnet-20240620-v1:0",
        "aws regional.anthropic.claude-3-5-sonnet-20240620-v1:0",
    ),
    "us.anthropic.claude-3-5-sonnet-20240620-v1:0": (
        "model claude-3-5-sonnet-20240620-v1:0",
        "Bedrock model id",
    ),
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0": ("model claude-sonnet-4-5", "Bedrock"),
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0": (
        "model claude-sonnet-4-5-20250929-v1:0",
        "Bedrock model id",
    ),
    "bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0": (
        "deployment bedrock/claude-3-5-sonnet-20240620-v1:0",
        "bedrock/ prefix: bedrock only",
    ),
    # Vertex: @version, publisher paths, vertex_ai/ routes
    "claude-3-5-sonnet@20240620": ("model claude-3-5-sonnet-20240620-v1:0", "@version"),
    "publishers/google/models/gemini-1.5-pro": ("model gemini-1.5-pro", "publisher path"),
    "gemini-1.5-pro-002": ("model gemini-1.5-pro", "as google gemini-1.5-pro"),
    "vertex_ai/claude-3-5-sonnet-v2@20241022": (
        "deployment vertex/claude-3-5-sonnet",
        "vertex_ai/ prefix: vertex only",
    ),
}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_the_names_people_use_resolve_and_say_how(name: str) -> None:
    target, how = FORMS[name]
    assert BUNDLED.lookup_target(name) == ()  # not a name the catalog holds
    found = match_name(BUNDLED, name)
    assert found is not None, name
    assert found.target == target
    assert how in found.how
    assert found.note == f"resolved: {name} → {target} ({found.how})"
    resolved = resolve(name, BUNDLED, NO_POLICY)
    assert {r.deployment.id for r in resolved} == set(ids(found))
    assert {r.how for r in resolved} == {found.note}
    assert {r.via for r in resolved} == {name}


def test_a_model_resolves_to_all_its_deployments_and_a_pin_to_one_provider() -> None:
    assert ids(match_name(BUNDLED, "anthropic/claude-3.5-sonnet")) == [
        "anthropic/claude-3-5-sonnet",
        "bedrock/claude-3-5-sonnet",
        "openrouter/claude-3-5-sonnet",
        "vertex/claude-3-5-sonnet",
    ]
    assert ids(match_name(BUNDLED, "openrouter/anthropic/claude-3.5-sonnet")) == [
        "openrouter/claude-3-5-sonnet"
    ]


def test_a_dated_snapshot_with_prices_of_its_own_is_never_its_sibling() -> None:
    # gpt-4o-2024-05-13 costs more than gpt-4o: it is a model of its own, exactly.
    own = resolve("gpt-4o-2024-05-13", BUNDLED, NO_POLICY)
    assert {r.deployment.model for r in own} == {"gpt-4o-2024-05-13"}
    assert {r.how for r in own} == {None}
    [mini] = [d for d in BUNDLED.deployments_of("gpt-4o-2024-05-13") if d.provider == "openai"]
    [plain] = [d for d in BUNDLED.deployments_of("gpt-4o") if d.provider == "openai"]
    assert mini.prices != plain.prices
    # A snapshot genai-prices does not list is refused, naming the close ids.
    with pytest.raises(UnknownModelError) as caught:
        resolve("gpt-4o-2024-09-99", BUNDLED, NO_POLICY)
    assert "gpt-4o" in caught.value.suggestions
    assert "gpt-4o-2024-05-13" in caught.value.suggestions


def test_a_pin_at_a_provider_without_the_model_is_refused_with_the_model_suggested() -> None:
    # The catalog has gemini-1.5-pro at google only: vertex_ai/ must not route elsewhere.
    assert match_name(BUNDLED, "vertex_ai/gemini-1.5-pro") is None
    with pytest.raises(UnknownModelError) as caught:
        resolve("vertex_ai/gemini-1.5-pro", BUNDLED, NO_POLICY)
    assert caught.value.suggestions[0] == "gemini-1.5-pro"


def test_a_name_that_could_mean_two_models_is_refused_naming_both(small_catalog: Catalog) -> None:
    catalog = small_catalog.layered(
        "twins",
        {
            "models": {
                "twin-1.5": {"vendor": "v", "deployments": {"alpha": {"prices": _PRICES}}},
                "twin-1-5": {"vendor": "v", "deployments": {"beta": {"prices": _PRICES}}},
            }
        },
    )
    assert [r.deployment.id for r in resolve("twin-1.5", catalog, NO_POLICY)] == ["alpha/twin-1.5"]
    with pytest.raises(UnknownModelError) as caught:
        resolve("twin@1-5", catalog, NO_POLICY)  # spelled like both
    assert caught.value.suggestions == ("twin-1-5", "twin-1.5")


_PRICES = {"input": "1", "output": "2"}


def test_names_stay_case_sensitive(small_catalog: Catalog) -> None:
    assert match_name(small_catalog, "Chat-Large") is None
    assert match_name(BUNDLED, "GPT-4o") is None
    assert suggest(BUNDLED, "GPT-4o")[0] == "gpt-4o"


def test_suggestions_see_through_punctuation() -> None:
    assert suggest(BUNDLED, "gpt4o")[0] == "gpt-4o"
    with pytest.raises(UnknownModelError) as caught:
        resolve("gpt4o", BUNDLED, NO_POLICY)
    assert caught.value.suggestions[0] == "gpt-4o"


def test_spelling_keys() -> None:
    assert spelling("claude-3.5-sonnet") == spelling("claude-3-5-sonnet") == "claude-3-5-sonnet"
    assert spelling("claude-3-5-sonnet@20240620") == "claude-3-5-sonnet-20240620"
    assert spelling("claude-3-5-sonnet-20240620-v1:0") == "claude-3-5-sonnet-20240620"
    assert spelling("claude-3-5-sonnet-20241022-v2:0") == "claude-3-5-sonnet-20241022-v2"
    assert spelling("mistral-7b-instruct-v0:2") == spelling("mistral-7b-instruct-v0.2")
    assert spelling("gpt-4o:batch") == "gpt-4o:batch"  # a priced variant stays apart


def test_answers_are_kept_per_catalog() -> None:
    first = match_name(BUNDLED, "gpt-4o-2024-11-20")
    assert match_name(BUNDLED, "gpt-4o-2024-11-20") is first


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted({*BUNDLED.models, *BUNDLED.deployments, *BUNDLED.aliases})))
def test_every_catalog_name_resolves_as_before_with_no_note(name: str) -> None:
    # Exactly what the catalog's own lookups give (an alias: its deployments), and no note.
    try:
        resolved = resolve(name, BUNDLED, NO_POLICY)
    except UnknownModelError:
        # Only a model with no deployment at all has nothing to resolve to.
        assert name in BUNDLED.models and not BUNDLED.deployments_of(name)
        return
    expected = BUNDLED.alias_deployments(name) or BUNDLED.lookup_target(name)
    assert {r.deployment.id for r in resolved} == {d.id for d in expected}
    assert {r.how for r in resolved} == {None}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(BUNDLED.models)))
def test_every_model_id_spelled_with_dots_or_dashes_finds_its_model_or_refuses(
    model: str,
) -> None:
    # Respelling never lands on a model whose spelling key differs.
    variant = model.replace(".", "-") if "." in model else model.replace("-", ".", 1)
    if variant == model or BUNDLED.lookup_target(variant) or variant in BUNDLED.aliases:
        return
    try:
        found = match_name(BUNDLED, variant)
    except UnknownModelError as exc:
        assert exc.suggestions  # noqa: PT017 (ambiguous: the candidates are named)
        return
    if found is not None and "spelled another way" in found.how:
        # The key of the model's id, or of the id a deployment of it is called upstream.
        [model_id] = {d.model for d in found.deployments}
        keys = {spelling(model_id)} | {
            spelling(d.endpoint.upstream_model)
            for d in BUNDLED.deployments_of(model_id)
            if d.endpoint is not None and d.endpoint.upstream_model
        }
        keys |= {
            spelling(spec.genai.model)
            for spec in BUNDLED.document.models[model_id].deployments.values()
            if spec.genai is not None
        }
        assert spelling(variant) in keys
