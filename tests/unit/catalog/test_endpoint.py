"""Endpoint binding: a deployment carries what a gateway needs to call it
(upstream model, api_base, api_version, API shape, credential reference), its
provider's defaults filling in field by field, and every hop of a plan carries it."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import yaml

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import ApiShape, Endpoint
from modelrouter.catalog.schema import check_credential_ref
from modelrouter.errors import CatalogError
from modelrouter.router import Router
from modelrouter.routing.replay import replay
from modelrouter.types import Candidate, CostEstimate, RoutingPlan
from tests.conftest import small_document

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
REQUEST = {"input_tokens": 2000, "max_output_tokens": 500}


def bound_document() -> dict[str, Any]:
    """The small catalog with endpoints: alpha has provider defaults, one of
    its deployments overrides two fields; beta states one deployment's own."""
    document = small_document()
    document["providers"]["alpha"]["endpoint"] = {
        "api_base": "https://api.alpha.example/v1",
        "api_shape": "openai-chat",
        "credential_ref": "ALPHA_API_KEY",
    }
    deployments = document["models"]["open-70b"]["deployments"]
    deployments["alpha"]["endpoint"] = {
        "upstream_model": "alpha-open-70b-eu",
        "credential_ref": "ALPHA_EU_KEY",
    }
    document["models"]["chat-small"]["deployments"]["beta"]["endpoint"] = {
        "api_shape": "anthropic-messages",
        "api_version": "2023-06-01",
    }
    return document


@pytest.fixture(scope="module")
def bound() -> Catalog:
    return Catalog.from_layers([("bound", bound_document())])


def test_provider_defaults_fill_in_and_the_deployment_wins_field_by_field(
    bound: Catalog,
) -> None:
    assert bound.deployments["alpha/open-70b"].endpoint == Endpoint(
        upstream_model="alpha-open-70b-eu",  # the deployment's own
        api_base="https://api.alpha.example/v1",  # the provider's
        api_shape=ApiShape.OPENAI_CHAT,
        credential_ref="ALPHA_EU_KEY",  # the deployment's, over the provider's
    )
    # Stated nowhere on the deployment: the provider's, and the model id upstream.
    assert bound.deployments["alpha/chat-large"].endpoint == Endpoint(
        upstream_model="chat-large",
        api_base="https://api.alpha.example/v1",
        api_shape=ApiShape.OPENAI_CHAT,
        credential_ref="ALPHA_API_KEY",
    )
    assert bound.deployments["beta/chat-small"].endpoint == Endpoint(
        upstream_model="chat-small",
        api_version="2023-06-01",
        api_shape=ApiShape.ANTHROPIC_MESSAGES,
    )


def test_no_endpoint_data_means_no_endpoint(bound: Catalog, small_catalog: Catalog) -> None:
    assert bound.deployments["gamma/open-70b"].endpoint is None
    assert all(d.endpoint is None for d in small_catalog.deployments.values())


def test_endpoints_are_catalog_content(bound: Catalog, small_catalog: Catalog) -> None:
    assert bound.version != small_catalog.version
    assert Catalog.from_content(bound.content()).version == bound.version
    assert bound.content()["providers"]["alpha"]["endpoint"]["api_shape"] == "openai-chat"


def test_an_unquoted_yaml_api_version_is_its_name() -> None:
    document = small_document()
    document["providers"]["gamma"]["endpoint"] = yaml.safe_load("api_version: 2024-10-21")
    catalog = Catalog.from_layers([("yaml", document)])
    endpoint = catalog.deployments["gamma/open-70b"].endpoint
    assert endpoint is not None and endpoint.api_version == "2024-10-21"


# -- refused values -------------------------------------------------------------------

SECRET_LIKE = [
    "sk-proj-abc123def456",
    "sk-ant-api03-xyz",
    "gsk_abc",
    "AIzaSyA1b2C3",
    "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",  # an Azure key: 32 hex digits
    "AKIAIOSFODNN7EXAMPLE",  # an AWS access key id
    "A" * 101,
    "AZURE KEY",
    "key=abc",
    "9LIVES",
]


@pytest.mark.parametrize("value", SECRET_LIKE)
def test_a_secret_looking_credential_is_refused_naming_the_field(value: str) -> None:
    document = small_document()
    document["models"]["chat-small"]["deployments"]["beta"]["endpoint"] = {"credential_ref": value}
    with pytest.raises(CatalogError) as caught:
        Catalog.from_layers([("keys.yaml", document)])
    error = caught.value
    assert (error.source, error.entry) == ("keys.yaml", "models.chat-small")
    assert error.field == "deployments.beta.endpoint.credential_ref"
    assert "never the secret" in error.message
    assert value not in error.message  # it may be a key: never repeated


