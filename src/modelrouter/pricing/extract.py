"""Read the usage block of a provider's response body into our :class:`Usage`.

Each API shape reports tokens its own way; the parsers below turn every one of
them into the single convention of :mod:`modelrouter.pricing.usage` (``input_tokens``
is the whole input, cache reads and writes included; ``output_tokens`` the
whole output, reasoning included; every other count is a part of one of them).

Shapes, with the body each one accepts (a whole response, or the one stream
event that carries the usage):

``openai-chat`` (Chat Completions)
    A ``chat.completion`` object, or, when streaming, the final
    ``chat.completion.chunk``: the one sent when the request set
    ``stream_options.include_usage``, whose ``choices`` is empty (every earlier
    chunk has ``usage: null`` and is refused). ``prompt_tokens`` includes the
    cached and audio tokens of ``prompt_tokens_details``; ``completion_tokens``
    includes the reasoning and audio tokens of ``completion_tokens_details``.
    A missing or null ``*_details`` object or count means 0. The cache writes,
    where sent, are ``prompt_tokens_details.cache_write_tokens`` (newer OpenAI
    models, Azure, OpenRouter) or its other spelling ``cache_creation_tokens``:
    a part of ``prompt_tokens``, like the cached tokens, and apart from them
    (a token is read from the cache or written to it, not both), so the two
    together may not exceed ``prompt_tokens``. A body with both spellings must
    give them the same count.

``openai-responses`` (Responses API)
    A ``response`` object, or, when streaming, the ``response.completed`` event
    (``response.incomplete`` and ``response.failed`` too: they carry the final
    response the same way), whose ``response`` holds the usage. ``input_tokens``
    includes ``input_tokens_details.cached_tokens`` and the cache writes
    (``input_tokens_details.cache_write_tokens`` or ``cache_creation_tokens``,
    where sent, read as for Chat); ``output_tokens`` includes
    ``output_tokens_details.reasoning_tokens``.

``anthropic`` (Messages)
    A ``message`` object, or, when streaming, the ``message_start`` event (its
    ``message.usage``) or the final ``message_delta`` event (its ``usage``).
    ``input_tokens`` EXCLUDES cache reads and writes, so the input total is
    ``input_tokens + cache_read_input_tokens + cache_creation_input_tokens``.
    ``cache_creation`` splits the writes by TTL: ``ephemeral_5m_input_tokens +
    ephemeral_1h_input_tokens`` must equal ``cache_creation_input_tokens`` (a
    split that does not is refused, naming ``usage.cache_creation``, rather
    than guessing the TTL of the difference); the 1-hour part is priced as
    such. Without ``cache_creation`` (or with neither count in it) all writes
    count as 5-minute writes; with it but a null ``cache_creation_input_tokens``,
    the writes are its 5m + 1h.
    ``output_tokens_details.thinking_tokens`` (where sent) is the reasoning part
    of ``output_tokens``.

    ``message_start`` holds the input counts but only the first output count;
    the final ``message_delta`` holds the cumulative output count. Newer API
    versions repeat the input counts in ``message_delta``, so that event alone
    is enough; an older ``message_delta`` carries ``output_tokens`` only, and
    parsing it raises :class:`InvalidInputError` naming ``usage.input_tokens``
    rather than guessing 0 input: take the input counts from ``message_start``.
    ``message_delta`` has no ``cache_creation`` breakdown, so its cache writes
    count as 5-minute writes.

``gemini`` (``generateContent``, Gemini API and Vertex AI)
    A ``GenerateContentResponse``; when streaming, every chunk carries
    ``usageMetadata`` and the last one has the totals: pass the last chunk.
    The REST JSON spells its fields in camelCase (``usageMetadata``,
    ``promptTokenCount``, ``tokenCount``, ``modelVersion``); the Google Gen AI
    and Vertex AI SDKs' ``model_dump``/``to_json_dict`` give the same fields in
    snake_case (``usage_metadata``, ``prompt_token_count``, ``token_count``,
    ``model_version``). Both are read, with the same rules below; one body
    uses one spelling, and a count in the other spelling inside it is refused
    (read under one name and dropped under the other, it would be miscounted).
    ``promptTokenCount`` includes ``cachedContentTokenCount``;
    ``candidatesTokenCount`` EXCLUDES ``thoughtsTokenCount``, which is billed as
    output, so the output total is their sum and the thoughts are the reasoning
    part; ``toolUsePromptTokenCount`` is input on top of ``promptTokenCount``.
    AUDIO and IMAGE entries of ``promptTokensDetails`` and
    ``toolUsePromptTokensDetails`` are the audio and image parts of the input,
    AUDIO in ``cacheTokensDetails`` the cached audio, AUDIO and IMAGE in
    ``candidatesTokensDetails`` the audio and image output. Other modalities
    (TEXT, VIDEO, DOCUMENT) stay in the plain totals. Counts are proto3 JSON,
    which leaves out zeros, so a missing count is 0, except
    ``promptTokenCount``, which every response has.

``bedrock`` (Converse)
    A ``Converse`` response, or, for ``ConverseStream``, the ``metadata`` event
    (``{"metadata": {"usage": {...}, "metrics": {...}}}``, or its bare payload).
    ``inputTokens`` EXCLUDES ``cacheReadInputTokens`` and
    ``cacheWriteInputTokens``. ``cacheDetails`` splits the writes by TTL
    (``[{"ttl": "5m" | "1h", "inputTokens": N}, ...]``): its entries must add up
    to ``cacheWriteInputTokens`` (and are the writes when that is absent), the
    ``1h`` entries are the 1-hour part, and a TTL other than ``5m`` or ``1h`` is
    refused (its price is not known). The Converse body names no model.

``normalized``
    Our own shape (:meth:`Usage.from_dict`): the usage object itself, or an
    object with it under ``usage`` (and optionally ``model``).

Whatever the shape, a body that is not an object, has no usage block, holds a
count that is not a non-negative integer, or a part above its total raises
:class:`InvalidInputError` whose message starts with the shape and names the
field path, e.g. ``anthropic: usage.cache_read_input_tokens must be a
non-negative integer, got "x"``. A missing usage block is never read as zero.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from modelrouter.errors import InvalidInputError
from modelrouter.pricing.units import USAGE_FIELDS
from modelrouter.pricing.usage import FIELDS, Usage

__all__ = ["API_SHAPES", "ApiShape", "ExtractedUsage", "extract_usage"]

ApiShape = Literal[
    "openai-chat", "openai-responses", "anthropic", "gemini", "bedrock", "normalized"
]
API_SHAPES: tuple[str, ...] = get_args(ApiShape)


@dataclass(frozen=True, slots=True)
class ExtractedUsage:
    usage: Usage
    model: str | None  # the model the response names, if it names one
    api: str  # which shape was parsed


def extract_usage(body: Any, api: str) -> ExtractedUsage:
    """Parse the usage of one response body (or final stream event) of shape ``api``."""
    parser = _PARSERS.get(api)
    if parser is None:
        raise InvalidInputError(
            f"unknown api shape {_show(api)}; known: {', '.join(API_SHAPES)}", field="api"
        )
    if not isinstance(body, dict):
        raise InvalidInputError(
            f"{api}: the response body must be a JSON object, got {_kind(body)}", field="body"
        )
    return parser(_Reader(api), body)


# --- reading fields -------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _show(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Reader:
    """Reads counts out of one body, raising errors that name the shape and the path."""

    def __init__(self, api: str) -> None:
        self.api = api

    def error(self, path: str, message: str) -> InvalidInputError:
        return InvalidInputError(f"{self.api}: {path} {message}", field=path)

    def obj(
        self, parent: dict[str, Any], key: str, path: str, *, required: bool
    ) -> dict[str, Any] | None:
        """``parent[key]`` as an object; None when optional and missing or null."""
        where = _join(path, key)
        value = parent.get(key)
        if value is None:
            if required:
                state = "is null" if key in parent else "is missing"
                raise self.error(where, state)
            return None
        if not isinstance(value, dict):
            raise self.error(where, f"must be an object, got {_kind(value)}")
        return value

    def usage_block(
        self, parent: dict[str, Any], key: str, path: str, hint: str = ""
    ) -> dict[str, Any]:
        """The usage object itself: required, and never read as zeros when absent."""
        where = _join(path, key)
        value = parent.get(key)
        if value is None:
            state = "is null" if key in parent else "is missing"
            raise self.error(where, f"{state}: the body has no usage block{hint}")
        if not isinstance(value, dict):
            raise self.error(where, f"must be an object of token counts, got {_kind(value)}")
        return value

    def count(
        self,
        parent: dict[str, Any] | None,
        key: str,
        path: str,
        *,
        required: bool = False,
        hint: str = "",
    ) -> int:
        """A non-negative integer count; 0 when optional and missing or null."""
        where = _join(path, key)
        value = None if parent is None else parent.get(key)
        if value is None:
            if required:
                state = "is null" if parent is not None and key in parent else "is missing"
                raise self.error(where, f"{state}{hint}")
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(where, f"must be a non-negative integer, got {_show(value)}")
        return value

    def part(self, part_path: str, part: int, total_path: str, total: int) -> None:
        if part > total:
            raise self.error(
                part_path, f"({part}) exceeds {total_path} ({total}), which includes it"
            )

    def modalities(
        self,
        parent: dict[str, Any],
        key: str,
        path: str,
        count_key: str = "tokenCount",
        other_key: str = "token_count",
    ) -> dict[str, int]:
        """A Gemini ``ModalityTokenCount`` list, summed by modality; ``count_key``
        is the count's spelling in this body, ``other_key`` the one refused."""
        where = _join(path, key)
        value = parent.get(key)
        if value is None:
            return {}
        if not isinstance(value, list):
            raise self.error(where, f"must be an array, got {_kind(value)}")
        totals: dict[str, int] = {}
        for index, entry in enumerate(value):
            at = f"{where}[{index}]"
            if not isinstance(entry, dict):
                raise self.error(at, f"must be an object, got {_kind(entry)}")
            modality = entry.get("modality", "MODALITY_UNSPECIFIED")
            if not isinstance(modality, str):
                raise self.error(f"{at}.modality", f"must be a string, got {_show(modality)}")
            if other_key in entry:
                raise self.error(
                    f"{at}.{other_key}",
                    f"is spelled unlike the rest of the body (which uses {count_key}): "
                    "pass one spelling",
                )
            totals[modality] = totals.get(modality, 0) + self.count(entry, count_key, at)
        return totals

    def reject_foreign(
        self, usage: dict[str, Any], path: str, keys: tuple[str, ...], other: str
    ) -> None:
        """Refuse another shape's fields: read as this shape, their totals would be wrong."""
        for key in keys:
            if key in usage:
                raise self.error(
                    _join(path, key),
                    f"is not a field of the {self.api} shape (it belongs to {other}); "
                    "pass the api shape the body was produced by",
                )

    def build(self, **counts: int) -> Usage:
        try:
            return Usage(**counts)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{self.api}: {exc.message}", field=exc.field) from exc


