"""``import_litellm_config`` reads a proxy ``config.yaml``. Every ``model_list``
entry becomes one deployment, filled in from a base catalog where the config is
silent; every ``model_name`` group becomes an alias of its deployments. Only
named facts are read from an entry, so credentials are never copied."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelrouter.catalog.build import validate_layer
from modelrouter.catalog.matching import GENAI_PROVIDERS, genai_models, genai_ref
from modelrouter.catalog.schema import SCHEMA_ID
from modelrouter.catalog.sources.litellm.fields import (
    _KEY,
    _NAME,
    ImportResult,
    _aws_region,
    _gcp_region,
    _price_warnings,
    _read_facts,
    _rules,
    _validated,
    _Where,
    provider_from_litellm,
)
from modelrouter.catalog.sources.vendors import infer_vendor
from modelrouter.errors import CatalogError

if TYPE_CHECKING:
    from modelrouter.catalog.index import Catalog
    from modelrouter.catalog.model import Deployment

__all__ = ["import_litellm_config"]


# -- the proxy config ----------------------------------------------------------------

# Bare model names LiteLLM routes without a provider prefix.
_BARE_PROVIDERS = (
    (("gpt-", "o1", "o3", "o4", "chatgpt-", "ft:gpt-"), "openai"),
    (("claude-",), "anthropic"),
    (("gemini-",), "vertex_ai"),
    (("command",), "cohere_chat"),
)


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


def _mapping(value: Any, where: _Where, name: str | None, *, required: bool) -> Mapping[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise where.error("must be a mapping", name)
    return value


def _split_model(params: Mapping[str, Any], where: _Where) -> tuple[str, str]:
    """(LiteLLM provider, model name) of ``litellm_params.model``."""
    model = params.get("model")
    if not isinstance(model, str) or not model.strip():
        raise where.error("required: the model LiteLLM calls, as provider/model", "model")
    model = model.strip()
    custom = params.get("custom_llm_provider")
    if custom is not None:
        if not isinstance(custom, str) or not custom.strip():
            raise where.error("must be a provider name", "custom_llm_provider")
        prefix = f"{custom.strip()}/"
        return custom.strip(), model[len(prefix) :] if model.startswith(prefix) else model
    if "/" in model:
        provider, name = model.split("/", 1)
        if not provider or not name:
            raise where.error(f"{model!r} is not provider/model", "model")
        return provider, name
    for prefixes, provider in _BARE_PROVIDERS:
        if model.lower().startswith(prefixes):
            return provider, model
    raise where.error(
        f"cannot tell which provider serves {model!r}: write it as provider/model "
        "(e.g. openai/gpt-4o)",
        "model",
    )


def _whole(value: Any, where: _Where, name: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(f"must be a whole number, got {value!r}", name)
    return value


def _regions(params: Mapping[str, Any], where: _Where) -> list[str]:
    stated = params.get("region_name")
    if stated is not None:
        if not isinstance(stated, str) or not _KEY.match(stated):
            raise where.error(
                f"must be a region name without spaces, got {stated!r}", "region_name"
            )
        return [stated]
    for name, convert in (("aws_region_name", _aws_region), ("vertex_location", _gcp_region)):
        value = params.get(name)
        if isinstance(value, str) and _KEY.match(value):
            return [convert(value.lower())]
    # One configured endpoint serves from one place, which the config does not
    # say: unknown (a region policy rejects it), not every region the provider has.
    return []


def _deployment_key(
    info: Mapping[str, Any], provider: str, number: int, used: Mapping[str, str], where: _Where
) -> str:
    """``model_info.id``, else ``{provider}-{n}`` for the provider's n-th entry."""
    stated = info.get("id")
    if stated is not None:
        key = str(stated) if isinstance(stated, int | str) and not isinstance(stated, bool) else ""
        if not _KEY.match(key):
            raise where.under("model_info").error(
                f"must be a name without spaces or '/', got {stated!r}", "id"
            )
        if key in used:
            raise where.under("model_info").error(
                f"id {key!r} is already taken by {used[key]}", "id"
            )
        return key
    while f"{provider}-{number}" in used:
        number += 1
    return f"{provider}-{number}"


