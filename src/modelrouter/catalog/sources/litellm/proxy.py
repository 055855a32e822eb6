"""``import_litellm_config`` reads a proxy ``config.yaml``. Every ``model_list``
entry becomes one deployment, filled in from a base catalog where the config is
silent; every ``model_name`` group becomes an alias of its deployments. Only
named facts are read from an entry, so credentials are never copied: an
``api_key: os.environ/NAME`` becomes the reference ``NAME``, a literal key is
dropped with a warning.

Each deployment carries its endpoint (the upstream model name after the
provider prefix, ``api_base``, ``api_version``, the API shape and the credential
reference), and a key that does not depend on the entry's position:

- ``model_info.id`` when the entry states one;
- else ``{provider}-{h}``, ``h`` 8 hex digits of a hash of what the entry
  calls: our provider id, the upstream model and where it is called
  (``api_base``; for Bedrock and Vertex, which have none, the region);
- entries that share all three (one endpoint under two keys, or in two groups)
  add 6 hex digits of a hash of what tells them apart: the model group, the
  credential reference and ``api_version``;
- entries equal in all of that are one deployment stated twice: imported once
  if they say the same, an error asking for a ``model_info.id`` if not.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from modelrouter.catalog.build import validate_layer
from modelrouter.catalog.matching import GENAI_PROVIDERS, genai_models, genai_ref
from modelrouter.catalog.model import ApiShape
from modelrouter.catalog.schema import SCHEMA_ID, check_api_base, check_credential_ref
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


# -- endpoints --------------------------------------------------------------------

# LiteLLM provider -> the wire shape its endpoint speaks.
_SHAPES = {
    "openai": ApiShape.OPENAI_CHAT,
    "azure": ApiShape.OPENAI_CHAT,
    "azure_ai": ApiShape.OPENAI_CHAT,
    "text-completion-openai": ApiShape.OPENAI_CHAT,
    "anthropic": ApiShape.ANTHROPIC_MESSAGES,
    "gemini": ApiShape.GEMINI,
    "bedrock": ApiShape.BEDROCK_CONVERSE,
    "bedrock_converse": ApiShape.BEDROCK_CONVERSE,
}
# LiteLLM providers whose endpoints speak OpenAI's chat completions. Any other
# (cohere, sagemaker, ollama...) gets no shape rather than a guessed one.
_OPENAI_COMPATIBLE = frozenset(
    {
        "cerebras",
        "custom_openai",
        "databricks",
        "deepinfra",
        "deepseek",
        "fireworks_ai",
        "groq",
        "hosted_vllm",
        "litellm_proxy",
        "lm_studio",
        "mistral",
        "moonshot",
        "nebius",
        "nvidia_nim",
        "openai_like",
        "openrouter",
        "perplexity",
        "sambanova",
        "together_ai",
        "vllm",
        "xai",
        "zai",
    }
)
_ENVIRON = "os.environ/"


def _api_shape(litellm_provider: str, upstream: str) -> ApiShape | None:
    name = litellm_provider.lower()
    if name.startswith("vertex_ai"):
        # Vertex serves Claude with Messages bodies and Gemini with its own;
        # its other partner models speak neither.
        model = upstream.lower()
        if model.startswith("claude"):
            return ApiShape.ANTHROPIC_MESSAGES
        return ApiShape.GEMINI if model.startswith("gemini") else None
    if name in _SHAPES:
        return _SHAPES[name]
    return ApiShape.OPENAI_CHAT if name in _OPENAI_COMPATIBLE else None


def _upstream(provider: str, name: str) -> str:
    """The model id sent upstream: what follows the provider prefix, less
    LiteLLM's own route prefix (``bedrock/converse/<model id>``)."""
    if provider == "bedrock" and name.startswith("converse/"):
        return name[len("converse/") :]
    return name


def _credential(
    params: Mapping[str, Any], where: _Where, default: str | None
) -> tuple[str | None, str | None]:
    """(credential reference, warning) of ``api_key``; ``default`` is the
    provider's reference, which a hop without its own falls back to. The
    message never repeats a literal key."""
    value = params.get("api_key")
    if value is None:
        return None, None
    if isinstance(value, str) and value.strip().startswith(_ENVIRON):
        name = value.strip()[len(_ENVIRON) :]
        try:
            return check_credential_ref(name), None
        except ValueError as exc:
            raise where.error(f"os.environ/ {exc}", "api_key") from None
    instead = (
        f"the hop falls back to the provider's reference {default}"
        if default is not None
        else "the hop names no credential"
    )
    return None, (
        f"litellm_params.api_key is a literal key: dropped, never copied, and {instead}; "
        "write api_key: os.environ/NAME to bind it to a reference"
    )


