"""The normalised request, as a decision records it: messages become a token
estimate and a digest, images add the vision requirement, every default is
written out, the expected reply length says where it came from, and the
timestamp comes from the caller's clock when the request has none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from modelrouter.catalog.model import Feature
from modelrouter.policy.effective import EffectiveList
from modelrouter.request.model import RouteRequest
from modelrouter.request.normalize import (
    DEFAULT_EXPECTED_OUTPUT_TOKENS,
    NormalizedRequest,
    normalize,
)
from modelrouter.request.tokens import IMAGE_TOKENS
from tests.conftest import FIXED_NOW

PICTURE = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        ],
    }
]


def normalized(**fields: Any) -> NormalizedRequest:
    learned = fields.pop("learned", None)
    request = RouteRequest.model_validate({"model": "chat-large", "request_id": "r-1", **fields})
    return normalize(request, now=FIXED_NOW, learned_output_tokens=learned)


def test_messages_become_an_estimate_and_a_digest() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello there"},
    ]
    n = normalized(messages=messages)
    # 3 for the reply, 4 per message; "Be brief." is Be + brief + "." = 4,
    # "Hello there" is 2 + 2 (a token per four letters, at least one).
    assert n.input_tokens == 3 + (4 + 4) + (4 + 4) == 19
    assert n.input_exact is False
    assert n.messages_digest is not None
    assert n.messages_digest.startswith("sha256:") and len(n.messages_digest) == 7 + 64
    # The record holds the digest, never the text.
    assert "Hello" not in str(n.to_dict())

    assert normalized(messages=messages).messages_digest == n.messages_digest
    other = [*messages[:1], {"role": "user", "content": "Hello there!"}]
    assert normalized(messages=other).messages_digest != n.messages_digest
    # Keys of the SDK's own (a name, say) are part of what was sent.
    named = [*messages[:1], {"role": "user", "content": "Hello there", "name": "ann"}]
    assert normalized(messages=named).messages_digest != n.messages_digest


def test_given_input_tokens_are_exact_and_have_no_digest() -> None:
    n = normalized(input_tokens=2000)
    assert (n.input_tokens, n.input_exact, n.messages_digest) == (2000, True, None)


def test_an_image_adds_its_tokens_and_the_vision_requirement() -> None:
    n = normalized(messages=PICTURE)
    # 3 + 4 + "What is in this picture?" (What is in this pic-ture ?: 7) + the image.
    assert n.input_tokens == 3 + 4 + 7 + IMAGE_TOKENS == 779
    assert n.require == (Feature.VISION,)
    # Added once, beside what the request asked for, in a stable order.
    both = normalized(messages=PICTURE, require=["vision", "tools"])
    assert both.require == (Feature.TOOLS, Feature.VISION)
    # Text alone, or audio, does not need vision.
    audio = [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "x"}}]}]
    assert normalized(messages=audio).require == ()
    assert normalized(input_tokens=10, require=["json_schema", "tools"]).require == (
        Feature.JSON_SCHEMA,
        Feature.TOOLS,
    )


def test_defaults_are_made_explicit() -> None:
    n = normalized(input_tokens=10)
    assert n == NormalizedRequest(
        model="chat-large",
        request_id="r-1",
        tenant_id=None,
        input_tokens=10,
        input_exact=True,
        messages_digest=None,
        max_output_tokens=None,
        expected_output_tokens=DEFAULT_EXPECTED_OUTPUT_TOKENS,
        expected_output_source="default",
        expected_cache_hit_ratio=None,
        require=(),
        regions=None,
        providers_allow=None,
        providers_deny=(),
        vendors_allow=None,
        vendors_deny=(),
        zero_data_retention=False,
        no_training=False,
        max_cost_usd=None,
        strategy=None,
        weights=None,
        fallback_models=(),
        max_fallbacks=None,
        service_tier="standard",
        timestamp=FIXED_NOW,
    )
    # Every field is written, none left to a default a replay would have to know.
    assert set(n.to_dict()) == set(NormalizedRequest.__slots__)
    assert n.to_dict()["providers_deny"] == [] and n.to_dict()["regions"] is None


def test_restrictions_are_carried_over() -> None:
    n = normalized(
        input_tokens=10,
        tenant_id="acme",
        regions=["us"],
        providers={"allow": ["beta", "alpha"], "deny": ["gamma"]},
        vendors={"deny": ["meta"]},
        data={"zero_data_retention": True},
        max_cost_usd="0.0500",
        fallback_models=["open-70b"],
        max_fallbacks=2,
        strategy="cheapest",
        service_tier="batch",
    )
    assert n.tenant_id == "acme"
    assert n.regions == ("us",)
    assert (n.providers_allow, n.providers_deny) == (("beta", "alpha"), ("gamma",))
    assert (n.vendors_allow, n.vendors_deny) == (None, ("meta",))
    assert (n.zero_data_retention, n.no_training) == (True, False)
    assert n.max_cost_usd == Decimal("0.05") and str(n.max_cost_usd) == "0.05"
    assert (n.fallback_models, n.max_fallbacks, n.strategy) == (("open-70b",), 2, "cheapest")
    assert n.price_context() == {"processing": "batch"}
    assert normalized(input_tokens=10, service_tier="flex").price_context() == {
        "service_tier": "flex"
    }
    assert normalized(input_tokens=10).price_context() == {}

    # Checked like one more policy layer: allow-lists as sorted sets.
    policy = n.as_policy()
    assert policy.providers == EffectiveList((("alpha", "beta"),), ("gamma",))
    assert policy.vendors == EffectiveList((), ("meta",))
    assert policy.regions == EffectiveList((("us",),), ())
    assert policy.zero_data_retention is True
    assert policy.max_cost_per_request_usd == Decimal("0.05")
    assert policy.allow_unknown is True  # the request never narrows capabilities


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"expected_output_tokens": 100}, (100, "request")),
        (
            {"expected_output_tokens": 100, "max_output_tokens": 500, "learned": 700},
            (100, "request"),
        ),
        ({"expected_output_tokens": 0, "learned": 700}, (0, "request")),
        ({"learned": 700}, (700, "learned")),
        ({"learned": 700, "max_output_tokens": 500}, (500, "learned")),
        ({"learned": 0}, (0, "learned")),
        ({}, (256, "default")),
        ({"max_output_tokens": 100}, (100, "default")),
        ({"max_output_tokens": 1000}, (256, "default")),
    ],
)
def test_expected_output_source_and_cap(fields: dict[str, Any], expected: tuple[int, str]) -> None:
    n = normalized(input_tokens=10, **fields)
    assert (n.expected_output_tokens, n.expected_output_source) == expected


def test_the_timestamp_comes_from_now_unless_the_request_has_one() -> None:
    assert normalized(input_tokens=10).timestamp == FIXED_NOW
    earlier = FIXED_NOW - timedelta(days=40)
    assert normalized(input_tokens=10, timestamp=earlier).timestamp == earlier
    # A naive time is read as UTC.
    naive = normalized(input_tokens=10, timestamp="2026-01-02T03:04:05")
    assert naive.timestamp == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert naive.to_dict()["timestamp"] == "2026-01-02T03:04:05+00:00"


def test_identity_fields_are_kept_as_given() -> None:
    n = normalized(input_tokens=10, request_id="gw-123", tenant_id="acme")
    assert (n.model, n.request_id, n.tenant_id) == ("chat-large", "gw-123", "acme")
    assert n.to_dict()["request_id"] == "gw-123"
