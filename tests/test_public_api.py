"""The public surface: exactly the intended names, each importable, and the
documented entry points working together."""

from __future__ import annotations

import modelrouter
from modelrouter import (
    BackendError,
    Catalog,
    ModelRouterError,
    Router,
    RouteRequest,
    StaleWrite,
    StoreUnavailable,
    Usage,
    extract_usage,
    replay,
)

INTENDED = {
    # the router and its inputs
    "Router", "Catalog", "Deployment", "Feature", "RouteRequest", "Strategy", "Weights",
    "PolicyDocument", "PolicyStack", "parse_policy", "BudgetStore", "DeploymentSignals",
    # what it answers
    "RoutingPlan", "Candidate", "CostEstimate", "Rejection", "RejectionCode",
    "replay", "ReplayResult",
    # after inference
    "Usage", "ActualCost", "extract_usage", "ExtractedUsage",
    "Attempt", "ErrorClass", "ProviderError", "classify", "RateLimitHeaders",
    "parse_rate_limit_headers",
    # the error tree
    "ModelRouterError", "InvalidInputError", "CatalogError", "PolicyError",
    "UnknownModelError", "NoRouteError", "BudgetExceeded", "UnknownPriceError",
    "CatalogVersionError", "ReplayMismatchError", "BackendError", "StoreUnavailable",
    "StaleWrite",
    "__version__",
}  # fmt: skip


def test_exports_are_the_intended_set_sorted_and_importable() -> None:
    names = modelrouter.__all__
    assert set(names) == INTENDED
    assert list(names) == sorted(names)
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(modelrouter, name), name


def test_store_errors_sit_in_the_tree() -> None:
    assert issubclass(StoreUnavailable, BackendError)
    assert issubclass(StaleWrite, BackendError)
    assert issubclass(BackendError, ModelRouterError)


def test_documented_entry_points() -> None:
    router = Router(Catalog.bundled())
    plan = router.route(RouteRequest(model="gpt-4o", input_tokens=2000, max_output_tokens=500))
    assert plan.snapshot is not None
    assert replay(plan.snapshot, Catalog.bundled()).matched
    body = {"usage": {"prompt_tokens": 2000, "completion_tokens": 300, "total_tokens": 2300}}
    usage = extract_usage(body, api="openai-chat").usage
    assert usage == Usage(input_tokens=2000, output_tokens=300)
    cost = router.record_outcome(plan, usage)
    assert cost.total_usd > 0
