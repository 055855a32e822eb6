"""Provider errors sorted into the few classes a router acts on.

An error is read in three steps:

1. Evidence: the error codes the body and headers name (OpenAI and Azure
   ``error.type``/``code``, Anthropic ``error.type``, Google ``error.status``
   and ``ErrorInfo.reason``, Bedrock ``x-amzn-errortype``/``__type``), its
   message, Google's quota ids and ``RetryInfo``, and any safety block in a
   successful answer. The body's shape is detected, whatever ``provider`` says.
2. A base class from the most telling code, else from the HTTP status. A
   generic "bad request" code gives way to a status that says more (OpenAI
   sends ``invalid_request_error`` with a 401).
3. Refinement by the message, for what the codes leave open: a rate limit
   that is really a daily quota, a bad request that is really a prompt too
   long for the context window or a content filter.

Nothing here raises: any status, any body and any headers give a
``ProviderError``. At most ``MESSAGE_CHARS`` of message text are looked at.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from modelrouter.feedback.ratelimits import parse_duration

__all__ = ["HEALTH_CLASSES", "MESSAGE_CHARS", "ErrorClass", "ProviderError", "classify"]

MESSAGE_CHARS = 4096
# A longer body is no error document: read its start as text rather than parse it.
_PARSE_CHARS = 64 * 1024
_DETAIL_CHARS = 200
_CODE_CHARS = 64
_ITEMS = 16  # list entries looked at (details, violations, candidates)


class ErrorClass(StrEnum):
    RATE_LIMITED = "rate_limited"  # short: retry after its reset
    QUOTA_EXHAUSTED = "quota_exhausted"  # until the quota resets (hours)
    OVERLOADED = "overloaded"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    AUTH_ERROR = "auth_error"  # misconfigured deployment
    CONTEXT_WINDOW_EXCEEDED = "context_window_exceeded"
    CONTENT_POLICY = "content_policy"
    BAD_REQUEST = "bad_request"


C = ErrorClass

# The classes that say something about the deployment's health (they count against its circuit).
HEALTH_CLASSES = frozenset(
    {
        C.RATE_LIMITED,
        C.QUOTA_EXHAUSTED,
        C.OVERLOADED,
        C.SERVER_ERROR,
        C.TIMEOUT,
        C.AUTH_ERROR,
    }
)


@dataclass(frozen=True, slots=True)
class ProviderError:
    error_class: ErrorClass
    # Seconds until the provider says to retry, as the body says it (Google's
    # RetryInfo); the headers' say is parsed apart, in ``ratelimits``.
    reset_after_s: Decimal | None
    detail: str  # provider, status, code, and the start of the message


# Error codes, lower-cased, from every provider's documented error format. Few
# collide across providers, so one table serves all shapes.
_CODES: dict[str, ErrorClass] = {
    # OpenAI and Azure OpenAI
    "insufficient_quota": C.QUOTA_EXHAUSTED,
    "billing_hard_limit_reached": C.QUOTA_EXHAUSTED,
    "billing_not_active": C.QUOTA_EXHAUSTED,
    "rate_limit_exceeded": C.RATE_LIMITED,
    "429": C.RATE_LIMITED,  # Azure spells its codes as statuses
    "invalid_api_key": C.AUTH_ERROR,
    "invalid_organization": C.AUTH_ERROR,
    "401": C.AUTH_ERROR,
    "403": C.AUTH_ERROR,
    "404": C.AUTH_ERROR,  # Azure: no such resource or deployment, a wrong endpoint
    "permissiondenied": C.AUTH_ERROR,
    "deploymentnotfound": C.AUTH_ERROR,
    "model_not_found": C.AUTH_ERROR,
    "context_length_exceeded": C.CONTEXT_WINDOW_EXCEEDED,
    "content_filter": C.CONTENT_POLICY,
    "content_policy_violation": C.CONTENT_POLICY,
    "responsibleaipolicyviolation": C.CONTENT_POLICY,
    "server_error": C.SERVER_ERROR,
    # Anthropic
    "rate_limit_error": C.RATE_LIMITED,
    "overloaded_error": C.OVERLOADED,
    "api_error": C.SERVER_ERROR,
    "authentication_error": C.AUTH_ERROR,
    "permission_error": C.AUTH_ERROR,
    "not_found_error": C.AUTH_ERROR,
    "billing_error": C.QUOTA_EXHAUSTED,
    "enforced_spend_limit_reached": C.QUOTA_EXHAUSTED,
    "request_too_large": C.CONTEXT_WINDOW_EXCEEDED,
    "timeout_error": C.TIMEOUT,
    # Google (google.rpc.Code names, and ErrorInfo reasons)
    "resource_exhausted": C.RATE_LIMITED,
    "unavailable": C.OVERLOADED,
    "internal": C.SERVER_ERROR,
    "deadline_exceeded": C.TIMEOUT,
    "unauthenticated": C.AUTH_ERROR,
    "permission_denied": C.AUTH_ERROR,
    "not_found": C.AUTH_ERROR,
    "api_key_invalid": C.AUTH_ERROR,
    "api_key_expired": C.AUTH_ERROR,
    "service_disabled": C.AUTH_ERROR,
    # Bedrock
    "throttlingexception": C.RATE_LIMITED,
    "servicequotaexceededexception": C.QUOTA_EXHAUSTED,
    "modelnotreadyexception": C.OVERLOADED,
    "serviceunavailableexception": C.OVERLOADED,
    "internalserverexception": C.SERVER_ERROR,
    "modelerrorexception": C.SERVER_ERROR,
    "modelstreamerrorexception": C.SERVER_ERROR,
    "modeltimeoutexception": C.TIMEOUT,
    "accessdeniedexception": C.AUTH_ERROR,
    "unrecognizedclientexception": C.AUTH_ERROR,
    "expiredtokenexception": C.AUTH_ERROR,
    "resourcenotfoundexception": C.AUTH_ERROR,
}
# Codes that only say "the request was wrong": a status that says more wins.
_GENERIC = frozenset(
    {"invalid_request_error", "invalid_argument", "failed_precondition", "validationexception"}
)
# When codes disagree, the first class here wins: the rarer, more specific verdict.
_PRECEDENCE = (
    C.CONTENT_POLICY,
    C.QUOTA_EXHAUSTED,
    C.CONTEXT_WINDOW_EXCEEDED,
    C.AUTH_ERROR,
    C.RATE_LIMITED,
    C.TIMEOUT,
    C.OVERLOADED,
    C.SERVER_ERROR,
)

# Message wording, matched lower-cased.
_DAILY = ("per day", "per_day", "perday", "daily limit")
_QUOTA = (
    "exceeded your current quota",
    "billing details",
    "billing account",
    "credit balance is too low",
    "reached your specified api usage limits",
    *_DAILY,
)
_CONTEXT = (
    "maximum context length",
    "context length",
    "context window",
    "context limit",
    "prompt is too long",
    "input is too long",
    "too many tokens",
    "too many input tokens",
    "input token count",
    "maximum number of tokens",
)
# Bedrock's ValidationException words a long prompt more loosely.
_BEDROCK_CONTEXT = ("too long", "max tokens", "max_tokens", "maximum tokens", "context")
_CONTENT = (
    "content management policy",
    "content filter",
    "content policy",
    "safety system",
    "guardrail",
)
_AUTH = ("api key not valid", "invalid api key", "incorrect api key")
_OVERLOAD = ("overloaded", "slow down", "over capacity")
_TIMEOUT = ("timeout", "timed out", "time out", "deadline")

# Reasons a successful answer was withheld (Gemini, OpenAI/Azure, Bedrock, Anthropic).
_GOOGLE_BLOCKS = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY"})
_STOP_BLOCKS = frozenset({"content_filter", "guardrail_intervened", "content_filtered", "refusal"})

_GOOGLE_PROVIDERS = frozenset({"google", "gemini", "vertex", "vertex_ai", "vertexai"})


@dataclass(slots=True)
class _Evidence:
    shape: str = "unknown"  # openai, anthropic, google, bedrock, text, none
    failed: bool = False  # the body or headers carry an error (a 2xx body may too)
    codes: list[str] = field(default_factory=list)  # as spelt, for the detail
    message: str = ""
    body_status: int | None = None  # an HTTP status the body names (Google's error.code)
    quota_ids: list[str] = field(default_factory=list)
    retry_delay: Decimal | None = None
    blocked: str | None = None  # why a successful answer was withheld

    def code(self, value: object) -> None:
        # Bedrock writes "ThrottlingException:http://internal.amazon.com/..." in its
        # header and "com.amazon.coral.service#ThrottlingException" in ``__type``.
        if isinstance(value, str) and 0 < len(value) <= 4 * _CODE_CHARS:
            value = value.rpartition("#")[2].partition(":")[0].strip()
            if 0 < len(value) <= _CODE_CHARS:
                self.codes.append(value)

    def say(self, value: object) -> None:
        if isinstance(value, str) and value and not self.message:
            self.message = value[:MESSAGE_CHARS]


def classify(
    status: int | None,
    body: object = None,
    *,
    headers: Mapping[str, str] | None = None,
    provider: str | None = None,
) -> ProviderError:
    """Sort one failed (or withheld) attempt. ``status`` None means no HTTP
    answer came; ``body`` is parsed JSON, JSON or plain text (str or bytes), or
    None; ``provider`` is a hint, the body's shape is detected regardless.

    A 2xx body is an error only if it carries one, or a safety block;
    otherwise it is a ``bad_request`` with the detail "no error in the answer":
    the caller asked about an attempt that did not fail.
    """
    if isinstance(status, bool) or not isinstance(status, int):
        status = None
    hint = provider.lower() if isinstance(provider, str) and len(provider) <= _CODE_CHARS else None
    evidence = _evidence(body, headers, hint)
    if status is None and evidence.body_status is not None:
        status = evidence.body_status
    detail = _detail(hint, status, evidence)
    if _succeeded(status) and not evidence.failed and evidence.blocked is None:
        return ProviderError(C.BAD_REQUEST, None, f"{detail}: no error in the answer")
    error_class = _refine(_base(status, evidence), evidence)
    return ProviderError(error_class, evidence.retry_delay, detail)


def _succeeded(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


# Evidence ------------------------------------------------------------------------------------


def _evidence(body: object, headers: Mapping[str, str] | None, hint: str | None) -> _Evidence:
    evidence = _Evidence()
    document = _document(body, evidence)
    if isinstance(document, list) and document and isinstance(document[0], dict):
        document = document[0]  # Gemini's streaming endpoint wraps the error in a list
    if isinstance(document, dict):
        _read(document, evidence)
    if headers is not None:
        amazon = _header(headers, "x-amzn-errortype")
        if amazon is not None:
            evidence.code(amazon)
            evidence.shape = "bedrock"
            evidence.failed = True
    if evidence.shape in {"unknown", "text"} and hint is not None:
        if hint == "bedrock":
            evidence.shape = "bedrock"
        elif hint in _GOOGLE_PROVIDERS:
            evidence.shape = "google"
    return evidence


def _document(body: object, evidence: _Evidence) -> object:
    """The parsed body; plain text goes to the message."""
    if isinstance(body, bytes | bytearray):
        body = bytes(body[: _PARSE_CHARS + 1]).decode("utf-8", errors="replace")
    if body is None or (isinstance(body, str) and not body.strip()):
        evidence.shape = "none"
        return None
    if not isinstance(body, str):
        return body
    if len(body) <= _PARSE_CHARS:
        try:
            parsed: object = json.loads(body)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict | list):
            return parsed
        if isinstance(parsed, str):
            body = parsed
    evidence.shape = "text"
    evidence.say(body)
    return None


def _header(headers: Mapping[str, str], wanted: str) -> str | None:
    for name, value in headers.items():
        if isinstance(name, str) and name.strip().lower() == wanted and isinstance(value, str):
            return value
    return None


def _read(document: dict[object, object], evidence: _Evidence) -> None:
    error = document.get("error")
    if isinstance(error, dict):
        _read_error(document, error, evidence)
        return
    if isinstance(error, str):  # {"error": "message"}, as some OpenAI-compatible servers send
        evidence.shape = "openai"
        evidence.failed = True
        evidence.say(error)
        return
    _read_flat(document, evidence)
    evidence.blocked = _blocked(document)
    if evidence.blocked is not None and evidence.shape == "unknown":
        google = "candidates" in document or "promptFeedback" in document
        evidence.shape = "google" if google else "openai"


def _read_error(
    document: dict[object, object], error: dict[object, object], evidence: _Evidence
) -> None:
    evidence.failed = True
    status = error.get("status")
    if document.get("type") == "error":
        evidence.shape = "anthropic"
    elif isinstance(status, str) or isinstance(error.get("details"), list):
        evidence.shape = "google"
    else:
        evidence.shape = "openai"
    evidence.say(error.get("message"))
    evidence.code(error.get("code"))
    evidence.code(error.get("type"))
    evidence.code(status)
    for number in (error.get("code"), status):
        if isinstance(number, int) and not isinstance(number, bool) and 100 <= number <= 599:
            evidence.body_status = number
            break
    inner = error.get("innererror")
    if isinstance(inner, dict):  # Azure's content filter
        evidence.code(inner.get("code"))
        if "content_filter_result" in inner:
            evidence.code("content_filter")
    details = error.get("details")
    if isinstance(details, dict):  # Anthropic: {"error_code": "enforced_spend_limit_reached"}
        evidence.code(details.get("error_code"))
    elif isinstance(details, list):
        for detail in details[:_ITEMS]:
            if isinstance(detail, dict):
                _read_google_detail(detail, evidence)


def _read_google_detail(detail: dict[object, object], evidence: _Evidence) -> None:
    kind = detail.get("@type")
    if not isinstance(kind, str):
        return
    if kind.endswith("google.rpc.RetryInfo"):
        delay = detail.get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            evidence.retry_delay = parse_duration(delay)
    elif kind.endswith("google.rpc.QuotaFailure"):
        violations = detail.get("violations")
        for violation in violations[:_ITEMS] if isinstance(violations, list) else ():
            quota_id = violation.get("quotaId") if isinstance(violation, dict) else None
            if isinstance(quota_id, str):
                evidence.quota_ids.append(quota_id[: _CODE_CHARS * 2])
    elif kind.endswith("google.rpc.ErrorInfo"):
        evidence.code(detail.get("reason"))


def _read_flat(document: dict[object, object], evidence: _Evidence) -> None:
    """A body without an ``error`` object: Bedrock's, or a bare message."""
    if "__type" in document:
        evidence.shape = "bedrock"
        evidence.failed = True
        evidence.code(document.get("__type"))
    evidence.say(document.get("message"))
    evidence.say(document.get("Message"))
    evidence.say(document.get("detail"))
    if len(document) == 1:
        # A ConverseStream exception event: {"throttlingException": {"message": ...}}.
        ((name, inner),) = document.items()
        if isinstance(name, str) and name.endswith("Exception") and isinstance(inner, dict):
            evidence.shape = "bedrock"
            evidence.failed = True
            evidence.code(name)
            evidence.say(inner.get("message"))


