"""Usage extraction from provider response bodies (tests/fixtures/responses/*.json).

Each fixture is a realistic body written from the provider's API reference; its
expected :class:`Usage` is written out by hand below, with the arithmetic of any
normalisation. Where genai-prices can read the same body, its counts are
checked against ours; the fixtures of the cache-write and spelling shapes are
priced too, by hand and against genai-prices, to the last digit.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import genai_prices
import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.errors import InvalidInputError
from modelrouter.pricing.cost import actual_cost
from modelrouter.pricing.extract import API_SHAPES, ApiShape, ExtractedUsage, extract_usage
from modelrouter.pricing.usage import Usage
from tests.genai_oracle import genai_total

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "responses"

Body = dict[str, Any]


def load(name: str) -> Body:
    body: Body = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return body


def whole(body: Body) -> Body:
    return body


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)


def camel_case(value: Any) -> Any:
    """The Gen AI SDK's snake_case dump as the REST JSON spells it (keys only)."""
    if isinstance(value, dict):
        return {_camel(key): camel_case(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camel_case(item) for item in value]
    return value


@dataclass(frozen=True)
class GenaiPrices:
    """How genai-prices reads the same body: provider id, api flavor, and the part
    of the body its extractor expects (it wants the usage at ``usage`` or
    ``usageMetadata`` of what it is given, so a stream event is unwrapped)."""

    provider_id: str
    api_flavor: str
    select: Callable[[Body], Body] = whole
    # Our field -> why genai-prices differs on it (its value is then not compared).
    differs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Case:
    fixture: str
    api: ApiShape
    expected: Usage
    model: str | None
    genai: GenaiPrices | None


OPENAI_CHAT = GenaiPrices("openai", "chat")
OPENAI_RESPONSES = GenaiPrices("openai", "responses")
ANTHROPIC = GenaiPrices("anthropic", "default")
GOOGLE = GenaiPrices("google", "default")
AWS = GenaiPrices("aws", "default")

CASES = [
    # --- openai-chat: prompt_tokens and completion_tokens are already totals ---
    Case(
        "openai_chat_basic",
        "openai-chat",
        Usage(input_tokens=24, output_tokens=8),
        "gpt-4o-mini-2024-07-18",
        OPENAI_CHAT,
    ),
    Case(
        "openai_chat_cached_reasoning",
        "openai-chat",
        # cached_tokens 1920 is part of prompt_tokens 2450;
        # reasoning_tokens 1024 is part of completion_tokens 1380.
        Usage(input_tokens=2450, cache_read_tokens=1920, output_tokens=1380, reasoning_tokens=1024),
        "o4-mini-2025-04-16",
        OPENAI_CHAT,
    ),
    Case(
        "openai_chat_audio",
        "openai-chat",
        # audio 380 of prompt 412; audio 188 of completion 236 (48 transcript text tokens).
        Usage(input_tokens=412, input_audio_tokens=380, output_tokens=236, output_audio_tokens=188),
        "gpt-4o-audio-preview-2025-06-03",
        OPENAI_CHAT,
    ),
    Case(
        "openai_chat_stream_final_chunk",
        "openai-chat",
        # The include_usage chunk: choices == [], usage covers the whole stream.
        Usage(input_tokens=1532, cache_read_tokens=1408, output_tokens=204),
        "gpt-4.1-2025-04-14",
        OPENAI_CHAT,
    ),
    Case(
        "openai_chat_cache_write",
        "openai-chat",
        # prompt 9850 = cached 6144 + written 3584 + 122 uncached (OpenAI's convention:
        # both cache counts are parts of prompt_tokens); reasoning 384 of completion 640.
        Usage(
            input_tokens=9850,
            cache_read_tokens=6144,
            cache_write_tokens=3584,
            output_tokens=640,
            reasoning_tokens=384,
        ),
        "gpt-5.6-sol",
        OPENAI_CHAT,
    ),
    Case(
        "openai_chat_null_details",
        "openai-chat",
        # prompt_tokens_details / completion_tokens_details are null: their parts are 0.
        Usage(input_tokens=57, output_tokens=19),
        "gpt-3.5-turbo-0125",
        OPENAI_CHAT,
    ),
    # --- openai-responses: input_tokens / output_tokens are totals ---
    Case(
        "openai_responses_reasoning",
        "openai-responses",
        # cached 2048 of input 3180; reasoning 704 of output 942.
        Usage(input_tokens=3180, cache_read_tokens=2048, output_tokens=942, reasoning_tokens=704),
        "o4-mini-2025-04-16",
        OPENAI_RESPONSES,
    ),
    Case(
        "openai_responses_cache_creation",
        "openai-responses",
        # input 15210 = cached 11264 + written 3840 (spelled cache_creation_tokens)
        # + 106 uncached; reasoning 896 of output 1180.
        Usage(
            input_tokens=15210,
            cache_read_tokens=11264,
            cache_write_tokens=3840,
            output_tokens=1180,
            reasoning_tokens=896,
        ),
        "gpt-5.6-terra",
        GenaiPrices(
            "openai",
            "responses",
            differs=(
                (
                    "cache_write_tokens",
                    "genai-prices reads cache_write_tokens only, not its other spelling "
                    "cache_creation_tokens (it reads 0 writes and prices them as input)",
                ),
            ),
        ),
    ),
    Case(
        "openai_responses_stream_completed",
        "openai-responses",
        # The response.completed event: the usage is at response.usage.
        Usage(input_tokens=86, output_tokens=41),
        "gpt-4.1-mini-2025-04-14",
        GenaiPrices("openai", "responses", lambda body: body["response"]),
    ),
    # --- anthropic: input_tokens excludes the cache, so the parser adds it back ---
    Case(
        "anthropic_message_cache_1h",
        "anthropic",
        # input 1200 + cache read 800 + cache write 500 = 2500;
        # writes 500 = 5m 300 + 1h 200.
        Usage(
            input_tokens=2500,
            cache_read_tokens=800,
            cache_write_tokens=500,
            cache_write_1h_tokens=200,
            output_tokens=350,
        ),
        "claude-sonnet-4-5-20250929",
        ANTHROPIC,
    ),
    Case(
        "anthropic_message_cache_ttl_split",
        "anthropic",
        # input 86 + cache read 18240 + cache write 6400 = 24726;
        # writes 6400 = 5m 2400 + 1h 4000.
        Usage(
            input_tokens=24726,
            cache_read_tokens=18240,
            cache_write_tokens=6400,
            cache_write_1h_tokens=4000,
            output_tokens=912,
        ),
        "claude-opus-4-5-20251101",
        ANTHROPIC,
    ),
    Case(
        "anthropic_message_legacy_cache",
        "anthropic",
        # input 35 + cache read 0 + cache write 2048 = 2083; no cache_creation
        # breakdown, so all 2048 writes are 5-minute writes (1h = 0).
        Usage(input_tokens=2083, cache_write_tokens=2048, output_tokens=180),
        "claude-3-5-haiku-20241022",
        ANTHROPIC,
    ),
    Case(
        "anthropic_message_thinking",
        "anthropic",
        # output_tokens 2820 is the billed total; thinking_tokens 1240 is a part of it.
        Usage(input_tokens=96, output_tokens=2820, reasoning_tokens=1240),
        "claude-sonnet-4-5-20250929",
        ANTHROPIC,
    ),
    Case(
        "anthropic_stream_message_start",
        "anthropic",
        # input 412 + cache read 3072 + cache write 0 = 3484; output 2 is only the
        # first count (the final one comes in message_delta).
        Usage(input_tokens=3484, cache_read_tokens=3072, output_tokens=2),
        "claude-haiku-4-5-20251001",
        GenaiPrices("anthropic", "default", lambda body: body["message"]),
    ),
    Case(
        "anthropic_stream_message_delta",
        "anthropic",
        # A newer message_delta repeats the input counts: 412 + 3072 + 0 = 3484;
        # output 187 is cumulative. The event names no model.
        Usage(input_tokens=3484, cache_read_tokens=3072, output_tokens=187),
        None,
        ANTHROPIC,
    ),
    # --- gemini: thoughts and tool-use prompts are added to the totals ---
    Case(
        "gemini_cached_thinking_tools",
        "gemini",
        # input = prompt 5210 (includes cached 4096) + tool-use prompt 260 = 5470;
        # output = candidates 318 + thoughts 1422 = 1740; reasoning = thoughts 1422.
        Usage(
            input_tokens=5470,
            cache_read_tokens=4096,
            output_tokens=1740,
            reasoning_tokens=1422,
        ),
        "gemini-2.5-pro",
        GOOGLE,
    ),
    Case(
        "gemini_audio_input",
        "gemini",
        # prompt 2046 = TEXT 126 + AUDIO 1920; cached 1024, all of it AUDIO.
        Usage(
            input_tokens=2046,
            cache_read_tokens=1024,
            input_audio_tokens=1920,
            cache_audio_read_tokens=1024,
            output_tokens=152,
        ),
        "gemini-2.5-flash",
        GOOGLE,
    ),
    Case(
        "gemini_image_output",
        "gemini",
        # candidates 1299 = TEXT 9 + IMAGE 1290.
        Usage(input_tokens=18, output_tokens=1299, output_image_tokens=1290),
        "gemini-2.5-flash-image",
        GOOGLE,
    ),
    Case(
        "gemini_pdf_document",
        "gemini",
        # prompt 1560 = TEXT 12 + DOCUMENT 1548. Google's Modality enum lists
        # DOCUMENT apart from IMAGE, so it stays in the plain input total.
        Usage(input_tokens=1560, output_tokens=85),
        "gemini-2.5-flash",
        GenaiPrices(
            "google",
            "default",
            differs=(
                (
                    "input_image_tokens",
                    "genai-prices files DOCUMENT tokens under input_image_tokens; "
                    "the Gemini reference keeps DOCUMENT a modality of its own",
                ),
            ),
        ),
    ),
    Case(
        "gemini_sdk_snake_case",
        "gemini",
        # The Gen AI SDK's model_dump(mode="json", exclude_none=True): snake_case.
        # input = prompt 4480 (TEXT 1472 + AUDIO 3008; includes cached 3072)
        #         + tool-use prompt 120 = 4600;
        # cached 3072 = TEXT 1024 + AUDIO 2048 (the cached audio is part of both
        # the cache reads and the audio input); output = candidates 214 + thoughts 655.
        Usage(
            input_tokens=4600,
            cache_read_tokens=3072,
            input_audio_tokens=3008,
            cache_audio_read_tokens=2048,
            output_tokens=869,
            reasoning_tokens=655,
        ),
        "gemini-2.5-flash",
        # genai-prices reads the REST spelling only: it is given the camelCase twin.
        GenaiPrices("google", "default", camel_case),
    ),
    Case(
        "gemini_stream_last_chunk",
        "gemini",
        # The last chunk of a stream carries the totals:
        # output = candidates 642 + thoughts 766 = 1408 (totalTokenCount 1419 = 11 + 1408).
        Usage(input_tokens=11, output_tokens=1408, reasoning_tokens=766),
        "gemini-2.5-flash",
        GOOGLE,
    ),
    # --- bedrock: inputTokens excludes the cache, so the parser adds it back ---
    Case(
        "bedrock_converse_basic",
        "bedrock",
        Usage(input_tokens=38, output_tokens=121),
        None,
        AWS,
    ),
    Case(
        "bedrock_converse_cache_1h",
        "bedrock",
        # input 42 + cache read 1850 + cache write 2300 = 4192;
        # cacheDetails: 1h 1800 + 5m 500 = the 2300 writes.
        Usage(
            input_tokens=4192,
            cache_read_tokens=1850,
            cache_write_tokens=2300,
            cache_write_1h_tokens=1800,
            output_tokens=256,
        ),
        None,
        AWS,
    ),
    Case(
        "bedrock_stream_metadata_cache_details",
        "bedrock",
        # A ConverseStream metadata event with cacheDetails:
        # input 64 + cache read 12800 + cache write 5120 = 17984;
        # cacheDetails: 5m 1024 + 1h 4096 = the 5120 writes.
        Usage(
            input_tokens=17984,
            cache_read_tokens=12800,
            cache_write_tokens=5120,
            cache_write_1h_tokens=4096,
            output_tokens=488,
        ),
        None,
        GenaiPrices("aws", "default", lambda body: body["metadata"]),
    ),
    Case(
        "bedrock_stream_metadata",
        "bedrock",
        # The ConverseStream metadata event: input 27 + cache read 1024 + write 0 = 1051.
        Usage(input_tokens=1051, cache_read_tokens=1024, output_tokens=305),
        None,
        GenaiPrices("aws", "default", lambda body: body["metadata"]),
    ),
    # --- normalized: our own shape, as is ---
    Case(
        "normalized_wrapped",
        "normalized",
        Usage(
            input_tokens=2500,
            cache_read_tokens=800,
            cache_write_tokens=500,
            cache_write_1h_tokens=200,
            output_tokens=350,
            reasoning_tokens=120,
        ),
        "chat-large",
        None,
    ),
    Case(
        "normalized_bare",
        "normalized",
        Usage(input_tokens=1000, output_tokens=200, requests=3),
        None,
        None,
    ),
]

# Real bodies that must be refused (tested below), not parsed.
REFUSED_FIXTURES = {"anthropic_stream_message_delta_legacy"}

STREAM_FIXTURES = {
    "openai-chat": "openai_chat_stream_final_chunk",
    "openai-responses": "openai_responses_stream_completed",
    "anthropic": "anthropic_stream_message_delta",
    "gemini": "gemini_stream_last_chunk",
    "bedrock": "bedrock_stream_metadata",
}


def _ids(case: Case) -> str:
    return case.fixture


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_fixture_parses_to_the_expected_usage(case: Case) -> None:
    result = extract_usage(load(case.fixture), case.api)
    assert result == ExtractedUsage(usage=case.expected, model=case.model, api=case.api)


def test_every_fixture_is_covered_and_every_shape_has_two_and_a_stream() -> None:
    on_disk = {path.stem for path in FIXTURES.glob("*.json")}
    assert on_disk == {case.fixture for case in CASES} | REFUSED_FIXTURES
    for api in API_SHAPES:
        assert sum(case.api == api for case in CASES) >= 2, api
    assert {case.fixture for case in CASES} >= set(STREAM_FIXTURES.values())


def test_api_shapes_match_the_literal() -> None:
    assert get_args(ApiShape) == API_SHAPES
    assert API_SHAPES == (
        "openai-chat",
        "openai-responses",
        "anthropic",
        "gemini",
        "bedrock",
        "normalized",
    )


# Our Usage field -> genai-prices' Usage attribute. The first four are always
# compared; the parts too, unless the case says why genai-prices differs.
GENAI_TOTALS = {
    "input_tokens": "input_tokens",
    "cache_read_tokens": "cache_read_tokens",
    "cache_write_tokens": "cache_write_tokens",
    "output_tokens": "output_tokens",
}
GENAI_PARTS = {
    "cache_write_1h_tokens": "cache_write_1h_tokens",
    "reasoning_tokens": "output_reasoning_tokens",
    "input_audio_tokens": "input_audio_tokens",
    "cache_audio_read_tokens": "cache_audio_read_tokens",
    "input_image_tokens": "input_image_tokens",
    "output_audio_tokens": "output_audio_tokens",
    "output_image_tokens": "output_image_tokens",
}


def _genai_prices(body: Body, spec: GenaiPrices) -> Any:
    with warnings.catch_warnings():
        # Its snapshot may warn that it is old; that does not change extraction.
        warnings.simplefilter("ignore")
        return genai_prices.extract_usage(
            spec.select(body), provider_id=spec.provider_id, api_flavor=spec.api_flavor
        ).usage


@pytest.mark.parametrize("case", [case for case in CASES if case.genai], ids=_ids)
def test_agrees_with_genai_prices(case: Case) -> None:
    assert case.genai is not None
    body = load(case.fixture)
    ours = extract_usage(body, case.api).usage
    theirs = _genai_prices(body, case.genai)
    differs = dict(case.genai.differs)
    for field, attribute in (GENAI_TOTALS | GENAI_PARTS).items():
        if field in differs:
            continue
        assert getattr(ours, field) == getattr(theirs, attribute), (case.fixture, field)


def test_genai_prices_difference_on_document_tokens_is_real() -> None:
    # Keep the documented difference honest: if genai-prices changes, revisit it.
    theirs = _genai_prices(load("gemini_pdf_document"), GOOGLE)
    assert theirs.input_image_tokens == 1548
    assert extract_usage(load("gemini_pdf_document"), "gemini").usage.input_image_tokens == 0


def test_genai_prices_difference_on_cache_creation_tokens_is_real() -> None:
    theirs = _genai_prices(load("openai_responses_cache_creation"), OPENAI_RESPONSES)
    assert (theirs.input_tokens, theirs.cache_write_tokens) == (15210, 0)


def test_the_snake_case_body_reads_like_its_camel_case_twin() -> None:
    body = load("gemini_sdk_snake_case")
    assert extract_usage(camel_case(body), "gemini") == extract_usage(body, "gemini")


# --- priced: our exact cost of the parsed usage, by hand and by genai-prices -----------------

PRICED_AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Priced:
    fixture: str
    deployment: str  # the catalog deployment that served it
    components: dict[str, str]  # worked out by hand (USD per million x tokens)
    total: str


PRICED = [
    Priced(
        # claude-opus-4-5: input $5/M, cache read $0.5/M, 5m write $6.25/M (1.25x),
        # 1h write $10/M (2x), output $25/M.
        "anthropic_message_cache_ttl_split",
        "anthropic/claude-opus-4-5",
        {
            "input": "0.00043",  # 86 uncached x 5
            "cache_read": "0.00912",  # 18240 x 0.5
            "cache_write": "0.015",  # 2400 5-minute writes x 6.25
            "cache_write_1h": "0.04",  # 4000 1-hour writes x 10
            "output": "0.0228",  # 912 x 25
        },
        "0.08735",
    ),
    Priced(
        # claude-sonnet-4-5: input $3/M, cache read $0.3/M, 5m $3.75/M, 1h $6/M, output $15/M.
        "anthropic_message_cache_1h",
        "anthropic/claude-sonnet-4-5",
        {
            "input": "0.0036",  # 1200 x 3
            "cache_read": "0.00024",  # 800 x 0.3
            "cache_write": "0.001125",  # 300 x 3.75
            "cache_write_1h": "0.0012",  # 200 x 6
            "output": "0.00525",  # 350 x 15
        },
        "0.011415",
    ),
    Priced(
        # gpt-5.6-sol from 2026-08-21: input $4/M, cache read $0.4/M, cache write $5/M,
        # output $20/M (reasoning has no rate of its own: billed as output, once).
        "openai_chat_cache_write",
        "openai/gpt-5.6-sol",
        {
            "input": "0.000488",  # 122 uncached x 4
            "cache_read": "0.0024576",  # 6144 x 0.4
            "cache_write": "0.01792",  # 3584 x 5
            "output": "0.0128",  # 640 x 20
        },
        "0.0336656",
    ),
    Priced(
        # gpt-5.6-terra from 2026-07-30: input $2/M, cache read $0.2/M, cache write $2.5/M,
        # output $12/M.
        "openai_responses_cache_creation",
        "openai/gpt-5.6-terra",
        {
            "input": "0.000212",  # 106 uncached x 2
            "cache_read": "0.0022528",  # 11264 x 0.2
            "cache_write": "0.0096",  # 3840 x 2.5
            "output": "0.01416",  # 1180 x 12
        },
        "0.0262248",
    ),
    Priced(
        # Bedrock claude-haiku-4-5 (regional): input $1.1/M, cache read $0.11/M,
        # 5m write $1.375/M, 1h write $2.2/M, output $5.5/M.
        "bedrock_stream_metadata_cache_details",
        "bedrock/claude-haiku-4-5",
        {
            "input": "0.0000704",  # 64 x 1.1
            "cache_read": "0.001408",  # 12800 x 0.11
            "cache_write": "0.001408",  # 1024 5-minute writes x 1.375
            "cache_write_1h": "0.0090112",  # 4096 1-hour writes x 2.2
            "output": "0.002684",  # 488 x 5.5
        },
        "0.0145816",
    ),
    Priced(
        # Bedrock claude-sonnet-4-5 (regional): input $3.3/M, cache read $0.33/M,
        # 5m write $4.125/M, 1h write $6.6/M, output $16.5/M.
        "bedrock_converse_cache_1h",
        "bedrock/claude-sonnet-4-5",
        {
            "input": "0.0001386",  # 42 x 3.3
            "cache_read": "0.0006105",  # 1850 x 0.33
            "cache_write": "0.0020625",  # 500 x 4.125
            "cache_write_1h": "0.01188",  # 1800 x 6.6
            "output": "0.004224",  # 256 x 16.5
        },
        "0.0189156",
    ),
    Priced(
        # gemini-2.5-flash: input $0.3/M, cache read $0.03/M, audio input $1/M,
        # cached audio $0.1/M, output $2.5/M (thoughts are output).
        "gemini_sdk_snake_case",
        "google/gemini-2.5-flash",
        {
            "input": "0.0001704",  # 568 = 4600 - 3072 cached - 960 uncached audio, x 0.3
            "cache_read": "0.00003072",  # 1024 cached text x 0.03
            "input_audio": "0.00096",  # 960 = 3008 audio - 2048 cached audio, x 1
            "cache_audio_read": "0.0002048",  # 2048 x 0.1
            "output": "0.0021725",  # 869 = 214 + 655 thoughts, x 2.5
        },
        "0.00353842",
    ),
]


def _genai_price(catalog: Catalog, deployment: str, usage: Usage) -> Decimal:
    return genai_total(catalog, deployment, usage, PRICED_AT)


def test_every_cache_write_and_spelling_fixture_is_priced() -> None:
    priced = {row.fixture for row in PRICED}
    new_shapes = {
        "anthropic_message_cache_ttl_split",
        "openai_chat_cache_write",
        "openai_responses_cache_creation",
        "bedrock_stream_metadata_cache_details",
        "gemini_sdk_snake_case",
    }
    assert new_shapes <= priced <= {case.fixture for case in CASES}


@pytest.mark.parametrize("row", PRICED, ids=lambda row: row.fixture)
def test_priced_fixture_costs_what_genai_prices_says(bundled: Catalog, row: Priced) -> None:
    case = next(case for case in CASES if case.fixture == row.fixture)
    usage = extract_usage(load(case.fixture), case.api).usage
    ours = actual_cost(
        bundled.deployments[row.deployment],
        usage,
        at=PRICED_AT,
        catalog_version=bundled.version,
    )
    assert dict(ours.components) == {name: Decimal(v) for name, v in row.components.items()}
    assert ours.total_usd == Decimal(row.total)
    assert ours.total_usd == _genai_price(bundled, row.deployment, usage)


# --- streams --------------------------------------------------------------------------------


def test_anthropic_legacy_message_delta_is_refused_not_read_as_zero_input() -> None:
    body = load("anthropic_stream_message_delta_legacy")
    with pytest.raises(InvalidInputError, match=r"^anthropic: usage\.input_tokens is missing") as e:
        extract_usage(body, "anthropic")
    assert e.value.field == "usage.input_tokens"
    assert "message_start" in e.value.message
    # genai-prices refuses it as well.
    with pytest.raises(ValueError, match="input_tokens"):
        _genai_prices(body, ANTHROPIC)


def test_anthropic_message_delta_with_null_input_is_refused() -> None:
    body = load("anthropic_stream_message_delta")
    body["usage"]["input_tokens"] = None
    with pytest.raises(InvalidInputError, match=r"usage\.input_tokens is null: this message_delta"):
        extract_usage(body, "anthropic")


def test_anthropic_stream_start_and_delta_together_give_the_final_usage() -> None:
    start = extract_usage(load("anthropic_stream_message_start"), "anthropic").usage
    delta = extract_usage(load("anthropic_stream_message_delta"), "anthropic").usage
    assert (start.input_tokens, start.cache_read_tokens) == (
        delta.input_tokens,
        delta.cache_read_tokens,
    )
    assert delta.output_tokens == 187  # cumulative, not 2 + 187


def test_openai_chat_intermediate_chunk_is_refused() -> None:
    chunk = {
        "id": "chatcmpl-BrC2e8TqW4oP1sDf6gHj9kLz0xVb7",
        "object": "chat.completion.chunk",
        "created": 1751622918,
        "model": "gpt-4.1-2025-04-14",
        "choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}],
        "usage": None,
    }
    with pytest.raises(InvalidInputError, match=r"^openai-chat: usage is null.*include_usage"):
        extract_usage(chunk, "openai-chat")


@pytest.mark.parametrize(
    "event_type", ["response.created", "response.in_progress", "response.output_text.delta"]
)
def test_openai_responses_other_events_are_refused(event_type: str) -> None:
    event = {"type": event_type, "sequence_number": 1, "response": {"usage": None}}
    with pytest.raises(
        InvalidInputError, match=r"^openai-responses: type is .*response\.completed"
    ):
        extract_usage(event, "openai-responses")


def test_openai_responses_incomplete_event_is_accepted() -> None:
    event = load("openai_responses_stream_completed")
    event["type"] = "response.incomplete"
    assert extract_usage(event, "openai-responses").usage.output_tokens == 41


def test_openai_responses_completed_event_without_usage_is_refused() -> None:
    event = load("openai_responses_stream_completed")
    event["response"]["usage"] = None
    with pytest.raises(InvalidInputError, match=r"^openai-responses: response\.usage is null"):
        extract_usage(event, "openai-responses")


def test_anthropic_other_events_are_refused() -> None:
    event = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}}
    with pytest.raises(InvalidInputError, match=r"^anthropic: type is \"content_block_delta\""):
        extract_usage(event, "anthropic")