def _model(parent: dict[str, Any] | None, key: str = "model") -> str | None:
    value = None if parent is None else parent.get(key)
    return value if isinstance(value, str) and value else None


def _event_type(body: dict[str, Any]) -> str | None:
    value = body.get("type")
    return value if isinstance(value, str) else None


# --- the shapes -----------------------------------------------------------------------------

_CHAT_STREAM_HINT = (
    "; a stream reports usage only in its final chunk (with empty choices), "
    "sent when the request sets stream_options.include_usage"
)


def _openai_cache_writes(r: _Reader, details: dict[str, Any] | None, path: str) -> tuple[int, str]:
    """The cache writes of an OpenAI ``*_tokens_details`` object and the path of the
    count read: ``cache_write_tokens``, or its other spelling ``cache_creation_tokens``."""
    spellings = ("cache_write_tokens", "cache_creation_tokens")
    given = [key for key in spellings if details is not None and details.get(key) is not None]
    counts = {key: r.count(details, key, path) for key in spellings}
    if len(given) == 2 and counts[given[0]] != counts[given[1]]:
        raise r.error(
            _join(path, given[1]),
            f"({counts[given[1]]}) disagrees with {_join(path, given[0])} "
            f"({counts[given[0]]}): both spellings name the same cache writes",
        )
    key = given[0] if given else spellings[0]
    return counts[key], _join(path, key)