def _blocked(document: dict[object, object]) -> str | None:
    feedback = document.get("promptFeedback")
    if isinstance(feedback, dict):
        reason = feedback.get("blockReason")
        if isinstance(reason, str) and reason:
            return f"prompt blocked: {reason[:_CODE_CHARS]}"
    for key in ("candidates", "choices"):
        items = document.get(key)
        for item in items[:_ITEMS] if isinstance(items, list) else ():
            if not isinstance(item, dict):
                continue
            reason = item.get("finishReason", item.get("finish_reason"))
            if isinstance(reason, str) and (reason in _GOOGLE_BLOCKS or reason in _STOP_BLOCKS):
                return f"answer withheld: {reason}"
    for key in ("stopReason", "stop_reason"):
        reason = document.get(key)
        if isinstance(reason, str) and reason in _STOP_BLOCKS:
            return f"answer withheld: {reason}"
    if document.get("amazon-bedrock-guardrailAction") == "INTERVENED":
        return "answer withheld: guardrail intervened"
    return None


# Verdict -------------------------------------------------------------------------------------


def _base(status: int | None, evidence: _Evidence) -> ErrorClass:
    if evidence.blocked is not None:
        return C.CONTENT_POLICY
    found = {_CODES[code.lower()] for code in evidence.codes if code.lower() in _CODES}
    for error_class in _PRECEDENCE:
        if error_class in found:
            return error_class
    if status is None and any(code.lower() in _GENERIC for code in evidence.codes):
        return C.BAD_REQUEST  # a stream's error event: no status, but a verdict
    return _by_status(status, evidence)