def test_gemini_chunk_without_usage_metadata_is_refused() -> None:
    chunk = load("gemini_stream_last_chunk")
    del chunk["usageMetadata"]
    with pytest.raises(InvalidInputError, match=r"^gemini: usageMetadata is missing.*last chunk"):
        extract_usage(chunk, "gemini")


def test_gemini_snake_case_body_is_read() -> None:
    body = {"usage_metadata": {"prompt_token_count": 4, "candidates_token_count": 2}}
    assert extract_usage(body, "gemini").usage == Usage(input_tokens=4, output_tokens=2)


def test_gemini_snake_case_chunk_without_usage_is_refused() -> None:
    body = load("gemini_sdk_snake_case")
    body["usage_metadata"] = None
    with pytest.raises(InvalidInputError, match=r"^gemini: usage_metadata is null") as e:
        extract_usage(body, "gemini")
    assert e.value.field == "usage_metadata"


def test_bedrock_other_stream_events_are_refused() -> None:
    event = {"contentBlockDelta": {"delta": {"text": "Hi"}, "contentBlockIndex": 0}}
    with pytest.raises(InvalidInputError, match=r"^bedrock: contentBlockDelta .*metadata event"):
        extract_usage(event, "bedrock")


def test_bedrock_metadata_payload_without_the_wrapper_is_accepted() -> None:
    payload = load("bedrock_stream_metadata")["metadata"]
    assert extract_usage(payload, "bedrock").usage.input_tokens == 1051


