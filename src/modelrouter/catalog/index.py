"""The catalog: one immutable value, versioned by the hash of its content.

Indexes are built once, so that resolving a name costs in proportion to its
own candidates, never to the size of the catalog.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from modelrouter.catalog.build import (
    Layer,
    catalog_version,
    compile_document,
    document_content,
    merge_layers,
)
from modelrouter.catalog.model import Alias, Deployment, Model, Provider
from modelrouter.catalog.schema import AliasSpec, CatalogDocument
from modelrouter.errors import CatalogError

__all__ = ["Catalog"]

_T = TypeVar("_T")


def _alias(name: str, spec: list[str] | AliasSpec) -> Alias:
    if isinstance(spec, list):
        return Alias(name, tuple(spec))
    return Alias(
        name,
        tuple(spec.targets),
        tuple(spec.fallbacks),
        tuple(spec.context_window_fallbacks),
        tuple(spec.content_policy_fallbacks),
    )


class Catalog:
    """Providers, models, deployments and aliases, with a content-hash ``version``."""

    __slots__ = (
        "_by_model",
        "_by_provider_model",
        "_derived",
        "_resolved_aliases",
        "aliases",
        "deployments",
        "document",
        "models",
        "providers",
        "sources",
        "version",
    )

    def __init__(self, document: CatalogDocument, sources: Sequence[str] = ()) -> None:
        self.document = document
        self.sources = tuple(sources)
        self.version = catalog_version(document)
        self.providers: Mapping[str, Provider]
        self.models: Mapping[str, Model]
        self.deployments: Mapping[str, Deployment]
        self.providers, self.models, self.deployments = compile_document(document)
        by_model: dict[str, list[Deployment]] = defaultdict(list)
        by_provider_model: dict[tuple[str, str], list[Deployment]] = defaultdict(list)
        for deployment_id in sorted(self.deployments):
            deployment = self.deployments[deployment_id]
            by_model[deployment.model].append(deployment)
            by_provider_model[(deployment.provider, deployment.model)].append(deployment)
        self._by_model = {key: tuple(value) for key, value in by_model.items()}
        self._by_provider_model = {key: tuple(value) for key, value in by_provider_model.items()}
        self.aliases = {name: _alias(name, spec) for name, spec in document.aliases.items()}
        self._derived: dict[str, Any] = {}
        self._resolved_aliases: dict[str, tuple[Deployment, ...]] = {}
        for alias in self.aliases.values():
            self._resolved_aliases[alias.name] = self._expand_alias(alias)

    # -- construction ---------------------------------------------------------

    @classmethod
    def from_layers(cls, layers: Sequence[Layer]) -> Catalog:
        return cls(merge_layers(layers), [source for source, _ in layers])

    @classmethod
    def from_content(cls, content: Mapping[str, Any], source: str = "stored") -> Catalog:
        """Rebuild a catalog from its canonical content (as stored or snapshotted)."""
        return cls.from_layers([(source, content)])

    @classmethod
    def bundled(cls) -> Catalog:
        """The default catalog: genai-prices' data plus the curated overlay. Offline."""
        from modelrouter.catalog.bundled import bundled_catalog

        return bundled_catalog()

    def layered(self, source: str, raw: Mapping[str, Any]) -> Catalog:
        """A new catalog with ``raw`` laid over this one, field by field."""
        return Catalog(
            merge_layers([("base", self.content()), (source, raw)]), [*self.sources, source]
        )

    def content(self) -> dict[str, Any]:
        return document_content(self.document)

    # -- lookups ----------------------------------------------------------------

    def deployments_of(self, model: str) -> tuple[Deployment, ...]:
        return self._by_model.get(model, ())

    def deployments_at(self, provider: str, model: str) -> tuple[Deployment, ...]:
        return self._by_provider_model.get((provider, model), ())

    def alias_deployments(self, name: str) -> tuple[Deployment, ...] | None:
        return self._resolved_aliases.get(name)

    def lookup_target(self, target: str) -> tuple[Deployment, ...]:
        """A model id, a deployment id, or ``provider/model``; () when none."""
        if target in self._by_model:
            return self._by_model[target]
        if target in self.deployments:
            return (self.deployments[target],)
        provider, sep, model = target.partition("/")
        if sep:
            return self._by_provider_model.get((provider, model), ())
        return ()

    def _expand_alias(self, alias: Alias) -> tuple[Deployment, ...]:
        seen: dict[str, Deployment] = {}
        for target in alias.targets:
            found = self.lookup_target(target)
            if not found:
                raise CatalogError(
                    f"alias target {target!r} is not a model, deployment or provider/model",
                    entry=f"aliases.{alias.name}",
                )
            for deployment in found:
                seen.setdefault(deployment.id, deployment)
        return tuple(seen.values())

    def derived(self, key: str, build: Callable[[Catalog], _T]) -> _T:
        """A value computed from this catalog on first use and kept (an index of
        its names, say): the catalog never changes, so neither does the value."""
        if key not in self._derived:
            self._derived[key] = build(self)
        value: _T = self._derived[key]
        return value

    def names(self) -> list[str]:
        return sorted({*self.aliases, *self._by_model, *self.deployments})

    def __repr__(self) -> str:
        return (
            f"Catalog(version={self.version!r}, deployments={len(self.deployments)}, "
            f"models={len(self.models)}, aliases={len(self.aliases)})"
        )
