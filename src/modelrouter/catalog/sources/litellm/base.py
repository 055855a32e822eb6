"""The base catalog a proxy config is filled in from: the deployment an entry
names (found by id, or by its genai-prices match), and the facts copied from it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelrouter.catalog.matching import GENAI_PROVIDERS, genai_models, genai_ref

if TYPE_CHECKING:
    from modelrouter.catalog.index import Catalog
    from modelrouter.catalog.model import Deployment

__all__: list[str] = []


@dataclass
class _Base:
    """The base catalog, with an index of its deployments' genai-prices entries."""

    catalog: Catalog

    def find(
        self, litellm_provider: str, provider: str, name: str
    ) -> tuple[Deployment | None, list[str]]:
        """The base deployment to copy facts from, and notes on how it was found:
        the pin provider/model, else the model at another provider."""
        notes: list[str] = []
        model_id: str | None = name if self.catalog.deployments_of(name) else None
        if model_id is None:
            candidates = (litellm_provider, provider, GENAI_PROVIDERS.get(provider, provider))
            ref = genai_ref(candidates, name)
            matches = genai_models(self.catalog, ref) if ref is not None else []
            here = [m for m in matches if self.catalog.deployments_at(provider, m)]
            if here or matches:
                model_id = (here or matches)[0]
                notes.append(
                    f"{name!r} taken as the base catalog's {model_id} (genai-prices match)"
                )
        if model_id is None:
            return None, notes
        same = self.catalog.deployments_at(provider, model_id)
        if same:
            exact = [d for d in same if d.id == f"{provider}/{model_id}"]
            return (exact or list(same))[0], notes
        others = self.catalog.deployments_of(model_id)
        first_party = [d for d in others if d.provider == d.vendor]
        chosen = (first_party or list(others))[0]
        notes.append(
            f"the base catalog has no {provider}/{model_id}; "
            f"prices and limits copied from {chosen.id}"
        )
        return chosen, notes


def _copy_from_base(
    catalog: Catalog, found: Deployment, same_provider: bool
) -> tuple[dict[str, Any], dict[str, Any], dict[str, bool]]:
    """(model fields, deployment fields, capabilities) the base knows."""
    model_spec = catalog.document.models[found.model]
    key = found.id[: -len(found.model) - 1]
    spec = model_spec.deployments[key]
    model: dict[str, Any] = {}
    if found.vendor != "unknown":
        model["vendor"] = found.vendor
    if model_spec.name:
        model["name"] = model_spec.name
    if model_spec.quality is not None:
        model["quality"] = model_spec.quality.model_dump(mode="json", exclude_none=True)
    deployment: dict[str, Any] = {}
    if spec.prices:
        deployment["prices"] = [
            rule.model_dump(mode="json", by_alias=True, exclude_none=True) for rule in spec.prices
        ]
    if found.context_window is not None:
        deployment["context_window"] = found.context_window
    if found.max_output_tokens is not None:
        deployment["max_output_tokens"] = found.max_output_tokens
    # Latency and data terms belong to the provider that serves: not carried over
    # from another one.
    if same_provider and spec.latency is not None:
        deployment["latency"] = spec.latency.model_dump(mode="json", exclude_none=True)
    if same_provider and spec.data is not None:
        deployment["data"] = spec.data.model_dump(mode="json", exclude_none=True)
    if found.deprecated:
        deployment["deprecated"] = True
    capabilities = {
        name: value
        for name, value in dataclasses.asdict(found.capabilities).items()
        if value is not None
    }
    return model, deployment, capabilities