# --- malformed bodies -----------------------------------------------------------------------


def test_unknown_api_shape_is_refused() -> None:
    with pytest.raises(
        InvalidInputError, match=r"unknown api shape \"openai\"; known: openai-chat"
    ):
        extract_usage(load("openai_chat_basic"), "openai")


@pytest.mark.parametrize("api", API_SHAPES)
@pytest.mark.parametrize("body", [None, [], "usage", 42])
def test_a_body_that_is_not_an_object_is_refused(api: str, body: Any) -> None:
    with pytest.raises(
        InvalidInputError, match=rf"^{api}: the response body must be a JSON object"
    ):
        extract_usage(body, api)


MISSING_USAGE = [
    ("openai-chat", "openai_chat_basic", "usage", "usage"),
    ("openai-responses", "openai_responses_reasoning", "usage", "usage"),
    ("anthropic", "anthropic_message_cache_1h", "usage", "usage"),
    ("gemini", "gemini_audio_input", "usageMetadata", "usageMetadata"),
    ("bedrock", "bedrock_converse_basic", "usage", "usage"),
    ("normalized", "normalized_wrapped", "usage", "usage"),
]


@pytest.mark.parametrize(("api", "fixture", "key", "path"), MISSING_USAGE)
def test_a_missing_usage_block_is_an_error_not_zero(
    api: str, fixture: str, key: str, path: str
) -> None:
    body = load(fixture)
    del body[key]
    if api == "normalized":
        body = {"model": "chat-large"}  # nothing left to read
    with pytest.raises(InvalidInputError, match=rf"^{api}: ") as e:
        extract_usage(body, api)
    assert e.value.field in (path, "body")


