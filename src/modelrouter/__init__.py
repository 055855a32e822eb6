"""modelrouter: which provider and model should serve this request, in which
order to fall back, what it will cost, and whether this tenant may spend it.

The library's whole public surface is here::

    from modelrouter import Catalog, Router, RouteRequest, Usage, replay

    router = Router(Catalog.bundled())
    plan = router.route(RouteRequest(model="gpt-4o", input_tokens=2000, max_output_tokens=500))
    cost = router.record_outcome(plan, Usage(input_tokens=2000, output_tokens=312))
    assert replay(plan.snapshot, router.catalog).matched

Each attempt of a decision is reported with ``Router.record_attempt(plan,
Attempt(...))``: a failed one (an ``ErrorClass``, or what ``classify`` reads
from the provider's answer) moves the deployment's circuit.
"""

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment, Feature
from modelrouter.errors import (
    BackendError,
    BudgetExceeded,
    CatalogError,
    CatalogVersionError,
    InvalidInputError,
    ModelRouterError,
    NoRouteError,
    PolicyError,
    ReplayMismatchError,
    StaleWrite,
    StoreUnavailable,
    UnknownModelError,
    UnknownPriceError,
)
from modelrouter.feedback.attempt import Attempt
from modelrouter.feedback.classify import ErrorClass, ProviderError, classify
from modelrouter.feedback.ratelimits import RateLimitHeaders, parse_rate_limit_headers
from modelrouter.policy.budgets import BudgetStore
from modelrouter.policy.document import PolicyDocument, parse_policy
from modelrouter.policy.effective import PolicyStack
from modelrouter.pricing.cost import ActualCost
from modelrouter.pricing.extract import ExtractedUsage, extract_usage
from modelrouter.pricing.usage import Usage
from modelrouter.request.model import RouteRequest
from modelrouter.router import Router
from modelrouter.routing.replay import ReplayResult, replay
from modelrouter.types import (
    Candidate,
    CostEstimate,
    DeploymentSignals,
    Rejection,
    RejectionCode,
    RoutingPlan,
    Strategy,
    Weights,
)

__version__ = "0.1.0"

__all__ = [
    "ActualCost",
    "Attempt",
    "BackendError",
    "BudgetExceeded",
    "BudgetStore",
    "Candidate",
    "Catalog",
    "CatalogError",
    "CatalogVersionError",
    "CostEstimate",
    "Deployment",
    "DeploymentSignals",
    "ErrorClass",
    "ExtractedUsage",
    "Feature",
    "InvalidInputError",
    "ModelRouterError",
    "NoRouteError",
    "PolicyDocument",
    "PolicyError",
    "PolicyStack",
    "ProviderError",
    "RateLimitHeaders",
    "Rejection",
    "RejectionCode",
    "ReplayMismatchError",
    "ReplayResult",
    "RouteRequest",
    "Router",
    "RoutingPlan",
    "StaleWrite",
    "StoreUnavailable",
    "Strategy",
    "UnknownModelError",
    "UnknownPriceError",
    "Usage",
    "Weights",
    "__version__",
    "classify",
    "extract_usage",
    "parse_policy",
    "parse_rate_limit_headers",
    "replay",
]