def test_a_secret_looking_provider_default_is_refused_too() -> None:
    document = small_document()
    document["providers"]["alpha"]["endpoint"] = {"credential_ref": "sk-live-0123"}
    with pytest.raises(CatalogError) as caught:
        Catalog.from_layers([("keys.yaml", document)])
    assert (caught.value.entry, caught.value.field) == (
        "providers.alpha",
        "endpoint.credential_ref",
    )
    assert "'sk-'" in caught.value.message


@pytest.mark.parametrize(
    "name",
    [
        "AZURE_EU_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "vault:llm/azure-eu",
        "_KEY",
        "team.prod-key",
    ],
)
def test_names_are_accepted(name: str) -> None:
    assert check_credential_ref(name) == name


@pytest.mark.parametrize(
    ("endpoint", "field", "words"),
    [
        ({"api_base": "https://api.alpha.example/v1?key=abc"}, "api_base", "query"),
        ({"api_base": "https://user:pw@api.alpha.example"}, "api_base", "credentials"),
        ({"api_base": "ftp://api.alpha.example"}, "api_base", "http(s)"),
        ({"api_shape": "soap"}, "api_shape", "openai-chat"),
        ({"upstream_model": "two words"}, "upstream_model", "pattern"),
    ],
)
def test_malformed_endpoints_name_the_field(
    endpoint: dict[str, str], field: str, words: str
) -> None:
    document = small_document()
    document["models"]["open-70b"]["deployments"]["gamma"]["endpoint"] = endpoint
    with pytest.raises(CatalogError) as caught:
        Catalog.from_layers([("bad.yaml", document)])
    assert caught.value.field == f"deployments.gamma.endpoint.{field}"
    assert words in caught.value.message


def test_a_provider_has_no_upstream_model() -> None:
    document = small_document()
    document["providers"]["alpha"]["endpoint"] = {"upstream_model": "x"}
    with pytest.raises(CatalogError) as caught:
        Catalog.from_layers([("bad.yaml", document)])
    assert caught.value.field == "endpoint.upstream_model"
    assert "unknown field" in caught.value.message


# -- hops ---------------------------------------------------------------------------


def test_every_hop_carries_its_deployments_endpoint(bound: Catalog) -> None:
    plan = Router(bound, clock=lambda: NOW).route({**REQUEST, "model": "open-70b"})
    for hop in plan.chain:
        assert hop.endpoint == bound.deployments[hop.deployment].endpoint
        written = hop.to_dict()
        if hop.endpoint is None:
            assert "endpoint" not in written
        else:
            assert written["endpoint"] == hop.endpoint.to_dict()
    alpha = next(hop for hop in plan.chain if hop.deployment == "alpha/open-70b")
    assert alpha.to_dict()["endpoint"] == {
        "upstream_model": "alpha-open-70b-eu",
        "api_base": "https://api.alpha.example/v1",
        "api_shape": "openai-chat",
        "credential_ref": "ALPHA_EU_KEY",
    }


def test_hops_without_endpoint_data_write_no_endpoint_key(small_catalog: Catalog) -> None:
    plan = Router(small_catalog, clock=lambda: NOW).route({**REQUEST, "model": "smart"})
    assert all("endpoint" not in hop.to_dict() for hop in plan.chain)
    assert "endpoint" not in json.dumps(plan.to_dict(include_snapshot=True))


def test_a_plan_with_endpoints_reads_back_and_replays(bound: Catalog) -> None:
    plan = Router(bound, clock=lambda: NOW).route({**REQUEST, "model": "open-70b"})
    written = json.loads(json.dumps(plan.to_dict(include_snapshot=True)))
    again = RoutingPlan.from_dict(written)
    assert again.chain == plan.chain and again.plan_hash == plan.plan_hash
    assert plan.snapshot is not None
    result = replay(json.loads(json.dumps(plan.snapshot)), bound)
    assert result.matched, result.differences


def test_a_changed_endpoint_changes_the_plan(bound: Catalog) -> None:
    document = bound_document()
    document["providers"]["alpha"]["endpoint"]["credential_ref"] = "ALPHA_OTHER_KEY"
    moved = Catalog.from_layers([("moved", document)])
    request = {**REQUEST, "model": "chat-large", "request_id": "r-1"}
    before = Router(bound, clock=lambda: NOW).route(request)
    after = Router(moved, clock=lambda: NOW).route(request)
    assert before.plan_hash != after.plan_hash  # the gateway would call another key