def test_an_empty_normalized_object_is_not_zero_usage() -> None:
    with pytest.raises(InvalidInputError, match=r"^normalized: body has no token counts"):
        extract_usage({}, "normalized")
    with pytest.raises(InvalidInputError, match=r"^normalized: usage has no token counts"):
        extract_usage({"usage": {"requests": 2}}, "normalized")


@pytest.mark.parametrize(
    ("api", "fixture", "path", "value", "shown"),
    [
        ("anthropic", "anthropic_message_cache_1h", "usage.cache_read_input_tokens", "x", '"x"'),
        ("anthropic", "anthropic_message_cache_1h", "usage.input_tokens", -5, "-5"),
        ("openai-chat", "openai_chat_basic", "usage.prompt_tokens", 24.0, "24.0"),
        ("openai-chat", "openai_chat_basic", "usage.completion_tokens", True, "true"),
        (
            "openai-chat",
            "openai_chat_cached_reasoning",
            "usage.prompt_tokens_details.cached_tokens",
            "1920",
            '"1920"',
        ),
        (
            "openai-responses",
            "openai_responses_stream_completed",
            "response.usage.output_tokens_details.reasoning_tokens",
            [1],
            "[1]",
        ),
        ("gemini", "gemini_cached_thinking_tools", "usageMetadata.thoughtsTokenCount", -1, "-1"),
        (
            "gemini",
            "gemini_audio_input",
            "usageMetadata.promptTokensDetails.1.tokenCount",
            "many",
            '"many"',
        ),
        ("bedrock", "bedrock_converse_cache_1h", "usage.cacheWriteInputTokens", 1.5, "1.5"),
        ("bedrock", "bedrock_stream_metadata", "metadata.usage.outputTokens", {}, "{}"),
        ("normalized", "normalized_wrapped", "usage.output_tokens", "350", '"350"'),
        (
            "anthropic",
            "anthropic_message_cache_ttl_split",
            "usage.cache_creation.ephemeral_1h_input_tokens",
            -4000,
            "-4000",
        ),
        (
            "openai-chat",
            "openai_chat_cache_write",
            "usage.prompt_tokens_details.cache_write_tokens",
            -1,
            "-1",
        ),
        (
            "openai-responses",
            "openai_responses_cache_creation",
            "usage.input_tokens_details.cache_creation_tokens",
            "3840",
            '"3840"',
        ),
        (
            "bedrock",
            "bedrock_stream_metadata_cache_details",
            "metadata.usage.cacheDetails.1.inputTokens",
            -4096,
            "-4096",
        ),
        (
            "gemini",
            "gemini_sdk_snake_case",
            "usage_metadata.prompt_tokens_details.1.token_count",
            -3008,
            "-3008",
        ),
        ("gemini", "gemini_sdk_snake_case", "usage_metadata.thoughts_token_count", 6.5, "6.5"),
    ],
)
def test_a_count_that_is_not_a_non_negative_integer_is_named(
    api: str, fixture: str, path: str, value: Any, shown: str
) -> None:
    with pytest.raises(InvalidInputError) as e:
        extract_usage(_set(load(fixture), path, value), api)
    named = path.replace(".1.", "[1].")
    assert e.value.message == f"{api}: {named} must be a non-negative integer, got {shown}"
    assert e.value.field == named