def _cache_parts_fit(
    r: _Reader, read_path: str, read: int, write_path: str, write: int, total_path: str, total: int
) -> None:
    """Cache reads and cache writes are disjoint parts of the input total."""
    r.part(read_path, read, total_path, total)
    r.part(write_path, write, total_path, total)
    if read + write > total:
        raise r.error(
            write_path,
            f"({write}) plus {read_path} ({read}) exceeds {total_path} ({total}), "
            "which includes both",
        )


def _openai_chat(r: _Reader, body: dict[str, Any]) -> ExtractedUsage:
    usage = r.usage_block(body, "usage", "", _CHAT_STREAM_HINT)
    if "prompt_tokens" not in usage:
        r.reject_foreign(
            usage, "usage", ("input_tokens", "output_tokens"), "openai-responses or anthropic"
        )
    prompt = r.count(usage, "prompt_tokens", "usage", required=True)
    completion = r.count(usage, "completion_tokens", "usage", required=True)
    prompt_details = r.obj(usage, "prompt_tokens_details", "usage", required=False)
    completion_details = r.obj(usage, "completion_tokens_details", "usage", required=False)
    pd, cd = "usage.prompt_tokens_details", "usage.completion_tokens_details"
    cached = r.count(prompt_details, "cached_tokens", pd)
    cache_write, write_path = _openai_cache_writes(r, prompt_details, pd)
    input_audio = r.count(prompt_details, "audio_tokens", pd)
    reasoning = r.count(completion_details, "reasoning_tokens", cd)
    output_audio = r.count(completion_details, "audio_tokens", cd)
    _cache_parts_fit(
        r, f"{pd}.cached_tokens", cached, write_path, cache_write, "usage.prompt_tokens", prompt
    )
    r.part(f"{pd}.audio_tokens", input_audio, "usage.prompt_tokens", prompt)
    r.part(f"{cd}.reasoning_tokens", reasoning, "usage.completion_tokens", completion)
    r.part(f"{cd}.audio_tokens", output_audio, "usage.completion_tokens", completion)
    return ExtractedUsage(
        usage=r.build(
            input_tokens=prompt,
            cache_read_tokens=cached,
            cache_write_tokens=cache_write,
            input_audio_tokens=input_audio,
            output_tokens=completion,
            reasoning_tokens=reasoning,
            output_audio_tokens=output_audio,
        ),
        model=_model(body),
        api=r.api,
    )


