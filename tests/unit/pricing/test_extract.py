"""Usage extraction from provider response bodies (tests/fixtures/responses/*.json).

Each fixture is a realistic body written from the provider's API reference; its
expected :class:`Usage` is written out by hand below, with the arithmetic of any
normalisation. Where genai-prices can read the same body, its counts are
checked against ours.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import genai_prices
import pytest

from modelrouter.errors import InvalidInputError
from modelrouter.pricing.extract import API_SHAPES, ApiShape, ExtractedUsage, extract_usage
from modelrouter.pricing.usage import Usage

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "responses"

Body = dict[str, Any]


def load(name: str) -> Body:
    body: Body = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return body


def whole(body: Body) -> Body:
    return body


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


def test_gemini_snake_case_body_gets_a_hint() -> None:
    body = {"usage_metadata": {"prompt_token_count": 4, "candidates_token_count": 2}}
    with pytest.raises(InvalidInputError, match="camelCase"):
        extract_usage(body, "gemini")


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
            "ephemeral_1h_input_tokens (300 + 201) exceeds "
            "usage.cache_creation_input_tokens (500), which includes them",
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
            "bedrock: usage.cacheDetails adds up to 2301, more than "
            "usage.cacheWriteInputTokens (2300), which includes it",
        ),
    ],
)
def test_a_part_above_its_total_is_refused(
    api: str, fixture: str, path: str, value: int, message: str
) -> None:
    with pytest.raises(InvalidInputError) as e:
        extract_usage(_set(load(fixture), path, value), api)
    assert e.value.message == message


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
