"""The names people already use, matched to the catalog's models and deployments.

A caller may name a model the way a provider, a gateway or a config does: a
dated id (``gpt-4o-2024-08-06``), an OpenRouter slug
(``anthropic/claude-3.5-sonnet``), a Bedrock id or inference profile
(``us.anthropic.claude-3-5-sonnet-20240620-v1:0``), a Vertex id
(``claude-3-5-sonnet@20240620``, ``publishers/google/models/gemini-1.5-pro``)
or a LiteLLM route (``bedrock/...``, ``vertex_ai/...``). These are tried only
once the catalog's own names (aliases, model ids, deployment ids,
``provider/model``) have failed, and a match is only claimed on evidence that
the name means *that* model, at its prices:

1. the name is what a deployment calls its model upstream, or the
   genai-prices entry that prices it (``anthropic/claude-3.5-sonnet`` is the
   id OpenRouter's deployment of ``claude-3-5-sonnet`` is called and priced by);
2. the name is a catalog id spelled another way: dots for dashes between
   digits (``3.5``/``3-5``), Vertex's ``@version``, Bedrock's ``-v1:0``;
3. genai-prices' own name rules price the name with the very entry a catalog
   model's deployment cites (its ``gpt-4o`` entry lists ``gpt-4o-2024-08-06``;
   ``gpt-4o-2024-05-13`` has an entry, and prices, of its own).

Each rule is tried on the name as given, then without a routing prefix
(``bedrock/``: only that provider's deployments), a Vertex publisher path, or
a vendor prefix (``meta-llama/``). A rule that finds more than one model
decides nothing: the name is refused with those models as suggestions. Region
prefixes of Bedrock profiles are never dropped (``global.`` and ``us.`` are
priced apart); they are matched as genai-prices matches them.

Pure: everything is read from the catalog and from genai-prices' bundled
data (Python, no file). The index is built once per catalog (``Catalog.derived``);
a lookup then costs in proportion to the name, and its answer is kept.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment
from modelrouter.errors import UnknownModelError

__all__ = ["NameMatch", "match_name", "name_index", "spelling", "suggest"]

# Our provider id -> genai-prices', where they differ (as catalog.matching).
_GENAI_PROVIDERS = {"bedrock": "aws", "xai": "x-ai", "vertex": "google"}
# How the plan names a provider's own id for a model.
_ID_KINDS = {
    "openrouter": "OpenRouter slug",
    "bedrock": "Bedrock model id",
    "vertex": "Vertex AI model id",
    "azure": "Azure deployment name",
}
# Bedrock's geographic inference-profile prefixes: priced as the in-region
# ("regional") entry, whereas ``global.`` has prices of its own.
_BEDROCK_GEO = re.compile(r"^(?:us|eu|apac|au|jp|ca|us-gov)\.")
_VERTEX_PATH = re.compile(
    r"^(?:projects/[^/]+/locations/[^/]+/)?publishers/(?P<vendor>[^/]+)/models/(?P<model>[^/]+)$"
)
_DATE_SUFFIX = re.compile(r"(?:[-@]\d{4}-?\d{2}-?\d{2}|[-@]\d{3,4}|-latest|-preview)$")
_CACHE_LIMIT = 4096
_SUGGESTIONS = 5


@dataclass(frozen=True, slots=True)
class NameMatch:
    """What a name resolved to, and why: the plan's note says so."""

    name: str
    deployments: tuple[Deployment, ...]
    target: str  # "model gpt-4o", "deployment bedrock/...", "model m at provider p"
    how: str

    @property
    def note(self) -> str:
        return f"resolved: {self.name} → {self.target} ({self.how})"


def spelling(name: str) -> str:
    """The spelling key: dots between digits as dashes, ``@version`` as
    ``-version``, Bedrock's ``-v1:0`` dropped and ``-vN:0`` as ``-vN``. Case
    is kept: names are case-sensitive."""
    key = re.sub(r"(?<=\d)\.(?=\d)", "-", name)
    key = re.sub(r"@(?=[0-9a-z]+$)", "-", key)
    version = re.search(r"-v(\d+):(\d+)$", key)
    if version is not None:
        major, minor = version.groups()
        tail = (
            ""
            if (major, minor) == ("1", "0")
            else f"-v{major}" + ("" if minor == "0" else f"-{minor}")
        )
        key = key[: version.start()] + tail
    return key


