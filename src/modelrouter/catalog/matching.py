"""Finding the catalog model behind a name a provider or a config uses
(``gpt-4o-2024-08-06``, ``anthropic.claude-sonnet-4-5-20250929-v1:0``).

Exact ids first; then genai-prices' own name rules, which know dated and
regional spellings, mapped back to the catalog model that cites the entry.
Offline: only the data bundled in the installed package is consulted.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment

__all__ = ["GENAI_PROVIDERS", "find_deployments", "genai_models", "genai_ref"]

# Our provider id -> genai-prices', where they differ.
GENAI_PROVIDERS = {"bedrock": "aws", "xai": "x-ai", "vertex": "google"}


@cache
def _snapshot() -> Any:
    from genai_prices.data import providers
    from genai_prices.data_snapshot import DataSnapshot

    return DataSnapshot(providers=list(providers), from_auto_update=False)


def genai_ref(provider_ids: Iterable[str], name: str) -> tuple[str, str] | None:
    """The genai-prices (provider, model) entry whose name rules match ``name``."""
    for provider_id in dict.fromkeys(provider_ids):
        try:
            provider, model = _snapshot().find_provider_model(name, None, provider_id, None)
        except LookupError:
            continue
        return str(provider.id), str(model.id)
    return None


def genai_models(catalog: Catalog, ref: tuple[str, str]) -> list[str]:
    """Catalog model ids with a deployment priced by this genai-prices entry."""
    return [
        model_id
        for model_id, model in catalog.document.models.items()
        if any(
            spec.genai is not None and (spec.genai.provider, spec.genai.model) == ref
            for spec in model.deployments.values()
        )
    ]


def find_deployments(catalog: Catalog, provider: str, name: str) -> tuple[Deployment, ...]:
    """The deployments of ``provider`` that serve the model a response names."""
    exact = catalog.lookup_target(f"{provider}/{name}") or tuple(
        d for d in catalog.lookup_target(name) if d.provider == provider
    )
    if exact:
        return exact
    ref = genai_ref((provider, GENAI_PROVIDERS.get(provider, provider)), name.lower())
    if ref is None:
        return ()
    for model_id in genai_models(catalog, ref):
        found = catalog.deployments_at(provider, model_id)
        if found:
            return found
    return ()
