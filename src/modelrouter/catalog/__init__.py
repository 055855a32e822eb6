"""The catalog: providers, models, deployments and aliases, versioned by content."""

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import (
    Alias,
    Capabilities,
    DataTerms,
    Deployment,
    Feature,
    LatencyPrior,
    Model,
    Provider,
    Quality,
)

__all__ = [
    "Alias",
    "Capabilities",
    "Catalog",
    "DataTerms",
    "Deployment",
    "Feature",
    "LatencyPrior",
    "Model",
    "Provider",
    "Quality",
]