_RESPONSES_FINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")


def _openai_responses(r: _Reader, body: dict[str, Any]) -> ExtractedUsage:
    response, path = body, ""
    event = _event_type(body)
    if event is not None and event.startswith("response."):
        if event not in _RESPONSES_FINAL_EVENTS:
            raise r.error(
                "type",
                f"is {_show(event)}: that stream event carries no usage; "
                "pass the response.completed event",
            )
        response = r.obj(body, "response", "", required=True) or {}
        path = "response"
    usage = r.usage_block(response, "usage", path)
    u = _join(path, "usage")
    r.reject_foreign(
        usage, u, ("cache_read_input_tokens", "cache_creation_input_tokens"), "anthropic"
    )
    if "input_tokens" not in usage:
        r.reject_foreign(usage, u, ("prompt_tokens", "completion_tokens"), "openai-chat")
    input_total = r.count(usage, "input_tokens", u, required=True)
    output_total = r.count(usage, "output_tokens", u, required=True)
    idet, odet = _join(u, "input_tokens_details"), _join(u, "output_tokens_details")
    input_details = r.obj(usage, "input_tokens_details", u, required=False)
    output_details = r.obj(usage, "output_tokens_details", u, required=False)
    cached = r.count(input_details, "cached_tokens", idet)
    cache_write, write_path = _openai_cache_writes(r, input_details, idet)
    reasoning = r.count(output_details, "reasoning_tokens", odet)
    total_path = f"{u}.input_tokens"
    _cache_parts_fit(
        r, f"{idet}.cached_tokens", cached, write_path, cache_write, total_path, input_total
    )
    r.part(f"{odet}.reasoning_tokens", reasoning, f"{u}.output_tokens", output_total)
    return ExtractedUsage(
        usage=r.build(
            input_tokens=input_total,
            cache_read_tokens=cached,
            cache_write_tokens=cache_write,
            output_tokens=output_total,
            reasoning_tokens=reasoning,
        ),
        model=_model(response),
        api=r.api,
    )


