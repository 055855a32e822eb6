"""modelrouter: which provider and model should serve this request, in which
order to fall back, what it will cost, and whether this tenant may spend it."""

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment, Feature
from modelrouter.errors import (
    CatalogError,
    CatalogVersionError,
    InvalidInputError,
    ModelRouterError,
    NoRouteError,
    PolicyError,
    ReplayMismatchError,
    UnknownModelError,
    UnknownPriceError,
)
from modelrouter.policy.document import PolicyDocument, parse_policy
from modelrouter.policy.effective import PolicyStack
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
)

__version__ = "0.1.0"

__all__ = [
    "Candidate",
    "Catalog",
    "CatalogError",
    "CatalogVersionError",
    "CostEstimate",
    "Deployment",
    "DeploymentSignals",
    "Feature",
    "InvalidInputError",
    "ModelRouterError",
    "NoRouteError",
    "PolicyDocument",
    "PolicyError",
    "PolicyStack",
    "Rejection",
    "RejectionCode",
    "ReplayMismatchError",
    "ReplayResult",
    "RouteRequest",
    "Router",
    "RoutingPlan",
    "Strategy",
    "UnknownModelError",
    "UnknownPriceError",
    "__version__",
    "parse_policy",
    "replay",
]
