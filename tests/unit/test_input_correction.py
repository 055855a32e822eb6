"""A prompt the router planned to fit that the provider refused as too long
teaches the token estimate of that model: later estimates are scaled up, on
the record, and earlier decisions still replay as they were."""

from __future__ import annotations

import pytest

from modelrouter import Attempt, ErrorClass, NoRouteError, Router, replay
from modelrouter.catalog.index import Catalog


def test_context_window_exceeded_scales_later_estimates(small_catalog: Catalog) -> None:
    router = Router(small_catalog)
    # chat-small has a window of 32000: a long prompt estimated near its edge.
    messages = [{"role": "user", "content": "word " * 24_000}]
    request = {"model": "chat-small", "messages": messages, "max_output_tokens": 2000}
    first = router.route(request)
    estimated = first.primary.estimate.input_tokens
    assert estimated + 2000 <= 32_000  # planned to fit
    router.record_attempt(
        first,
        Attempt(first.primary.deployment, ErrorClass.CONTEXT_WINDOW_EXCEEDED, attempt_id="1"),
    )
    # The same request no longer looks as if it fits: refused before a provider is tried.
    with pytest.raises(NoRouteError) as refused:
        router.route(request)
    assert {r.code.value for r in refused.value.rejections} == {"context_window_too_small"}
    # With room for it, it routes on the scaled estimate, which the snapshot records.
    second = router.route({**request, "max_output_tokens": 300})
    assert second.primary.estimate.input_tokens > estimated
    assert second.snapshot is not None and first.snapshot is not None
    assert second.snapshot["inputs"]["request"]["input_scale"] is not None
    assert first.snapshot["inputs"]["request"]["input_scale"] is None
    assert replay(first.snapshot, small_catalog).matched
    assert replay(second.snapshot, small_catalog).matched


def test_exact_token_counts_are_not_scaled(small_catalog: Catalog) -> None:
    router = Router(small_catalog)
    plan = router.route({"model": "chat-small", "input_tokens": 29_000, "max_output_tokens": 2000})
    router.record_attempt(
        plan, Attempt(plan.primary.deployment, ErrorClass.CONTEXT_WINDOW_EXCEEDED)
    )
    again = router.route({"model": "chat-small", "input_tokens": 29_000, "max_output_tokens": 2000})
    assert again.primary.estimate.input_tokens == 29_000
    assert router.input_correction.scale("chat-small") is None