@pytest.mark.parametrize(
    ("api", "fixture", "path"),
    [
        ("openai-chat", "openai_chat_basic", "usage.prompt_tokens"),
        ("openai-chat", "openai_chat_basic", "usage.completion_tokens"),
        ("openai-responses", "openai_responses_reasoning", "usage.input_tokens"),
        ("anthropic", "anthropic_message_cache_1h", "usage.output_tokens"),
        ("anthropic", "anthropic_stream_message_start", "message.usage.input_tokens"),
        ("gemini", "gemini_audio_input", "usageMetadata.promptTokenCount"),
        ("bedrock", "bedrock_converse_basic", "usage.inputTokens"),
        ("bedrock", "bedrock_stream_metadata", "metadata.usage.outputTokens"),
    ],
)
def test_a_missing_total_is_named(api: str, fixture: str, path: str) -> None:
    body = load(fixture)
    *parents, last = path.split(".")
    target: Any = body
    for step in parents:
        target = target[step]
    del target[last]
    with pytest.raises(InvalidInputError, match=rf"^{api}: {path} is missing") as e:
        extract_usage(body, api)
    assert e.value.field == path


def _set(body: Body, path: str, value: Any) -> Body:
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    target: Any = body
    for step in parents:
        target = target[int(step)] if step.isdigit() else target[step]
    target[last] = value
    return body