def _loose(name: str) -> str:
    """For suggestions only: lower case, letters and digits alone (``gpt4o`` ~ ``gpt-4o``)."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _canonical_profile(upstream: str) -> str:
    """A Bedrock profile as genai-prices prices it: ``us.x``, ``eu.x`` are ``regional.x``
    (``global.x`` has prices of its own)."""
    if _BEDROCK_GEO.match(upstream):
        return "regional." + upstream.split(".", 1)[1]
    return upstream


@cache
def _genai_providers() -> tuple[dict[str, Any], list[Any]]:
    from genai_prices.data import providers

    listed = list(providers)
    return {str(p.id): p for p in listed}, listed


@dataclass(frozen=True, slots=True)
class _Index:
    providers: frozenset[str]
    # upstream id (and genai-prices id) of a deployment -> its deployment ids
    upstream: dict[str, tuple[str, ...]]
    # spelling key of a model id or of an upstream id -> model ids
    spellings: dict[str, tuple[str, ...]]
    # (genai provider, genai model) a deployment is priced by -> model ids
    genai: dict[tuple[str, str], tuple[str, ...]]
    # the first path segments of upstream ids (``meta-llama``, ``anthropic``)
    vendor_prefixes: frozenset[str]
    # loose key of a model id or alias -> those names
    loose: dict[str, tuple[str, ...]]
    answers: dict[str, NameMatch | tuple[str, ...] | None]


def _build(catalog: Catalog) -> _Index:
    upstream: dict[str, set[str]] = defaultdict(set)
    spellings: dict[str, set[str]] = defaultdict(set)
    genai: dict[tuple[str, str], set[str]] = defaultdict(set)
    prefixes: set[str] = set()
    loose: dict[str, set[str]] = defaultdict(set)
    for model_id, spec in catalog.document.models.items():
        spellings[spelling(model_id)].add(model_id)
        loose[_loose(model_id)].add(model_id)
        for key, dspec in spec.deployments.items():
            if dspec.genai is not None:
                genai[(dspec.genai.provider, dspec.genai.model.lower())].add(model_id)
                for d in catalog.deployments_at(dspec.provider or key, model_id):
                    upstream[_canonical_profile(dspec.genai.model)].add(d.id)
    for alias in catalog.aliases:
        loose[_loose(alias)].add(alias)
    for d in catalog.deployments.values():
        if d.endpoint is not None and d.endpoint.upstream_model:
            upstream[_canonical_profile(d.endpoint.upstream_model)].add(d.id)
    for key, ids in upstream.items():
        head, sep, _ = key.partition("/")
        if sep:
            prefixes.add(head)
        for deployment_id in ids:
            spellings[spelling(key)].add(catalog.deployments[deployment_id].model)
    return _Index(
        providers=frozenset(catalog.providers),
        upstream={k: tuple(sorted(v)) for k, v in upstream.items()},
        spellings={k: tuple(sorted(v)) for k, v in spellings.items()},
        genai={k: tuple(sorted(v)) for k, v in genai.items()},
        vendor_prefixes=frozenset(prefixes | {m.vendor for m in catalog.models.values()}),
        loose={k: tuple(sorted(v)) for k, v in loose.items()},
        answers={},
    )


def name_index(catalog: Catalog) -> _Index:
    return catalog.derived("names", _build)


@dataclass(frozen=True, slots=True)
class _Form:
    text: str
    pin: str | None  # only this provider's deployments
    steps: tuple[str, ...]  # what was taken off the name to get here
    genai_provider: str | None  # whose name rules to ask


def _provider_of(head: str, index: _Index) -> str | None:
    if head in index.providers:
        return head
    from modelrouter.catalog.sources.litellm.fields import provider_from_litellm

    ours = provider_from_litellm(head)
    return ours if ours in index.providers else None


def _is_bedrock_id(text: str, index: _Index) -> bool:
    """``anthropic.claude-...-v1:0``, ``us.meta.llama3-...``: a vendor's dotted prefix."""
    parts = text.split(".", 2)
    if len(parts) > 2 and (_BEDROCK_GEO.match(text) or parts[0] in ("global", "regional")):
        parts = parts[1:]
    return len(parts) > 1 and parts[0] in index.vendor_prefixes