def _endpoint_text(
    params: Mapping[str, Any], name: str, where: _Where
) -> tuple[str | None, str | None, str]:
    """(value to copy, warning, what identifies it) of ``api_base`` or
    ``api_version``. A value LiteLLM reads from the environment at start-up is
    not known here: left out, but still tells entries apart."""
    value = params.get(name)
    if value is None:
        return None, None, ""
    if isinstance(value, date):
        value = value.isoformat()  # YAML reads an unquoted 2024-10-21 as a date
    if not isinstance(value, str) or not _NAME.match(value.strip()):
        # Not repeated in the message: an api_base may hold a key.
        raise where.error("must be text without spaces, at most 200 characters", name)
    value = value.strip()
    if value.startswith(_ENVIRON):
        return (
            None,
            f"litellm_params.{name} is read from the environment "
            f"({value[len(_ENVIRON) :]}) when LiteLLM starts: not known to the catalog, "
            "left out of the endpoint",
            value,
        )
    if name == "api_base":
        try:
            check_api_base(value)
        except ValueError as exc:
            raise where.error(str(exc), name) from None
        return value, None, value.rstrip("/")
    return value, None, value


def _short_hash(*parts: str, digits: int) -> str:
    text = "\x00".join(parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:digits]


# -- one entry ---------------------------------------------------------------------


@dataclass
class _Entry:
    """One model_list entry as read: all it adds to the document but its key."""

    where: _Where
    group: str
    provider: str
    model_id: str
    model: dict[str, Any]
    deployment: dict[str, Any]
    stated_key: str | None
    # What the entry calls: provider, upstream model, api_base (or region).
    identity: tuple[str, str, str]
    # What tells apart entries with one identity: group, credential, api_version.
    detail: tuple[str, str, str]
    warnings: list[str] = field(default_factory=list)

    def derived_key(self) -> str:
        return f"{self.provider}-{_short_hash(*self.identity, digits=8)}"

    def detailed_key(self) -> str:
        # The identity hashed again with the detail: two identities whose short
        # hashes collide still get two keys.
        return f"{self.derived_key()}-{_short_hash(*self.identity, *self.detail, digits=6)}"


def _stated_key(info: Mapping[str, Any], where: _Where) -> str | None:
    stated = info.get("id")
    if stated is None:
        return None
    key = str(stated) if isinstance(stated, int | str) and not isinstance(stated, bool) else ""
    if not _KEY.match(key):
        raise where.under("model_info").error(
            f"must be a name without spaces or '/', got {stated!r}", "id"
        )
    return key