@pytest.mark.parametrize(
    ("api", "fixture", "path", "value", "message"),
    [
        (
            "openai-chat",
            "openai_chat_cached_reasoning",
            "usage.prompt_tokens_details.cached_tokens",
            2451,
            "openai-chat: usage.prompt_tokens_details.cached_tokens (2451) exceeds "
            "usage.prompt_tokens (2450), which includes it",
        ),
        (
            "openai-chat",
            "openai_chat_audio",
            "usage.completion_tokens_details.audio_tokens",
            237,
            "openai-chat: usage.completion_tokens_details.audio_tokens (237) exceeds "
            "usage.completion_tokens (236), which includes it",
        ),
        (
            "openai-responses",
            "openai_responses_reasoning",
            "usage.output_tokens_details.reasoning_tokens",
            943,
            "openai-responses: usage.output_tokens_details.reasoning_tokens (943) exceeds "
            "usage.output_tokens (942), which includes it",
        ),
        (
            "anthropic",
            "anthropic_message_cache_1h",
            "usage.cache_creation.ephemeral_1h_input_tokens",
            201,
            "anthropic: usage.cache_creation ephemeral_5m_input_tokens + "
            "ephemeral_1h_input_tokens (300 + 201 = 501) does not equal "
            "usage.cache_creation_input_tokens (500), the writes it splits by TTL",
        ),
        (
            "anthropic",
            "anthropic_message_thinking",
            "usage.output_tokens_details.thinking_tokens",
            2821,
            "anthropic: usage.output_tokens_details.thinking_tokens (2821) exceeds "
            "usage.output_tokens (2820), which includes it",
        ),
        (
            "gemini",
            "gemini_cached_thinking_tools",
            "usageMetadata.cachedContentTokenCount",
            5211,
            "gemini: usageMetadata.cachedContentTokenCount (5211) exceeds "
            "usageMetadata.promptTokenCount (5210), which includes it",
        ),
        (
            "gemini",
            "gemini_image_output",
            "usageMetadata.candidatesTokensDetails.1.tokenCount",
            1300,
            "gemini: usageMetadata.candidatesTokensDetails[IMAGE] (1300) exceeds "
            "usageMetadata.candidatesTokenCount (1299), which includes it",
        ),
        (
            "bedrock",
            "bedrock_converse_cache_1h",
            "usage.cacheDetails.0.inputTokens",
            1801,
            "bedrock: usage.cacheDetails adds up to 2301, not "
            "usage.cacheWriteInputTokens (2300), the writes it splits by TTL",
        ),
    ],
)
def test_a_part_above_its_total_is_refused(
    api: str, fixture: str, path: str, value: int, message: str
) -> None:
    with pytest.raises(InvalidInputError) as e:
        extract_usage(_set(load(fixture), path, value), api)
    assert e.value.message == message