def _forms(name: str, index: _Index) -> Iterator[_Form]:
    """The name as given, then with what a gateway or a provider puts around it taken off."""

    def hint(text: str, pin: str | None) -> str | None:
        if pin is not None:
            return _GENAI_PROVIDERS.get(pin, pin)
        if _is_bedrock_id(text, index):
            return "aws"
        if "@" in text:
            return "google"
        return None

    yield _Form(name, None, (), hint(name, None))
    text, pin = name, None
    steps: tuple[str, ...] = ()
    head, sep, tail = text.partition("/")
    if sep and tail and (provider := _provider_of(head, index)) is not None:
        text, pin, steps = tail, provider, (f"{head}/ prefix: {provider} only",)
        yield _Form(text, pin, steps, hint(text, pin))
    vertex = _VERTEX_PATH.match(text)
    if vertex is not None:
        text, steps = vertex["model"], (*steps, "Vertex AI publisher path")
        yield _Form(text, pin, steps, hint(text, pin) or "google")
        return
    head, sep, tail = text.partition("/")
    if sep and tail and "/" not in tail and head in index.vendor_prefixes:
        text, steps = tail, (*steps, f"vendor prefix {head}/")
        yield _Form(text, pin, steps, hint(text, pin))


def _at(deployments: Iterable[Deployment], pin: str | None) -> tuple[Deployment, ...]:
    return tuple(d for d in deployments if pin is None or d.provider == pin)


def _model_match(
    catalog: Catalog, models: Iterable[str], form: _Form, how: str, name: str
) -> NameMatch | tuple[str, ...] | None:
    """One model (with a deployment at the pin) is a match; several are refused,
    and they are the suggestions."""
    found = [m for m in dict.fromkeys(models) if _at(catalog.deployments_of(m), form.pin)]
    if not found:
        return None
    if len(found) > 1:
        return tuple(sorted(found))
    [model] = found
    deployments = _at(catalog.deployments_of(model), form.pin)
    target = f"model {model}" if form.pin is None else f"model {model} at {form.pin}"
    if len(deployments) == 1 and form.pin is not None:
        target = f"deployment {deployments[0].id}"
    return NameMatch(name, deployments, target, "; ".join((*form.steps, how)))


def _exact(
    catalog: Catalog, index: _Index, form: _Form, name: str
) -> NameMatch | tuple[str, ...] | None:
    if not form.steps:
        return None  # the caller tried the name as given already
    found = _at(catalog.lookup_target(form.text), form.pin)
    if not found:
        return None
    models = {d.model for d in found}
    if form.text in catalog.models and len(models) == 1:
        target = f"model {form.text}" if form.pin is None else f"model {form.text} at {form.pin}"
    else:
        target = ", ".join(d.id for d in found)
        target = f"deployment {target}" if len(found) == 1 else f"deployments {target}"
    return NameMatch(name, found, target, "; ".join(form.steps))


def _upstream(
    catalog: Catalog, index: _Index, form: _Form, name: str
) -> NameMatch | tuple[str, ...] | None:
    ids = index.upstream.get(_canonical_profile(form.text))
    if not ids:
        return None
    deployments = _at((catalog.deployments[i] for i in ids), form.pin)
    if not deployments:
        return None
    providers = sorted({d.provider for d in deployments})
    if len(providers) == 1:
        kind = _ID_KINDS.get(providers[0], f"the id {providers[0]} uses")
    elif len(providers) <= 3:
        kind = f"the id {', '.join(providers)} use"
    else:
        kind = f"the id {providers[0]} and {len(providers) - 1} other providers use"
    if form.pin is not None:
        # Pinned: exactly the deployments known by that id there.
        models = sorted({d.model for d in deployments})
        if len(models) > 1:
            return tuple(models)
        target = ", ".join(d.id for d in deployments)
        target = f"deployment {target}" if len(deployments) == 1 else f"deployments {target}"
        return NameMatch(name, deployments, target, "; ".join((*form.steps, kind)))
    return _model_match(catalog, (d.model for d in deployments), form, kind, name)