def import_litellm_config(raw: Mapping[str, Any], base: Catalog, *, source: str) -> ImportResult:
    """A standalone catalog document of a LiteLLM proxy config's deployments
    (and the models and providers they need), with one alias per model group."""
    model_list = raw.get("model_list")
    if not isinstance(model_list, list):
        raise CatalogError(
            "a LiteLLM proxy config needs a model_list (a list of deployments)",
            source=source,
            field="model_list",
        )
    known = _Base(base)
    models: dict[str, dict[str, Any]] = {}
    providers: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[str]] = {}
    used: dict[str, str] = {}  # deployment key -> the entry that took it
    per_provider: Counter[str] = Counter()
    warnings: list[str] = []
    skipped: Counter[str] = Counter()
    if not model_list:
        warnings.append("model_list is empty: nothing to import")
    for index, entry in enumerate(model_list):
        where = _Where(source, f"model_list[{index}]")
        if not isinstance(entry, Mapping):
            raise where.error(f"must be a mapping, got {type(entry).__name__}")
        group = entry.get("model_name")
        if not isinstance(group, str) or not _NAME.match(group):
            raise where.error(f"must be a name without spaces, got {group!r}", "model_name")
        where = _Where(source, f"model_list[{index}] ({group})")
        params = _mapping(entry.get("litellm_params"), where, "litellm_params", required=True)
        info = _mapping(entry.get("model_info"), where, "model_info", required=False)
        mode = info.get("mode")
        if mode is not None and mode != "chat":
            skipped[f"mode={mode}"] += 1
            continue
        at_params, at_info = where.under("litellm_params"), where.under("model_info")
        litellm_provider, name = _split_model(params, at_params)
        provider = provider_from_litellm(litellm_provider)
        if provider is None:
            skipped[f"litellm_provider={litellm_provider}"] += 1
            continue
        base_model = info.get("base_model")
        if base_model is not None:
            if not isinstance(base_model, str) or not base_model.strip():
                raise at_info.error("must be a model name", "base_model")
            prefix, sep, rest = base_model.strip().partition("/")
            same = prefix == litellm_provider or provider_from_litellm(prefix) == provider
            name = rest if sep and rest and same else base_model.strip()
        underlying = name.lower()
        if not _NAME.match(underlying):
            raise at_params.error(f"{name!r} cannot be a model id", "model")

        found, notes = known.find(litellm_provider, provider, underlying)
        model_id = found.model if found is not None else underlying
        model: dict[str, Any] = {}
        deployment: dict[str, Any] = {"provider": provider}
        capabilities: dict[str, bool] = {}
        if found is not None:
            model, copied, capabilities = _copy_from_base(base, found, found.provider == provider)
            deployment.update(copied)
        elif (vendor := infer_vendor(provider, model_id)) is not None:
            model["vendor"] = vendor

        # What the config states wins over the base: prices as a whole (a
        # negotiated price voids the base's batch and priority rates too), and
        # limits and capabilities one by one.
        facts = _read_facts(info, at_info).over(_read_facts(params, at_params))
        stated = _rules(facts.prices)
        if stated:
            deployment["prices"] = stated
        elif facts.prices:
            notes.append("the config's prices have no standard rate (only batch/flex/priority)")
        for attribute in ("context_window", "max_output_tokens"):
            if (value := getattr(facts, attribute)) is not None:
                deployment[attribute] = value
        capabilities.update(facts.capabilities)
        if capabilities:
            deployment["capabilities"] = capabilities
        if facts.deprecated:
            deployment["deprecated"] = True
        deployment["regions"] = _regions(params, at_params)
        if params.get("weight") is not None:
            deployment["weight"] = _whole(params["weight"], at_params, "weight")
        if params.get("order") is not None:
            deployment["order"] = _whole(params["order"], at_params, "order")
        # LiteLLM reads rpm/tpm from litellm_params, or from the entry itself.
        for limit in ("rpm", "tpm"):
            value = params.get(limit, entry.get(limit))
            if value is not None:
                deployment[limit] = _whole(value, at_params, limit)

        rules, problem = _price_warnings(deployment.get("prices", []))
        if rules:
            deployment["prices"] = rules
        else:
            deployment.pop("prices", None)
            hint = ""
            if provider == "azure" and base_model is None:
                hint = (
                    "; for azure the name after 'azure/' is a deployment name: "
                    "set model_info.base_model"
                )
            problem = (
                f"no prices for {provider}/{model_id}: neither the base catalog nor the config "
                f"prices it; the router rejects it as price_unknown{hint}"
            )
        per_provider[provider] += 1
        key = _deployment_key(info, provider, per_provider[provider], used, where)
        used[key] = where.entry
        _validated(deployment, where)

        warnings += [f"entry {where.entry}: {note}" for note in notes]
        if problem is not None:
            warnings.append(f"entry {where.entry}: {problem}")
        target = models.setdefault(model_id, {**model, "deployments": {}})
        target["deployments"][key] = deployment
        groups.setdefault(group, []).append(f"{key}/{model_id}")
        if provider not in providers and provider in base.document.providers:
            providers[provider] = base.document.providers[provider].model_dump(
                mode="json", exclude_none=True
            )

    aliases = _aliases(groups, models, source)
    settings = _mapping(
        raw.get("router_settings"), _Where(source, "router_settings"), None, required=False
    )
    _group_aliases(settings, groups, aliases, models, source)
    document = {"schema": SCHEMA_ID, "providers": providers, "models": models, "aliases": aliases}
    validate_layer(source, document)
    return ImportResult(document, tuple(warnings), dict(skipped))