_ANTHROPIC_NO_USAGE_HINT = (
    "; a stream reports usage in its message_start and final message_delta events"
)


def _anthropic(r: _Reader, body: dict[str, Any]) -> ExtractedUsage:
    event = _event_type(body)
    message, path = body, ""
    if event == "message_start":
        message = r.obj(body, "message", "", required=True) or {}
        path = "message"
    elif event not in (None, "message", "message_delta"):
        raise r.error(
            "type",
            f"is {_show(event)}: that stream event carries no usage; "
            "pass message_start or the final message_delta",
        )
    usage = r.usage_block(message, "usage", path, _ANTHROPIC_NO_USAGE_HINT)
    u = _join(path, "usage")
    r.reject_foreign(usage, u, ("input_tokens_details",), "openai-responses")
    if "input_tokens" not in usage:
        r.reject_foreign(usage, u, ("prompt_tokens", "completion_tokens"), "openai-chat")
    delta_hint = ""
    if event == "message_delta":
        delta_hint = (
            ": this message_delta comes from an API version that reports input counts only "
            "in message_start; parse message_start for them (input is not assumed to be 0)"
        )
    fresh_input = r.count(usage, "input_tokens", u, required=True, hint=delta_hint)
    cache_read = r.count(usage, "cache_read_input_tokens", u)
    cache_write = r.count(usage, "cache_creation_input_tokens", u)
    output_total = r.count(usage, "output_tokens", u, required=True)
    creation = r.obj(usage, "cache_creation", u, required=False)
    cc = _join(u, "cache_creation")
    ttls = ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")
    write_5m = r.count(creation, ttls[0], cc)
    write_1h = r.count(creation, ttls[1], cc)
    for key, value in (creation or {}).items():
        if key not in ttls and value:  # a TTL we know no price for: never bill it as 5m
            raise r.error(
                _join(cc, key),
                f"is not a known cache TTL ({', '.join(ttls)}); its writes have no known price",
            )
    split = creation is not None and any(creation.get(key) is not None for key in ttls)
    if split and usage.get("cache_creation_input_tokens") is None:
        cache_write = write_5m + write_1h  # no total given: the breakdown by TTL is all of it
    elif split and write_5m + write_1h != cache_write:
        # The split is the whole of the writes; a gap would leave tokens of unknown TTL.
        raise r.error(
            cc,
            f"ephemeral_5m_input_tokens + ephemeral_1h_input_tokens ({write_5m} + {write_1h} "
            f"= {write_5m + write_1h}) does not equal {u}.cache_creation_input_tokens "
            f"({cache_write}), the writes it splits by TTL",
        )
    details = r.obj(usage, "output_tokens_details", u, required=False)
    od = _join(u, "output_tokens_details")
    thinking = r.count(details, "thinking_tokens", od)
    r.part(f"{od}.thinking_tokens", thinking, f"{u}.output_tokens", output_total)
    return ExtractedUsage(
        usage=r.build(
            # input_tokens excludes the cache: the total adds reads and writes back.
            input_tokens=fresh_input + cache_read + cache_write,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            cache_write_1h_tokens=write_1h,
            output_tokens=output_total,
            reasoning_tokens=thinking,
        ),
        model=_model(message),
        api=r.api,
    )


@dataclass(frozen=True, slots=True)
class _GeminiNames:
    """One spelling of Gemini's usage fields: the REST JSON's or the SDKs'."""

    block: str
    model: str
    prompt: str
    cached: str
    candidates: str
    thoughts: str
    tool_prompt: str
    prompt_details: str
    cache_details: str
    tool_details: str
    candidates_details: str
    token_count: str
    name: str

    def counts(self) -> tuple[str, ...]:
        return (
            self.prompt,
            self.cached,
            self.candidates,
            self.thoughts,
            self.tool_prompt,
            self.prompt_details,
            self.cache_details,
            self.tool_details,
            self.candidates_details,
        )