def _read_entry(
    index: int, entry: Any, source: str, known: _Base, skipped: Counter[str]
) -> _Entry | None:
    """The entry, read; None when it is skipped (counted in ``skipped``)."""
    base = known.catalog
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
        return None
    at_params, at_info = where.under("litellm_params"), where.under("model_info")
    litellm_provider, name = _split_model(params, at_params)
    provider = provider_from_litellm(litellm_provider)
    if provider is None:
        skipped[f"litellm_provider={litellm_provider}"] += 1
        return None
    upstream = _upstream(provider, name)
    if not _NAME.match(upstream):
        raise at_params.error(f"{upstream!r} cannot be sent as a model name", "model")
    name = upstream  # the base catalog is searched for the model LiteLLM calls
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

    # The endpoint: what the gateway sends, where, and with which secret.
    provider_spec = base.document.providers.get(provider)
    defaults = provider_spec.endpoint if provider_spec is not None else None
    credential, dropped = _credential(
        params, at_params, defaults.credential_ref if defaults is not None else None
    )
    api_base, base_note, location = _endpoint_text(params, "api_base", at_params)
    api_version, version_note, version = _endpoint_text(params, "api_version", at_params)
    # After what is wrong with the prices: that one matters more.
    later = [note for note in (dropped, base_note, version_note) if note is not None]
    endpoint: dict[str, Any] = {"upstream_model": upstream}
    for key, value in (
        ("api_base", api_base),
        ("api_version", api_version),
        ("api_shape", _api_shape(litellm_provider, upstream)),
        ("credential_ref", credential),
    ):
        if value is not None:
            endpoint[key] = value.value if isinstance(value, ApiShape) else value
    if "api_shape" not in endpoint:
        later.append(
            f"LiteLLM provider {litellm_provider!r} speaks none of the API shapes modelrouter "
            "names: the endpoint has no api_shape"
        )
    deployment["endpoint"] = endpoint
    if not location:
        # Bedrock and Vertex have no api_base: the region says where they are called.
        for region_param in ("aws_region_name", "vertex_location"):
            if isinstance(params.get(region_param), str):
                location = f"{region_param}={params[region_param].strip()}"
                break

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
    _validated(deployment, where)
    if problem is not None:
        notes.append(problem)
    notes += later
    return _Entry(
        where=where,
        group=group,
        provider=provider,
        model_id=model_id,
        model=model,
        deployment=deployment,
        stated_key=_stated_key(info, where),
        identity=(provider, upstream, location),
        detail=(group, credential or "", version),
        warnings=[f"entry {where.entry}: {note}" for note in notes],
    )


def _keyed(entries: list[_Entry]) -> list[tuple[str, _Entry]]:
    """Each entry with its key, in config order; an entry that repeats another
    one exactly is left out (with a warning on the one kept)."""
    stated: dict[str, _Entry] = {}
    for item in entries:
        if item.stated_key is None:
            continue
        if item.stated_key in stated:
            raise item.where.under("model_info").error(
                f"id {item.stated_key!r} is already taken by {stated[item.stated_key].where.entry}",
                "id",
            )
        stated[item.stated_key] = item
    # One deployment stated twice (same endpoint, group, credential and version)
    # first: a repeat must not rename the entry it repeats.
    distinct: dict[tuple[tuple[str, str, str], tuple[str, str, str]], _Entry] = {}
    repeats: set[int] = set()
    for item in entries:
        if item.stated_key is not None:
            continue
        other = distinct.setdefault((item.identity, item.detail), item)
        if other is item:
            continue
        if (other.model_id, other.model, other.deployment) != (
            item.model_id,
            item.model,
            item.deployment,
        ):
            provider, upstream, location = item.identity
            at = f" at {location}" if location else ""
            raise item.where.error(
                f"calls the same endpoint as {other.where.entry} ({provider} model "
                f"{upstream}{at}) in the same model group, with the same credential and "
                "api_version, but says something else about it: give each a model_info.id",
                "litellm_params.model",
            )
        other.warnings.append(
            f"entry {other.where.entry}: {item.where.entry} states the same deployment again: "
            "imported once"
        )
        repeats.add(id(item))
    shared = Counter(item.derived_key() for item in distinct.values())
    keys: dict[int, str] = {id(item): key for key, item in stated.items()}
    for item in distinct.values():
        key = item.derived_key() if shared[item.derived_key()] == 1 else item.detailed_key()
        if key in stated:
            raise item.where.error(
                f"its derived id {key!r} is the model_info.id of {stated[key].where.entry}: "
                "give it a model_info.id of its own",
                "litellm_params.model",
            )
        keys[id(item)] = key
    return [(keys[id(item)], item) for item in entries if id(item) not in repeats]


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
    skipped: Counter[str] = Counter()
    read = [
        _read_entry(index, entry, source, known, skipped) for index, entry in enumerate(model_list)
    ]
    entries = [item for item in read if item is not None]

    models: dict[str, dict[str, Any]] = {}
    providers: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[str]] = {}
    warnings: list[str] = []
    if not model_list:
        warnings.append("model_list is empty: nothing to import")
    for key, item in _keyed(entries):
        warnings += item.warnings
        target = models.setdefault(item.model_id, {**item.model, "deployments": {}})
        target["deployments"][key] = item.deployment
        groups.setdefault(item.group, []).append(f"{key}/{item.model_id}")
        provider = item.provider
        if provider not in providers and provider in base.document.providers:
            # With its endpoint defaults: an entry that names no api_base or key
            # is called as the provider's deployments are.
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