@pytest.mark.parametrize(
    ("api", "fixture", "path", "value", "field", "message"),
    [
        (
            "openai-chat",
            "openai_chat_cache_write",
            "usage.prompt_tokens_details.cache_write_tokens",
            9851,
            "usage.prompt_tokens_details.cache_write_tokens",
            "(9851) exceeds usage.prompt_tokens (9850), which includes it",
        ),
        (
            # Each fits alone; read and written tokens together do not (6144 + 3707).
            "openai-chat",
            "openai_chat_cache_write",
            "usage.prompt_tokens_details.cache_write_tokens",
            3707,
            "usage.prompt_tokens_details.cache_write_tokens",
            "(3707) plus usage.prompt_tokens_details.cached_tokens (6144) exceeds "
            "usage.prompt_tokens (9850), which includes both",
        ),
        (
            "openai-responses",
            "openai_responses_cache_creation",
            "usage.input_tokens_details.cache_creation_tokens",
            3947,
            "usage.input_tokens_details.cache_creation_tokens",
            "(3947) plus usage.input_tokens_details.cached_tokens (11264) exceeds "
            "usage.input_tokens (15210), which includes both",
        ),
        (
            "anthropic",
            "anthropic_message_cache_ttl_split",
            "usage.cache_creation.ephemeral_5m_input_tokens",
            2401,
            "usage.cache_creation",
            "ephemeral_5m_input_tokens + ephemeral_1h_input_tokens (2401 + 4000 = 6401) "
            "does not equal usage.cache_creation_input_tokens (6400)",
        ),
        (
            "anthropic",
            "anthropic_message_cache_ttl_split",
            "usage.cache_creation.ephemeral_5m_input_tokens",
            2399,
            "usage.cache_creation",
            "(2399 + 4000 = 6399) does not equal usage.cache_creation_input_tokens (6400)",
        ),
        (
            # A split of zeros beside 6400 writes says nothing of their TTL: refused.
            "anthropic",
            "anthropic_message_cache_ttl_split",
            "usage.cache_creation",
            {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "usage.cache_creation",
            "(0 + 0 = 0) does not equal usage.cache_creation_input_tokens (6400)",
        ),
        (
            "bedrock",
            "bedrock_stream_metadata_cache_details",
            "metadata.usage.cacheDetails.1.inputTokens",
            4097,
            "metadata.usage.cacheDetails",
            "adds up to 5121, not metadata.usage.cacheWriteInputTokens (5120)",
        ),
        (
            "bedrock",
            "bedrock_stream_metadata_cache_details",
            "metadata.usage.cacheDetails.1.inputTokens",
            4095,
            "metadata.usage.cacheDetails",
            "adds up to 5119, not metadata.usage.cacheWriteInputTokens (5120)",
        ),
        (
            "gemini",
            "gemini_sdk_snake_case",
            "usage_metadata.cached_content_token_count",
            4481,
            "usage_metadata.cached_content_token_count",
            "(4481) exceeds usage_metadata.prompt_token_count (4480), which includes it",
        ),
        (
            "gemini",
            "gemini_sdk_snake_case",
            "usage_metadata.cache_tokens_details.1.token_count",
            3073,
            "usage_metadata.cache_tokens_details[AUDIO]",
            "(3073) exceeds usage_metadata.cached_content_token_count (3072), which includes it",
        ),
        (
            "gemini",
            "gemini_sdk_snake_case",
            "usage_metadata.prompt_tokens_details.1.token_count",
            4481,
            "usage_metadata.prompt_tokens_details[AUDIO]",
            "(4481) exceeds usage_metadata.prompt_token_count (4480), which includes it",
        ),
    ],
)
def test_a_cache_or_spelling_shape_that_does_not_add_up_is_named(
    api: str, fixture: str, path: str, value: Any, field: str, message: str
) -> None:
    with pytest.raises(InvalidInputError) as e:
        extract_usage(_set(load(fixture), path, value), api)
    assert e.value.field == field
    assert e.value.message.startswith(f"{api}: {field} ")
    assert message in e.value.message


def test_parts_that_fit_alone_but_not_together_are_refused_with_the_shape() -> None:
    # cached 300 and audio 300 each fit in prompt 500, but Chat Completions does
    # not say how much of the cache is audio, and together they exceed it.
    body = _set(load("openai_chat_audio"), "usage.prompt_tokens_details.cached_tokens", 300)
    body = _set(body, "usage.prompt_tokens_details.audio_tokens", 300)
    body = _set(body, "usage.prompt_tokens", 500)
    with pytest.raises(InvalidInputError, match=r"^openai-chat: inconsistent usage"):
        extract_usage(body, "openai-chat")


@pytest.mark.parametrize(
    ("fixture", "api", "field"),
    [
        # Anthropic's input_tokens excludes the cache; OpenAI's includes it: reading
        # one as the other would miscount, so the other shape's fields are refused.
        ("anthropic_message_cache_1h", "openai-responses", "usage.cache_read_input_tokens"),
        ("openai_responses_reasoning", "anthropic", "usage.input_tokens_details"),
        ("openai_responses_reasoning", "openai-chat", "usage.input_tokens"),
        ("openai_chat_basic", "openai-responses", "usage.prompt_tokens"),
        ("openai_chat_basic", "anthropic", "usage.prompt_tokens"),
    ],
)
def test_another_shapes_body_is_refused(fixture: str, api: str, field: str) -> None:
    with pytest.raises(InvalidInputError, match=rf"^{api}: {field} is not a field of") as e:
        extract_usage(load(fixture), api)
    assert e.value.field == field


def test_a_usage_block_that_is_not_an_object_is_refused() -> None:
    body = _set(load("bedrock_converse_basic"), "usage", [38, 121])
    with pytest.raises(InvalidInputError, match=r"^bedrock: usage must be an object"):
        extract_usage(body, "bedrock")


def test_gemini_modality_list_must_be_a_list_of_objects() -> None:
    body = _set(load("gemini_audio_input"), "usageMetadata.promptTokensDetails", {"AUDIO": 1})
    with pytest.raises(InvalidInputError, match=r"promptTokensDetails must be an array"):
        extract_usage(body, "gemini")
    body = _set(load("gemini_audio_input"), "usageMetadata.promptTokensDetails", [7])
    with pytest.raises(InvalidInputError, match=r"promptTokensDetails\[0\] must be an object"):
        extract_usage(body, "gemini")


def test_normalized_errors_name_the_shape_and_field() -> None:
    with pytest.raises(InvalidInputError, match=r"^normalized: unknown usage field\(s\): tokens"):
        extract_usage({"usage": {"input_tokens": 3, "tokens": 4}}, "normalized")
    with pytest.raises(InvalidInputError, match=r"^normalized: usage is null") as e:
        extract_usage({"usage": None}, "normalized")
    assert e.value.field == "usage"
    with pytest.raises(InvalidInputError, match=r"^normalized: inconsistent usage") as e:
        extract_usage({"input_tokens": 10, "cache_read_tokens": 11}, "normalized")
    assert e.value.field == "cache_read_tokens"


def test_errors_carry_the_code_and_field() -> None:
    with pytest.raises(InvalidInputError) as e:
        extract_usage(_set(load("bedrock_converse_basic"), "usage.inputTokens", "38"), "bedrock")
    assert e.value.to_dict() == {
        "code": "invalid_input",
        "message": 'bedrock: usage.inputTokens must be a non-negative integer, got "38"',
        "field": "usage.inputTokens",
    }


# --- smaller conventions --------------------------------------------------------------------


def test_openai_cache_write_tokens_are_a_part_of_the_input_where_sent() -> None:
    # Not in OpenAI's own reference; Azure AI's OpenAI-compatible usage sends it.
    chat = _set(
        load("openai_chat_cached_reasoning"), "usage.prompt_tokens_details.cache_write_tokens", 512
    )
    usage = extract_usage(chat, "openai-chat").usage
    # prompt 2450 = cached 1920 + written 512 + 18 uncached.
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (
        2450,
        1920,
        512,
    )
    responses = _set(
        load("openai_responses_reasoning"), "usage.input_tokens_details.cache_write_tokens", 1000
    )
    assert extract_usage(responses, "openai-responses").usage.cache_write_tokens == 1000


def test_openai_cache_write_spellings_are_one_count() -> None:
    # The Responses fixture spells its writes cache_creation_tokens; cache_write_tokens
    # reads the same, and both together must agree.
    body = load("openai_responses_cache_creation")
    details = body["usage"]["input_tokens_details"]
    expected = extract_usage(body, "openai-responses").usage
    details["cache_write_tokens"] = details.pop("cache_creation_tokens")
    assert extract_usage(body, "openai-responses").usage == expected
    details["cache_creation_tokens"] = 3840
    assert extract_usage(body, "openai-responses").usage == expected
    details["cache_creation_tokens"] = 3000
    with pytest.raises(InvalidInputError) as e:
        extract_usage(body, "openai-responses")
    assert e.value.field == "usage.input_tokens_details.cache_creation_tokens"
    assert e.value.message == (
        "openai-responses: usage.input_tokens_details.cache_creation_tokens (3000) disagrees "
        "with usage.input_tokens_details.cache_write_tokens (3840): both spellings name the "
        "same cache writes"
    )
    chat = _set(
        load("openai_chat_cache_write"), "usage.prompt_tokens_details.cache_creation_tokens", 3585
    )
    with pytest.raises(InvalidInputError, match=r"cache_creation_tokens \(3585\) disagrees"):
        extract_usage(chat, "openai-chat")
    null_spelling = _set(chat, "usage.prompt_tokens_details.cache_creation_tokens", None)
    assert extract_usage(null_spelling, "openai-chat").usage.cache_write_tokens == 3584


@pytest.mark.parametrize(
    ("api", "fixture", "path", "value", "field"),
    [
        (
            "bedrock",
            "bedrock_stream_metadata_cache_details",
            "metadata.usage.cacheDetails.1.ttl",
            "24h",
            "metadata.usage.cacheDetails[1].ttl",
        ),
        (
            "bedrock",
            "bedrock_stream_metadata_cache_details",
            "metadata.usage.cacheDetails.0.ttl",
            None,
            "metadata.usage.cacheDetails[0].ttl",
        ),
        (
            "anthropic",
            "anthropic_message_cache_ttl_split",
            "usage.cache_creation.ephemeral_24h_input_tokens",
            10,
            "usage.cache_creation.ephemeral_24h_input_tokens",
        ),
    ],
)
def test_a_cache_ttl_without_a_known_price_is_refused(
    api: str, fixture: str, path: str, value: Any, field: str
) -> None:
    # Billing unknown-TTL writes at the 5-minute rate would under-charge them.
    with pytest.raises(InvalidInputError) as e:
        extract_usage(_set(load(fixture), path, value), api)
    assert e.value.field == field
    assert e.value.message.startswith(f"{api}: {field} ")
    assert "price" in e.value.message


def test_anthropic_unknown_cache_creation_key_at_zero_is_harmless() -> None:
    body = _set(
        load("anthropic_message_cache_ttl_split"),
        "usage.cache_creation.ephemeral_24h_input_tokens",
        0,
    )
    assert extract_usage(body, "anthropic").usage.cache_write_1h_tokens == 4000


def test_anthropic_empty_cache_creation_means_no_split() -> None:
    body = _set(load("anthropic_message_cache_ttl_split"), "usage.cache_creation", {})
    usage = extract_usage(body, "anthropic").usage
    # No TTL counts at all: the 6400 writes are 5-minute writes, as without cache_creation.
    assert (usage.cache_write_tokens, usage.cache_write_1h_tokens) == (6400, 0)


def test_anthropic_write_total_falls_back_to_the_ttl_breakdown() -> None:
    body = _set(load("anthropic_message_cache_1h"), "usage.cache_creation_input_tokens", None)
    usage = extract_usage(body, "anthropic").usage
    # writes = 5m 300 + 1h 200 = 500; input = 1200 + 800 + 500 = 2500.
    assert (usage.input_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (
        2500,
        500,
        200,
    )


def test_bedrock_write_total_falls_back_to_cache_details() -> None:
    body = load("bedrock_converse_cache_1h")
    del body["usage"]["cacheWriteInputTokens"]
    usage = extract_usage(body, "bedrock").usage
    # writes = 1h 1800 + 5m 500 = 2300; input = 42 + 1850 + 2300 = 4192.
    assert (usage.input_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (
        4192,
        2300,
        1800,
    )


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (
            lambda body: body["usage_metadata"].update(promptTokenCount=4480),
            "usage_metadata.promptTokenCount",
            "is camelCase in a snake_case usage_metadata block",
        ),
        (
            lambda body: body["usage_metadata"]["prompt_tokens_details"][1].update(tokenCount=3008),
            "usage_metadata.prompt_tokens_details[1].tokenCount",
            "is spelled unlike the rest of the body (which uses token_count)",
        ),
        (
            lambda body: body.update(usageMetadata=camel_case(body["usage_metadata"])),
            "usage_metadata",
            "is present beside usageMetadata",
        ),
    ],
)
def test_gemini_mixed_spellings_are_refused(
    edit: Callable[[Body], None], field: str, message: str
) -> None:
    body = load("gemini_sdk_snake_case")
    edit(body)
    with pytest.raises(InvalidInputError, match="^" + re.escape(f"gemini: {field} {message}")) as e:
        extract_usage(body, "gemini")
    assert e.value.field == field


def test_gemini_rest_body_with_a_snake_case_count_is_refused() -> None:
    body = load("gemini_cached_thinking_tools")
    body["usageMetadata"]["thoughts_token_count"] = 1422
    with pytest.raises(InvalidInputError) as e:
        extract_usage(body, "gemini")
    assert e.value.field == "usageMetadata.thoughts_token_count"
    assert "snake_case in a camelCase usageMetadata block" in e.value.message
    body = load("gemini_audio_input")
    body["usageMetadata"]["promptTokensDetails"][1]["token_count"] = 1920
    with pytest.raises(InvalidInputError) as e:
        extract_usage(body, "gemini")
    assert e.value.field == "usageMetadata.promptTokensDetails[1].token_count"


def test_gemini_tool_use_prompt_modalities_are_input_parts() -> None:
    body = load("gemini_cached_thinking_tools")
    body["usageMetadata"]["toolUsePromptTokensDetails"] = [
        {"modality": "TEXT", "tokenCount": 60},
        {"modality": "IMAGE", "tokenCount": 200},
    ]
    usage = extract_usage(body, "gemini").usage
    assert (usage.input_tokens, usage.input_image_tokens) == (5470, 200)


def test_gemini_counts_left_out_by_proto3_are_zero() -> None:
    body = {"usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}}
    assert extract_usage(body, "gemini").usage == Usage(input_tokens=9)


def test_a_model_that_is_not_a_string_is_not_reported() -> None:
    body = _set(load("openai_chat_basic"), "model", 4)
    assert extract_usage(body, "openai-chat").model is None