_GEMINI_REST = _GeminiNames(
    block="usageMetadata",
    model="modelVersion",
    prompt="promptTokenCount",
    cached="cachedContentTokenCount",
    candidates="candidatesTokenCount",
    thoughts="thoughtsTokenCount",
    tool_prompt="toolUsePromptTokenCount",
    prompt_details="promptTokensDetails",
    cache_details="cacheTokensDetails",
    tool_details="toolUsePromptTokensDetails",
    candidates_details="candidatesTokensDetails",
    token_count="tokenCount",
    name="camelCase",
)
_GEMINI_SDK = _GeminiNames(
    block="usage_metadata",
    model="model_version",
    prompt="prompt_token_count",
    cached="cached_content_token_count",
    candidates="candidates_token_count",
    thoughts="thoughts_token_count",
    tool_prompt="tool_use_prompt_token_count",
    prompt_details="prompt_tokens_details",
    cache_details="cache_tokens_details",
    tool_details="tool_use_prompt_tokens_details",
    candidates_details="candidates_tokens_details",
    token_count="token_count",
    name="snake_case",
)


def _gemini(r: _Reader, body: dict[str, Any]) -> ExtractedUsage:
    if _GEMINI_REST.block in body and _GEMINI_SDK.block in body:
        raise r.error(
            _GEMINI_SDK.block,
            f"is present beside {_GEMINI_REST.block}: a body has one usage block, "
            "in one spelling (REST camelCase or SDK snake_case)",
        )
    n, other = (
        (_GEMINI_SDK, _GEMINI_REST) if _GEMINI_SDK.block in body else (_GEMINI_REST, _GEMINI_SDK)
    )
    hint = ""
    if "candidates" in body:
        hint = "; in a stream, pass the last chunk, which has the totals"
    m = r.usage_block(body, n.block, "", hint)
    u = n.block
    for key in other.counts():
        if key in m:
            raise r.error(
                _join(u, key),
                f"is {other.name} in a {n.name} {u} block: a body uses one spelling "
                "(a count under the other would be dropped or counted twice)",
            )
    prompt = r.count(m, n.prompt, u, required=True)
    cached = r.count(m, n.cached, u)
    candidates = r.count(m, n.candidates, u)
    thoughts = r.count(m, n.thoughts, u)
    tool_prompt = r.count(m, n.tool_prompt, u)
    r.part(f"{u}.{n.cached}", cached, f"{u}.{n.prompt}", prompt)

    def parts(key: str, total_key: str, total: int) -> dict[str, int]:
        counts = r.modalities(m, key, u, n.token_count, other.token_count)
        for modality in ("AUDIO", "IMAGE"):
            r.part(f"{u}.{key}[{modality}]", counts.get(modality, 0), f"{u}.{total_key}", total)
        return counts

    prompt_parts = parts(n.prompt_details, n.prompt, prompt)
    cache_parts = parts(n.cache_details, n.cached, cached)
    tool_parts = parts(n.tool_details, n.tool_prompt, tool_prompt)
    output_parts = parts(n.candidates_details, n.candidates, candidates)
    return ExtractedUsage(
        usage=r.build(
            # The prompt count includes the cached content; tool-use prompts come on top.
            input_tokens=prompt + tool_prompt,
            cache_read_tokens=cached,
            input_audio_tokens=prompt_parts.get("AUDIO", 0) + tool_parts.get("AUDIO", 0),
            input_image_tokens=prompt_parts.get("IMAGE", 0) + tool_parts.get("IMAGE", 0),
            cache_audio_read_tokens=cache_parts.get("AUDIO", 0),
            # The candidates count excludes the thoughts, which are billed as output.
            output_tokens=candidates + thoughts,
            reasoning_tokens=thoughts,
            output_audio_tokens=output_parts.get("AUDIO", 0),
            output_image_tokens=output_parts.get("IMAGE", 0),
        ),
        model=_model(body, n.model),
        api=r.api,
    )