def test_the_candidate_codec_round_trips_an_endpoint() -> None:
    estimate = CostEstimate(10, 5, 5, Decimal("0.01"), None, "std")
    candidate = Candidate(
        "alpha/open-70b",
        "alpha",
        "open-70b",
        estimate,
        None,
        None,
        "open-70b",
        endpoint=Endpoint("m", api_shape=ApiShape.GEMINI, credential_ref="K"),
    )
    written = candidate.to_dict()
    assert written["endpoint"] == {
        "upstream_model": "m",
        "api_shape": "gemini",
        "credential_ref": "K",
    }
    assert Candidate.from_dict(json.loads(json.dumps(written))) == candidate
    with pytest.raises(ValueError, match="soap"):
        Candidate.from_dict({**written, "endpoint": {"api_shape": "soap"}})


# -- the bundled catalog --------------------------------------------------------------

PUBLIC_APIS = {
    "openai": ("https://api.openai.com/v1", "openai-chat", "OPENAI_API_KEY"),
    "anthropic": ("https://api.anthropic.com", "anthropic-messages", "ANTHROPIC_API_KEY"),
    "google": ("https://generativelanguage.googleapis.com", "gemini", "GEMINI_API_KEY"),
    "openrouter": ("https://openrouter.ai/api/v1", "openai-chat", "OPENROUTER_API_KEY"),
    "groq": ("https://api.groq.com/openai/v1", "openai-chat", "GROQ_API_KEY"),
    "mistral": ("https://api.mistral.ai/v1", "openai-chat", "MISTRAL_API_KEY"),
    "xai": ("https://api.x.ai/v1", "openai-chat", "XAI_API_KEY"),
    "deepseek": ("https://api.deepseek.com", "openai-chat", "DEEPSEEK_API_KEY"),
}


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    return Catalog.bundled()


def test_bundled_providers_with_public_apis_bind_every_deployment(bundled: Catalog) -> None:
    for deployment in bundled.deployments.values():
        endpoint = deployment.endpoint
        if deployment.provider in PUBLIC_APIS:
            assert endpoint is not None, deployment.id
            shape = endpoint.api_shape.value if endpoint.api_shape else None
            stated = (endpoint.api_base, shape, endpoint.credential_ref)
            assert stated == PUBLIC_APIS[deployment.provider], deployment.id
        elif deployment.provider == "azure":
            # Per resource: no api_base, a GA api_version.
            assert endpoint is not None and endpoint.api_base is None
            assert (endpoint.api_version, endpoint.credential_ref) == (
                "2024-10-21",
                "AZURE_API_KEY",
            )
        elif deployment.provider == "bedrock":
            assert endpoint is not None and endpoint.api_shape is ApiShape.BEDROCK_CONVERSE


def test_bundled_upstream_names_are_the_providers_own(bundled: Catalog) -> None:
    # genai-prices keys each provider's prices by the id its API answers with.
    def upstream(deployment_id: str) -> str | None:
        endpoint = bundled.deployments[deployment_id].endpoint
        return None if endpoint is None else endpoint.upstream_model

    assert upstream("openai/gpt-4o") == "gpt-4o"
    assert upstream("groq/llama-3.1-8b-instruct") == "llama-3.1-8b-instant"
    assert upstream("vertex/gemini-2.5-pro") == "gemini-2.5-pro"
    vertex = bundled.deployments["vertex/gemini-2.5-pro"].endpoint
    assert vertex is not None and vertex.api_shape is ApiShape.GEMINI
    claude = bundled.deployments["vertex/claude-sonnet-4-5"].endpoint
    assert claude is not None and claude.api_shape is ApiShape.ANTHROPIC_MESSAGES


# Every default alias whose members all have public APIs (open-weights and
# eu-hosted reach hosts with no known public base: see curated.yaml).
BOUND_NAMES = [
    "gpt-4o",
    "claude-sonnet",
    "fast-chat",
    "cheap-chat",
    "reasoner",
    "coder",
    "vision",
    "long-context",
    "frontier",
    "fastest-open",
    "gemini-2.5-pro",
]


@pytest.mark.parametrize("name", BOUND_NAMES)
def test_every_hop_of_a_bundled_plan_carries_shape_and_credential(
    bundled: Catalog, name: str
) -> None:
    router = Router(bundled, clock=lambda: NOW)
    plan = router.route({**REQUEST, "model": name, "max_fallbacks": 5})
    for hop in plan.chain:
        written = hop.to_dict()["endpoint"]
        assert written["api_shape"] in {shape.value for shape in ApiShape}, hop.deployment
        assert check_credential_ref(written["credential_ref"]), hop.deployment
        assert written["upstream_model"], hop.deployment
    assert plan.snapshot is not None
    result = replay(copy.deepcopy(plan.snapshot), bundled)
    assert result.matched, result.differences