def _aliases(
    groups: Mapping[str, list[str]], models: Mapping[str, Mapping[str, Any]], source: str
) -> dict[str, list[str]]:
    aliases: dict[str, list[str]] = {}
    for group, targets in groups.items():
        if group in models:
            # The model id already resolves to all of its deployments: an alias of
            # the same name is neither needed nor allowed. If the group is only
            # some of them, a request for it would reach the others too.
            own = {f"{key}/{group}" for key in models[group]["deployments"]}
            if set(targets) != own:
                raise CatalogError(
                    f"model group {group!r} has the name of model {group} but not all of its "
                    f"deployments ({', '.join(sorted(own - set(targets)))} are in other "
                    "groups): rename the group",
                    source=source,
                    entry=f"model_name {group}",
                    field="model_name",
                )
            continue
        aliases[group] = list(targets)
    return aliases


def _group_aliases(
    settings: Mapping[str, Any],
    groups: Mapping[str, list[str]],
    aliases: dict[str, list[str]],
    models: Mapping[str, Any],
    source: str,
) -> None:
    """``router_settings.model_group_alias: {alias: group}`` (or ``{model: group}``)."""
    where = _Where(source, "router_settings")
    table = _mapping(settings.get("model_group_alias"), where, "model_group_alias", required=False)
    for alias, value in table.items():
        name = f"model_group_alias.{alias}"
        group = value.get("model") if isinstance(value, Mapping) else value
        if not isinstance(alias, str) or not _NAME.match(alias):
            raise where.error(f"{alias!r} is not a name without spaces", name)
        if alias in models or alias in aliases:
            raise where.error(f"{alias!r} is already a model or a model group", name)
        if not isinstance(group, str) or group not in groups:
            raise where.error(f"{group!r} is not a model group of model_list", name)
        aliases[alias] = list(aliases.get(group, [group]))