_BEDROCK_CACHE_TTLS = ("5m", "1h")

_BEDROCK_STREAM_EVENTS = (
    "messageStart",
    "contentBlockStart",
    "contentBlockDelta",
    "contentBlockStop",
    "messageStop",
)


def _bedrock(r: _Reader, body: dict[str, Any]) -> ExtractedUsage:
    root, path = body, ""
    if "usage" not in body and "metadata" in body:
        root = r.obj(body, "metadata", "", required=True) or {}
        path = "metadata"
    elif "usage" not in body:
        event = next((key for key in _BEDROCK_STREAM_EVENTS if key in body), None)
        if event is not None:
            raise r.error(
                event,
                "is a ConverseStream event that carries no usage; pass the metadata event",
            )
    usage = r.usage_block(root, "usage", path)
    u = _join(path, "usage")
    fresh_input = r.count(usage, "inputTokens", u, required=True)
    cache_read = r.count(usage, "cacheReadInputTokens", u)
    cache_write = r.count(usage, "cacheWriteInputTokens", u)
    output_total = r.count(usage, "outputTokens", u, required=True)
    write_1h = 0
    details = usage.get("cacheDetails")
    cd = _join(u, "cacheDetails")
    if details is not None:
        if not isinstance(details, list):
            raise r.error(cd, f"must be an array, got {_kind(details)}")
        by_ttl = 0
        for index, entry in enumerate(details):
            at = f"{cd}[{index}]"
            if not isinstance(entry, dict):
                raise r.error(at, f"must be an object, got {_kind(entry)}")
            tokens = r.count(entry, "inputTokens", at, required=True)
            ttl = entry.get("ttl")
            if ttl not in _BEDROCK_CACHE_TTLS:
                raise r.error(
                    f"{at}.ttl",
                    f"must be one of {', '.join(map(_show, _BEDROCK_CACHE_TTLS))}, got "
                    f"{_show(ttl)} (the writes of another TTL have no known price)",
                )
            by_ttl += tokens
            if ttl == "1h":
                write_1h += tokens
        if usage.get("cacheWriteInputTokens") is None:
            cache_write = by_ttl  # no total given: the breakdown by TTL is all of it
        elif by_ttl != cache_write:
            # The split is the whole of the writes; a gap would leave tokens of unknown TTL.
            raise r.error(
                cd,
                f"adds up to {by_ttl}, not {u}.cacheWriteInputTokens ({cache_write}), "
                "the writes it splits by TTL",
            )
    return ExtractedUsage(
        usage=r.build(
            # inputTokens excludes the cache: the total adds reads and writes back.
            input_tokens=fresh_input + cache_read + cache_write,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            cache_write_1h_tokens=write_1h,
            output_tokens=output_total,
        ),
        model=None,
        api=r.api,
    )


def _normalized(r: _Reader, body: dict[str, Any]) -> ExtractedUsage:
    raw, path, model = body, "", None
    if "usage" in body:
        raw = r.usage_block(body, "usage", "")
        path, model = "usage", _model(body)
    for name in FIELDS:
        if name in raw:
            where = _join(path, name)
            if raw[name] is None:
                raise r.error(where, "is null")
            r.count(raw, name, path)
    if not any(name in raw for name in USAGE_FIELDS):
        raise r.error(
            path or "body",
            f"has no token counts: the body has no usage block (known fields: {', '.join(FIELDS)})",
        )
    try:
        usage = Usage.from_dict(raw)
    except InvalidInputError as exc:
        field = _join(path, exc.field) if exc.field and exc.field != "usage" else exc.field
        raise InvalidInputError(f"{r.api}: {exc.message}", field=field) from exc
    return ExtractedUsage(usage=usage, model=model, api=r.api)


_PARSERS: dict[str, Callable[[_Reader, dict[str, Any]], ExtractedUsage]] = {
    "openai-chat": _openai_chat,
    "openai-responses": _openai_responses,
    "anthropic": _anthropic,
    "gemini": _gemini,
    "bedrock": _bedrock,
    "normalized": _normalized,
}