def _spelled(
    catalog: Catalog, index: _Index, form: _Form, name: str
) -> NameMatch | tuple[str, ...] | None:
    key = spelling(form.text)
    models = index.spellings.get(key)
    if not models or (key == form.text and form.text in models):
        return None  # the exact rule had it already
    return _model_match(
        catalog,
        models,
        form,
        "the same id spelled another way: dots or dashes, @version, -v1:0",
        name,
    )


def _genai(
    catalog: Catalog, index: _Index, form: _Form, name: str
) -> NameMatch | tuple[str, ...] | None:
    text = form.text
    if text != text.lower() or "/" in text:
        # Names are case-sensitive, and genai-prices' rules would read a
        # prefix as part of the name: the forms without one come next.
        return None
    by_id, listed = _genai_providers()
    if form.genai_provider is not None:
        provider = by_id.get(form.genai_provider)
    else:
        provider = next(
            (p for p in listed if p.model_match is not None and p.model_match.is_match(text)), None
        )
    if provider is None:
        return None
    model = provider.find_model(text, all_providers=listed)
    if model is None:
        return None
    # The entry may be a fallback provider's (Vertex prices Claude as Anthropic does).
    owner = next(
        (
            p
            for p in (provider, *(by_id.get(f) for f in provider.fallback_model_providers or ()))
            if p is not None and any(m is model for m in p.models)
        ),
        provider,
    )
    models = [
        *index.genai.get((str(provider.id), str(model.id).lower()), ()),
        *index.genai.get((str(owner.id), str(model.id).lower()), ()),
    ]
    how = f"genai-prices prices {text} as {provider.id} {model.id}"
    return _model_match(catalog, models, form, how, name)


_Rule = Callable[[Catalog, _Index, _Form, str], "NameMatch | tuple[str, ...] | None"]


def _lookup(catalog: Catalog, index: _Index, name: str) -> NameMatch | tuple[str, ...] | None:
    rules: tuple[_Rule, ...] = (_exact, _upstream, _spelled, _genai)
    for form in _forms(name, index):
        for rule in rules:
            found = rule(catalog, index, form, name)
            if found is not None:
                return found
    return None


def match_name(catalog: Catalog, name: str) -> NameMatch | None:
    """The model or deployments a name the catalog does not hold means, with
    how it was matched; None when nothing shows what it means. A name that
    could mean more than one model raises ``UnknownModelError`` naming them."""
    index = name_index(catalog)
    if name in index.answers:
        answer = index.answers[name]
    else:
        answer = _lookup(catalog, index, name)
        if len(index.answers) >= _CACHE_LIMIT:
            index.answers.clear()
        index.answers[name] = answer
    if isinstance(answer, tuple):
        raise UnknownModelError(name, answer)
    return answer


def suggest(catalog: Catalog, name: str, *, limit: int = _SUGGESTIONS) -> tuple[str, ...]:
    """Close catalog names for one it does not hold: the same letters and
    digits (``gpt4o`` -> ``gpt-4o``), the undated stem of a dated id, then
    difflib's nearest spellings."""
    index = name_index(catalog)
    out: dict[str, None] = {}
    text = name
    for form in _forms(name, index):
        text = form.text
        out.update(dict.fromkeys(index.loose.get(_loose(text), ())))
    stem = _DATE_SUFFIX.sub("", text)
    if stem != text:
        out.update(dict.fromkeys(index.loose.get(_loose(stem), ())))
    names = catalog.names()
    out.update(dict.fromkeys(difflib.get_close_matches(name, names, n=3, cutoff=0.75)))
    if text != name:
        out.update(dict.fromkeys(difflib.get_close_matches(text, names, n=3, cutoff=0.75)))
    out.pop(name, None)
    return tuple(out)[:limit]
