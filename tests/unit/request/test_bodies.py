"""The request bodies gateways already send route as they are: an OpenAI
chat-completions body, OpenRouter's extras, an Anthropic Messages body and
our own shape of the same request give the same plan, and the plan says what
was translated."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrouter import Catalog, InvalidInputError, ModelRouterError, Router, RoutingPlan, replay
from modelrouter.request.model import RouteRequest
from tests.conftest import small_document

MESSAGES = [
    {"role": "user", "content": "Summarise the attached report in three bullet points, please."}
]


def _same(a: RoutingPlan, b: RoutingPlan) -> None:
    assert [c.to_dict() for c in a.chain] == [c.to_dict() for c in b.chain]
    assert [r.to_dict() for r in a.rejected] == [r.to_dict() for r in b.rejected]


@pytest.fixture
def router() -> Router:
    return Router(Catalog.bundled())


def test_an_openai_body_routes_like_our_own_shape(router: Router) -> None:
    ours = {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": "Be brief."}, *MESSAGES],
        "max_output_tokens": 300,
        "require": ["tools", "streaming", "json_schema"],
        "affinity_key": "thread-9",
        "request_id": "same",
    }
    openai: dict[str, Any] = {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": "Be brief."}, *MESSAGES],
        "max_completion_tokens": 300,
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {}}}],
        "tool_choice": "auto",
        "stream": True,
        "stream_options": {"include_usage": True},
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
        "temperature": 0.2,
        "top_p": 0.9,
        "seed": 7,
        "user": "u-1",
        "service_tier": "default",
        "prompt_cache_key": "thread-9",
        "request_id": "same",
    }
    mine, theirs = router.route(ours, reserve=False), router.route(openai, reserve=False)
    _same(mine, theirs)
    notes = " | ".join(theirs.notes)
    for said in ("max_completion_tokens", "requires tools", "requires streaming", "json_schema"):
        assert said in notes
    assert "temperature" in notes and "prompt_cache_key" in notes
    assert theirs.snapshot is not None
    assert theirs.snapshot["inputs"]["request"]["translation"]
    assert replay(theirs.snapshot, router.catalog).matched


def test_openrouter_and_anthropic_bodies_route_like_our_own_shape(router: Router) -> None:
    ours = {
        "model": "claude-sonnet",
        "messages": [{"role": "system", "content": "You are terse."}, *MESSAGES],
        "max_output_tokens": 400,
        "providers": {"allow": ["anthropic", "bedrock"]},
        "strategy": "cheapest",
        "max_input_price_per_mtok": "10",
        "max_output_price_per_mtok": "20",
        "max_cost_usd": "0.5",
        "request_id": "same",
    }
    openrouter = {
        "model": "claude-sonnet:floor",
        "messages": [{"role": "system", "content": "You are terse."}, *MESSAGES],
        "max_tokens": 400,
        "provider": {
            "only": ["anthropic", "bedrock"],
            "max_price": {"prompt": 10, "completion": 20, "request": 0.5},
            "quantizations": ["fp8"],
        },
        "request_id": "same",
    }
    anthropic = {
        "model": "claude-sonnet",
        "system": [{"type": "text", "text": "You are terse."}],
        "messages": MESSAGES,
        "max_tokens": 400,
        "stop_sequences": ["\n\n"],
        "providers": {"allow": ["anthropic", "bedrock"]},
        "strategy": "cheapest",
        "max_input_price_per_mtok": "10",
        "max_output_price_per_mtok": "20",
        "max_cost_usd": "0.5",
        "request_id": "same",
    }
    mine = router.route(ours, reserve=False)
    _same(mine, router.route(openrouter, reserve=False))
    _same(mine, router.route(anthropic, reserve=False))
    noted = " | ".join(router.route(openrouter, reserve=False).notes)
    assert ":floor taken as strategy cheapest" in noted
    assert "not applied: quantizations" in noted  # said, not silently dropped


def test_openrouter_models_are_fallbacks_not_cut_by_the_default_chain(router: Router) -> None:
    plan = router.route(
        {
            "models": ["gpt-4o", "claude-sonnet", "gemini-2.5-pro", "gpt-4o-mini", "o3"],
            "messages": MESSAGES,
            "max_tokens": 100,
            "provider": {"allow_fallbacks": True, "data_collection": "deny"},
        },
        reserve=False,
    )
    assert plan.model == "gpt-4o"
    vias = {c.via for c in plan.chain}
    assert len(vias) >= 4  # more than the default three fallbacks' worth of names


def test_anthropic_tool_blocks_are_counted_and_require_tools(router: Router) -> None:
    plan = router.route(
        {
            "model": "claude-sonnet",
            "max_tokens": 200,
            "tools": [{"name": "lookup", "input_schema": {"type": "object"}}],
            "messages": [
                *MESSAGES,
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "t1", "name": "lookup", "input": {"q": "x"}}
                    ],
                },
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "42"}],
                },
            ],
        },
        reserve=False,
    )
    assert plan.snapshot is not None
    request = plan.snapshot["inputs"]["request"]
    assert "tools" in request["require"]
    assert any("tool_use content blocks counted as text" in n for n in plan.notes)


def test_what_is_no_known_shape_is_still_refused_by_name(router: Router) -> None:
    with pytest.raises(InvalidInputError, match="frobnicate"):
        router.route({"model": "gpt-4o", "input_tokens": 10, "frobnicate": True})
    with pytest.raises(InvalidInputError):
        router.route({"model": "gpt-4o", "input_tokens": 10, "provider": "openai"})


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
SMALL = Catalog.from_layers([("small", small_document())])
KEYS = st.sampled_from(
    ["model", "messages", "max_tokens", "system", "tools", "stream", "response_format",
     "service_tier", "prompt_cache_key", "models", "provider", "temperature", "request_id"]
)  # fmt: skip


@given(st.dictionaries(KEYS | st.text(max_size=6), JSONISH, max_size=8))
@settings(max_examples=300, deadline=None)
def test_any_body_is_translated_or_refused_never_crashes(body: dict[str, Any]) -> None:
    router = Router(SMALL)
    # Refused with a field named, or no route: never anything else.
    with contextlib.suppress(ModelRouterError):
        router.route(body, reserve=False)


def test_litellm_metadata_tags_become_the_requests_tags() -> None:
    request = RouteRequest.model_validate(
        {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "hi"}],
            "metadata": {"tags": ["eu", "paid"], "trace_id": "x"},
        }
    )
    assert request.tags == ["eu", "paid"]
    assert "metadata.tags taken as tags" in request.translation