def _by_status(status: int | None, evidence: _Evidence) -> ErrorClass:
    if status is None:
        # No answer came: the transport's own words say whether it gave up waiting.
        if not evidence.message or _says(evidence.message, _TIMEOUT):
            return C.TIMEOUT
        return C.SERVER_ERROR
    if status == 429:
        return C.RATE_LIMITED
    if status in {401, 403}:
        return C.AUTH_ERROR
    if status in {408, 504}:
        return C.TIMEOUT
    if status in {503, 529}:
        return C.OVERLOADED
    if status == 413:
        return C.CONTEXT_WINDOW_EXCEEDED
    if 400 <= status < 500 or 200 <= status < 300:
        return C.BAD_REQUEST
    # 5xx, and what no provider sends (1xx, 3xx, nonsense): the deployment's fault.
    return C.SERVER_ERROR


def _refine(error_class: ErrorClass, evidence: _Evidence) -> ErrorClass:
    text = evidence.message
    if error_class is C.RATE_LIMITED and _daily(evidence):
        return C.QUOTA_EXHAUSTED
    if error_class is C.BAD_REQUEST:
        if _says(text, _CONTENT):
            return C.CONTENT_POLICY
        if _says(text, _QUOTA):
            return C.QUOTA_EXHAUSTED
        if _says(text, _CONTEXT) or (evidence.shape == "bedrock" and _says(text, _BEDROCK_CONTEXT)):
            return C.CONTEXT_WINDOW_EXCEEDED
        if _says(text, _AUTH):
            return C.AUTH_ERROR
    if error_class is C.SERVER_ERROR and _says(text, _OVERLOAD):
        return C.OVERLOADED
    return error_class


def _daily(evidence: _Evidence) -> bool:
    """A limit that resets in hours, not seconds. Google's quota ids decide when
    present: its per-minute message also says "check your plan and billing"."""
    if evidence.quota_ids:
        return any("perday" in quota_id.lower() for quota_id in evidence.quota_ids)
    return _says(evidence.message, _QUOTA)


def _says(text: str, phrases: Iterable[str]) -> bool:
    lowered = text.lower()
    return any(phrase in lowered for phrase in phrases)


def _detail(hint: str | None, status: int | None, evidence: _Evidence) -> str:
    who = hint or (evidence.shape if evidence.shape not in {"none", "text"} else "unknown")
    answer = "no answer" if status is None else str(status) if 0 <= status <= 999 else "bad status"
    head = " ".join([who, answer, *list(dict.fromkeys(evidence.codes))[:2]])
    said = evidence.blocked or " ".join(evidence.message[: _DETAIL_CHARS * 2].split())
    return f"{head}: {said[:_DETAIL_CHARS]}" if said else head
