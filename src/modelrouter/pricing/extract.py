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
    A missing or null ``*_details`` object or count means 0. A
    ``prompt_tokens_details.cache_write_tokens`` count, which OpenAI's own
    reference does not list but compatible servers (Azure AI) send, is read as
    the cache-write part of ``prompt_tokens``.

``openai-responses`` (Responses API)
    A ``response`` object, or, when streaming, the ``response.completed`` event
    (``response.incomplete`` and ``response.failed`` too: they carry the final
    response the same way), whose ``response`` holds the usage. ``input_tokens``
    includes ``input_tokens_details.cached_tokens`` (and
    ``input_tokens_details.cache_write_tokens``, where sent, as for Chat);
    ``output_tokens`` includes ``output_tokens_details.reasoning_tokens``.

``anthropic`` (Messages)
    A ``message`` object, or, when streaming, the ``message_start`` event (its
    ``message.usage``) or the final ``message_delta`` event (its ``usage``).
    ``input_tokens`` EXCLUDES cache reads and writes, so the input total is
    ``input_tokens + cache_read_input_tokens + cache_creation_input_tokens``.
    The 1-hour part of the writes is ``cache_creation.ephemeral_1h_input_tokens``;
    without ``cache_creation`` all writes count as 5-minute writes (and with it
    but a null ``cache_creation_input_tokens``, the writes are its 5m + 1h).
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

``gemini`` (``generateContent``, Gemini API and Vertex AI, REST JSON)
    A ``GenerateContentResponse``; when streaming, every chunk carries
    ``usageMetadata`` and the last one has the totals: pass the last chunk.
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
    ``cacheWriteInputTokens``; the 1-hour part of the writes is the ``1h`` entry
    of ``cacheDetails`` (whose entries add up to the writes when
    ``cacheWriteInputTokens`` is absent). The Converse body names no model.

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

    def modalities(self, parent: dict[str, Any], key: str, path: str) -> dict[str, int]:
        """A Gemini ``ModalityTokenCount`` list, summed by modality."""
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
            totals[modality] = totals.get(modality, 0) + self.count(entry, "tokenCount", at)
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
    cache_write = r.count(prompt_details, "cache_write_tokens", pd)
    input_audio = r.count(prompt_details, "audio_tokens", pd)
    reasoning = r.count(completion_details, "reasoning_tokens", cd)
    output_audio = r.count(completion_details, "audio_tokens", cd)
    r.part(f"{pd}.cached_tokens", cached, "usage.prompt_tokens", prompt)
    r.part(f"{pd}.cache_write_tokens", cache_write, "usage.prompt_tokens", prompt)
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
    cache_write = r.count(input_details, "cache_write_tokens", idet)
    reasoning = r.count(output_details, "reasoning_tokens", odet)
    r.part(f"{idet}.cached_tokens", cached, f"{u}.input_tokens", input_total)
    r.part(f"{idet}.cache_write_tokens", cache_write, f"{u}.input_tokens", input_total)
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
    write_5m = r.count(creation, "ephemeral_5m_input_tokens", cc)
    write_1h = r.count(creation, "ephemeral_1h_input_tokens", cc)
    if usage.get("cache_creation_input_tokens") is None:
        cache_write = write_5m + write_1h  # no total given: the breakdown by TTL is all of it
    if write_5m + write_1h > cache_write:
        raise r.error(
            cc,
            f"ephemeral_5m_input_tokens + ephemeral_1h_input_tokens ({write_5m} + {write_1h}) "
            f"exceeds {u}.cache_creation_input_tokens ({cache_write}), which includes them",
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


def _gemini(r: _Reader, body: dict[str, Any]) -> ExtractedUsage:
    hint = ""
    if "usage_metadata" in body:
        hint = " (usage_metadata is the SDK's snake_case; pass the REST JSON, camelCase)"
    elif "candidates" in body:
        hint = "; in a stream, pass the last chunk, which has the totals"
    m = r.usage_block(body, "usageMetadata", "", hint)
    u = "usageMetadata"
    prompt = r.count(m, "promptTokenCount", u, required=True)
    cached = r.count(m, "cachedContentTokenCount", u)
    candidates = r.count(m, "candidatesTokenCount", u)
    thoughts = r.count(m, "thoughtsTokenCount", u)
    tool_prompt = r.count(m, "toolUsePromptTokenCount", u)
    r.part(f"{u}.cachedContentTokenCount", cached, f"{u}.promptTokenCount", prompt)

    def parts(key: str, total_key: str, total: int) -> dict[str, int]:
        counts = r.modalities(m, key, u)
        for modality in ("AUDIO", "IMAGE"):
            r.part(f"{u}.{key}[{modality}]", counts.get(modality, 0), f"{u}.{total_key}", total)
        return counts

    prompt_parts = parts("promptTokensDetails", "promptTokenCount", prompt)
    cache_parts = parts("cacheTokensDetails", "cachedContentTokenCount", cached)
    tool_parts = parts("toolUsePromptTokensDetails", "toolUsePromptTokenCount", tool_prompt)
    output_parts = parts("candidatesTokensDetails", "candidatesTokenCount", candidates)
    return ExtractedUsage(
        usage=r.build(
            # promptTokenCount includes the cached content; tool-use prompts come on top.
            input_tokens=prompt + tool_prompt,
            cache_read_tokens=cached,
            input_audio_tokens=prompt_parts.get("AUDIO", 0) + tool_parts.get("AUDIO", 0),
            input_image_tokens=prompt_parts.get("IMAGE", 0) + tool_parts.get("IMAGE", 0),
            cache_audio_read_tokens=cache_parts.get("AUDIO", 0),
            # candidatesTokenCount excludes the thoughts, which are billed as output.
            output_tokens=candidates + thoughts,
            reasoning_tokens=thoughts,
            output_audio_tokens=output_parts.get("AUDIO", 0),
            output_image_tokens=output_parts.get("IMAGE", 0),
        ),
        model=_model(body, "modelVersion"),
        api=r.api,
    )


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
            if not isinstance(ttl, str):
                raise r.error(f"{at}.ttl", f"must be a string, got {_show(ttl)}")
            by_ttl += tokens
            if ttl == "1h":
                write_1h += tokens
        if usage.get("cacheWriteInputTokens") is None:
            cache_write = by_ttl  # no total given: the breakdown by TTL is all of it
        if by_ttl > cache_write:
            raise r.error(
                cd,
                f"adds up to {by_ttl}, more than {u}.cacheWriteInputTokens ({cache_write}), "
                "which includes it",
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
