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

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from modelrouter.catalog.build import validate_layer
from modelrouter.catalog.model import ApiShape
from modelrouter.catalog.schema import SCHEMA_ID, check_api_base, check_credential_ref
from modelrouter.catalog.sources.litellm.aliases import Reached, build_aliases
from modelrouter.catalog.sources.litellm.base import _Base, _copy_from_base
from modelrouter.catalog.sources.litellm.budgets import capped, deployment_budget, proxy_budgets
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
from modelrouter.catalog.sources.litellm.params import (
    ENTRY_FIELDS,
    INFO_FIELDS,
    PARAM_FIELDS,
    dropped_fields,
    is_fact,
)
from modelrouter.catalog.sources.litellm.report import ReportBuilder
from modelrouter.catalog.sources.litellm.wildcards import expand, is_wildcard
from modelrouter.catalog.sources.vendors import infer_vendor
from modelrouter.errors import CatalogError
from modelrouter.policy.document import parse_policy

if TYPE_CHECKING:
    from modelrouter.catalog.index import Catalog

__all__ = ["import_litellm_config"]


# -- the proxy config ----------------------------------------------------------------

# Bare model names LiteLLM routes without a provider prefix.
_BARE_PROVIDERS = (
    (("gpt-", "o1", "o3", "o4", "chatgpt-", "ft:gpt-"), "openai"),
    (("claude-",), "anthropic"),
    (("gemini-",), "vertex_ai"),
    (("command",), "cohere_chat"),
)


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
    if model == "*":
        return "*", "*"
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
    # A bare Bedrock or Vertex id: the entry's region parameters say which.
    if any(str(name).startswith("aws_") for name in params):
        return "bedrock", model
    if any(str(name).startswith("vertex_") for name in params):
        return "vertex_ai", model
    raise where.error(
        f"cannot tell which provider serves {model!r}: write it as provider/model "
        "(e.g. openai/gpt-4o, bedrock/<model id>), or give aws_region_name for Bedrock",
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


@dataclass(frozen=True)
class _Placed:
    """One deployment an entry adds, with the model it belongs to."""

    model_id: str
    model: dict[str, Any]
    deployment: dict[str, Any]


@dataclass
class _Entry:
    """One model_list entry as read: all it adds to the document but its key."""

    where: _Where
    group: str
    # One deployment; a wildcard entry one per base-catalog model it reaches.
    placed: list[_Placed]
    stated_key: str | None
    # What the entry calls: provider, upstream model, api_base (or region).
    identity: tuple[str, str, str]
    # What tells apart entries with one identity: group, credential, api_version.
    detail: tuple[str, str, str]
    params: Mapping[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # fields carried over, for the report
    dropped: dict[str, list[str]] = field(default_factory=dict)  # reason -> fields
    wildcard: str | None = None  # ``openai/*``: the pattern

    @property
    def provider(self) -> str:
        return self.identity[0]

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


def _tags(value: Any, where: _Where) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(
        isinstance(tag, str) and _KEY.match(tag) for tag in value
    ):
        raise where.error("must be a list of tags without spaces", "tags")
    return list(dict.fromkeys(value))


def _stated(
    entry: Mapping[str, Any], params: Mapping[str, Any], info: Mapping[str, Any], where: _Where
) -> dict[str, Any]:
    """The deployment fields the entry states itself: regions, weight, order,
    rpm/tpm (from litellm_params, model_info or the entry, as LiteLLM reads
    them) and tags."""
    stated: dict[str, Any] = {"regions": _regions(params, where)}
    for name in ("weight", "order"):
        if params.get(name) is not None:
            stated[name] = _whole(params[name], where, name)
    for limit in ("rpm", "tpm"):
        value = next(
            (place[limit] for place in (params, info, entry) if place.get(limit) is not None),
            None,
        )
        if value is not None:
            stated[limit] = _whole(value, where, limit)
    if params.get("tags") is not None:
        stated["tags"] = _tags(params["tags"], where)
    return stated


@dataclass
class _Binding:
    """The entry's endpoint fields, and what is known of where it calls."""

    endpoint: dict[str, Any]
    notes: list[str]
    dropped: dict[str, list[str]]
    credential: str | None
    location: str
    version: str


def _binding(params: Mapping[str, Any], where: _Where, default_ref: str | None) -> _Binding:
    credential, literal = _credential(params, where, default_ref)
    api_base, base_note, location = _endpoint_text(params, "api_base", where)
    api_version, version_note, version = _endpoint_text(params, "api_version", where)
    dropped: dict[str, list[str]] = {}
    if literal is not None:
        dropped.setdefault("a literal key: never copied; write os.environ/NAME", []).append(
            "litellm_params.api_key"
        )
    for name, note in (("api_base", base_note), ("api_version", version_note)):
        if note is not None:
            dropped.setdefault(
                "read from the environment when LiteLLM starts: not known to the catalog", []
            ).append(f"litellm_params.{name}")
    endpoint = {
        key: value
        for key, value in (
            ("api_base", api_base),
            ("api_version", api_version),
            ("credential_ref", credential),
        )
        if value is not None
    }
    if not location:
        # Bedrock and Vertex have no api_base: the region says where they are called.
        for region_param in ("aws_region_name", "vertex_location"):
            if isinstance(params.get(region_param), str):
                location = f"{region_param}={params[region_param].strip()}"
                break
    notes = [note for note in (literal, base_note, version_note) if note is not None]
    return _Binding(endpoint, notes, dropped, credential, location, version)


def _report_fields(
    entry: Mapping[str, Any], params: Mapping[str, Any], info: Mapping[str, Any]
) -> tuple[list[str], dict[str, list[str]]]:
    """(fields kept, reason -> fields dropped) of an entry, by name only."""
    kept = [
        f"litellm_params.{name}"
        for name in params
        if name in PARAM_FIELDS - {"model", "api_key", "max_budget", "budget_duration"}
        or is_fact(str(name))
    ]
    kept += [f"model_info.{name}" for name in info if name in INFO_FIELDS or is_fact(str(name))]
    kept += [str(name) for name in entry if name in ("rpm", "tpm")]
    dropped: dict[str, list[str]] = {}
    for section, values, read in (
        ("entry", entry, ENTRY_FIELDS),
        ("litellm_params", params, PARAM_FIELDS),
        ("model_info", info, INFO_FIELDS),
    ):
        for reason, names in dropped_fields(section, values, read).items():
            dropped.setdefault(reason, []).extend(names)
    return kept, dropped


def _read_entry(
    index: int,
    entry: Any,
    source: str,
    known: _Base,
    skipped: Counter[str],
    report: ReportBuilder,
) -> _Entry | None:
    """The entry, read; None when it is left out (not chat: counted in
    ``skipped`` and reported as dropped). A CatalogError when it cannot be read."""
    base = known.catalog
    where = _Where(source, f"model_list[{index}]")
    if not isinstance(entry, Mapping):
        raise where.error(f"must be a mapping, got {type(entry).__name__}")
    group = entry.get("model_name")
    if not isinstance(group, str) or not _NAME.match(group):
        raise where.error(f"must be a name without spaces, got {group!r}", "model_name")
    where = _Where(source, f"model_list[{index}] ({group})")
    if entry.get("litellm_params") is None:
        raise where.error("missing: nothing says which model the entry calls", "litellm_params")
    params = _mapping(entry.get("litellm_params"), where, "litellm_params", required=True)
    info = _mapping(entry.get("model_info"), where, "model_info", required=False)
    mode = info.get("mode")
    if mode is not None and mode != "chat":
        skipped[f"mode={mode}"] += 1
        report.dropped(where.entry, f"model_info.mode {mode}: modelrouter routes chat only")
        return None
    at_params, at_info = where.under("litellm_params"), where.under("model_info")
    litellm_provider, name = _split_model(params, at_params)
    kept, dropped = _report_fields(entry, params, info)
    if litellm_provider == "*" or is_wildcard(name):
        return _read_wildcard(
            where, group, entry, params, info, (litellm_provider, name), known, kept, dropped
        )
    provider = provider_from_litellm(litellm_provider)
    if provider is None:
        skipped[f"litellm_provider={litellm_provider}"] += 1
        report.dropped(
            where.entry, f"LiteLLM provider {litellm_provider}: text completion, not chat"
        )
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
    deployment.update(_stated(entry, params, info, at_params))

    # The endpoint: what the gateway sends, where, and with which secret.
    provider_spec = base.document.providers.get(provider)
    defaults = provider_spec.endpoint if provider_spec is not None else None
    bound = _binding(params, at_params, defaults.credential_ref if defaults else None)
    # After what is wrong with the prices: that one matters more.
    later = list(bound.notes)
    endpoint: dict[str, Any] = {"upstream_model": upstream}
    shape = _api_shape(litellm_provider, upstream)
    for key in ("api_base", "api_version"):
        if key in bound.endpoint:
            endpoint[key] = bound.endpoint[key]
    if shape is not None:
        endpoint["api_shape"] = shape.value
    else:
        later.append(
            f"LiteLLM provider {litellm_provider!r} speaks none of the API shapes modelrouter "
            "names: the endpoint has no api_shape"
        )
    if bound.credential is not None:
        endpoint["credential_ref"] = bound.credential
    deployment["endpoint"] = endpoint

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
    for reason, names in bound.dropped.items():
        dropped.setdefault(reason, []).extend(names)
    return _Entry(
        where=where,
        group=group,
        placed=[_Placed(model_id, model, deployment)],
        stated_key=_stated_key(info, where),
        identity=(provider, upstream, bound.location),
        detail=(group, bound.credential or "", bound.version),
        params=params,
        warnings=[f"entry {where.entry}: {note}" for note in notes],
        kept=[name for name in kept if not any(name in n for n in bound.dropped.values())],
        dropped=dropped,
    )


def _read_wildcard(
    where: _Where,
    group: str,
    entry: Mapping[str, Any],
    params: Mapping[str, Any],
    info: Mapping[str, Any],
    split: tuple[str, str],
    known: _Base,
    kept: list[str],
    dropped: dict[str, list[str]],
) -> _Entry:
    """``model: openai/*`` (or ``"*"``): the base catalog's models of that
    provider (or of every one), bound to the entry's endpoint."""
    litellm_provider, pattern = split
    at_params = where.under("litellm_params")
    provider = None if litellm_provider == "*" else provider_from_litellm(litellm_provider)
    if litellm_provider != "*" and provider is None:
        raise at_params.error(f"LiteLLM provider {litellm_provider!r} is not chat", "model")
    default_ref = None
    if provider is not None and (spec := known.catalog.document.providers.get(provider)):
        default_ref = spec.endpoint.credential_ref if spec.endpoint is not None else None
    bound = _binding(params, at_params, default_ref)
    endpoint = dict(bound.endpoint)
    shape = _api_shape(litellm_provider, "") if provider is not None else None
    placed = [
        _Placed(model_id, model, deployment)
        for model_id, model, deployment in expand(
            known.catalog, provider, pattern, _stated(entry, params, info, at_params), endpoint
        )
    ]
    if not placed:
        reach = f"at provider {provider}" if provider else "at any provider"
        raise at_params.error(
            f"wildcard {litellm_provider}/{pattern}: the base catalog has no model {reach} "
            f"matching {pattern!r}",
            "model",
        )
    for item in placed:
        # A base deployment without a shape takes the one the LiteLLM provider speaks.
        if shape is not None:
            item.deployment["endpoint"].setdefault("api_shape", shape.value)
        _validated(item.deployment, where)
    for reason, names in bound.dropped.items():
        dropped.setdefault(reason, []).extend(names)
    return _Entry(
        where=where,
        group=group,
        placed=placed,
        stated_key=_stated_key(info, where),
        identity=(provider or "all", pattern, bound.location),
        detail=(group, bound.credential or "", bound.version),
        params=params,
        warnings=[f"entry {where.entry}: {note}" for note in bound.notes],
        kept=kept,
        dropped=dropped,
        wildcard=f"{litellm_provider}/{pattern}" if provider else pattern,
    )


def _comparable(placed: list[_Placed]) -> list[Any]:
    """What entries say, with api_base as the identity reads it (no trailing slash)."""
    said: list[Any] = []
    for item in placed:
        endpoint = dict(item.deployment.get("endpoint", {}))
        if "api_base" in endpoint:
            endpoint["api_base"] = endpoint["api_base"].rstrip("/")
        said.append((item.model_id, item.model, {**item.deployment, "endpoint": endpoint}))
    return said


def _keyed(entries: list[_Entry], report: ReportBuilder) -> list[tuple[str, _Entry]]:
    """Each entry with its key, in config order; an entry that repeats another
    one exactly is left out (with a warning on the one kept), and one whose key
    is taken is skipped (refused when strict)."""
    left_out: set[int] = set()

    def refuse(item: _Entry, error: CatalogError) -> None:
        report.skipped(item.where.entry, error.message, error)
        left_out.add(id(item))

    stated: dict[str, _Entry] = {}
    for item in entries:
        if item.stated_key is None:
            continue
        if item.stated_key in stated:
            refuse(
                item,
                item.where.under("model_info").error(
                    f"id {item.stated_key!r} is already taken by "
                    f"{stated[item.stated_key].where.entry}",
                    "id",
                ),
            )
            continue
        stated[item.stated_key] = item
    # One deployment stated twice (same endpoint, group, credential and version)
    # first: a repeat must not rename the entry it repeats.
    distinct: dict[tuple[tuple[str, str, str], tuple[str, str, str]], _Entry] = {}
    for item in entries:
        if item.stated_key is not None:
            continue
        other = distinct.setdefault((item.identity, item.detail), item)
        if other is item:
            continue
        if _comparable(other.placed) != _comparable(item.placed):
            provider, upstream, location = item.identity
            at = f" at {location}" if location else ""
            refuse(
                item,
                item.where.error(
                    f"calls the same endpoint as {other.where.entry} ({provider} model "
                    f"{upstream}{at}) in the same model group, with the same credential and "
                    "api_version, but says something else about it: give each a model_info.id",
                    "litellm_params.model",
                ),
            )
            continue
        other.warnings.append(
            f"entry {other.where.entry}: {item.where.entry} states the same deployment again: "
            "imported once"
        )
        report.dropped(item.where.entry, f"states {other.where.entry} again: imported once")
        for reason, names in item.dropped.items():
            report.dropped(f"{item.where.entry} {', '.join(names)}", reason)
        left_out.add(id(item))
    shared = Counter(item.derived_key() for item in distinct.values())
    keys: dict[int, str] = {id(item): key for key, item in stated.items()}
    for item in distinct.values():
        key = item.derived_key() if shared[item.derived_key()] == 1 else item.detailed_key()
        if key in stated:
            refuse(
                item,
                item.where.error(
                    f"its derived id {key!r} is the model_info.id of {stated[key].where.entry}: "
                    "give it a model_info.id of its own",
                    "litellm_params.model",
                ),
            )
            continue
        keys[id(item)] = key
    return [(keys[id(item)], item) for item in entries if id(item) not in left_out]


def _placed_key(key: str, item: _Entry, placed: _Placed) -> str:
    """A ``"*"`` entry reaches one model at several providers: a key for each."""
    if item.provider != "all":
        return key
    provider = placed.deployment["provider"]
    return f"{provider}{key[3:]}" if item.stated_key is None else f"{key}-{provider}"


def _report_entry(key: str, item: _Entry, report: ReportBuilder) -> None:
    fields = f"; kept {', '.join(item.kept)}" if item.kept else ""
    if item.wildcard is None:
        placed = item.placed[0]
        report.kept(item.where.entry, f"deployment {key}/{placed.model_id}{fields}")
    else:
        providers = sorted({p.deployment["provider"] for p in item.placed})
        at = ", ".join(providers) if len(providers) <= 5 else f"{len(providers)} providers"
        keys = f"{key}/..." if item.provider != "all" else f"<provider>{key[3:]}/..."
        report.converted(
            item.where.entry,
            f"wildcard {item.wildcard}: expanded into {len(item.placed)} deployments ({keys}) "
            f"of the base catalog's models at {at}, bound to the entry's endpoint{fields}",
        )
    for reason, names in item.dropped.items():
        report.dropped(f"{item.where.entry} {', '.join(names)}", reason)


def _skip(error: CatalogError, report: ReportBuilder, skipped: Counter[str]) -> str:
    """The warning of an entry that cannot be imported (refused when strict)."""
    report.skipped(error.entry or "model_list", error.message, error)
    skipped["unreadable"] += 1
    return f"skipped: {error.message}"


def import_litellm_config(
    raw: Mapping[str, Any], base: Catalog, *, source: str, strict: bool = False
) -> ImportResult:
    """A standalone catalog document of a LiteLLM proxy config's deployments
    (and the models and providers they need), with one alias per model group;
    a platform-policy fragment of its settings; and a report of what was kept,
    converted, dropped and skipped. ``strict``: an entry or setting that
    cannot be imported refuses the file (a CatalogError) instead of being skipped."""
    model_list = raw.get("model_list")
    if not isinstance(model_list, list):
        raise CatalogError(
            "a LiteLLM proxy config needs a model_list (a list of deployments)",
            source=source,
            field="model_list",
        )
    known = _Base(base)
    report = ReportBuilder(source, strict=strict)
    skipped: Counter[str] = Counter()
    warnings: list[str] = []
    entries: list[_Entry] = []
    for index, entry in enumerate(model_list):
        try:
            item = _read_entry(index, entry, source, known, skipped, report)
        except CatalogError as exc:
            warnings.append(_skip(exc, report, skipped))
            continue
        if item is not None:
            entries.append(item)

    models: dict[str, dict[str, Any]] = {}
    providers: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[str]] = {}
    wildcards: list[tuple[str, list[Reached]]] = []
    budgets: list[dict[str, Any]] = []
    if not model_list:
        warnings.append("model_list is empty: nothing to import")
    for key, item in _keyed(entries, report):
        warnings += item.warnings
        _report_entry(key, item, report)
        for placed in item.placed:
            target = models.setdefault(placed.model_id, {**placed.model, "deployments": {}})
            target["deployments"][_placed_key(key, item, placed)] = placed.deployment
            provider = placed.deployment["provider"]
            if provider not in providers and provider in base.document.providers:
                # With its endpoint defaults: an entry that names no api_base or key
                # is called as the provider's deployments are.
                providers[provider] = base.document.providers[provider].model_dump(
                    mode="json", exclude_none=True
                )
        if item.wildcard is None:
            groups.setdefault(item.group, []).append(f"{key}/{item.placed[0].model_id}")
            budget = deployment_budget(
                f"{key}/{item.placed[0].model_id}", item.params, item.where.entry, report
            )
            if budget is not None:
                budgets.append(budget)
        else:
            reached = [
                Reached(
                    p.model_id,
                    f"{_placed_key(key, item, p)}/{p.model_id}",
                    p.deployment["provider"],
                )
                for p in item.placed
            ]
            wildcards.append((item.group, reached))
            if item.params.get("max_budget") is not None:
                report.dropped(
                    f"{item.where.entry} litellm_params.max_budget",
                    "a wildcard entry is many deployments: give each its own entry and budget",
                )

    aliases = build_aliases(raw, groups, wildcards, models, report)
    budgets = capped([*_proxy_budgets(raw, report), *budgets], report)
    policy = aliases.policy
    if budgets:
        policy["budgets"] = budgets
    parse_policy(policy, source=f"{source} (policy fragment)")
    document = {
        "schema": SCHEMA_ID,
        "providers": providers,
        "models": models,
        "aliases": aliases.aliases,
    }
    validate_layer(source, document)
    return ImportResult(document, tuple(warnings), dict(skipped), policy, report.build())


def _proxy_budgets(raw: Mapping[str, Any], report: ReportBuilder) -> list[dict[str, Any]]:
    sections = [raw.get(name) for name in ("litellm_settings", "router_settings")]
    litellm, router = (value if isinstance(value, Mapping) else {} for value in sections)
    return proxy_budgets(litellm, router, report)
