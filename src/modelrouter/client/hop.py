"""What a run hands the caller's function, what that function may return or
raise, and how each is read as an attempt.

The function is called with a ``Hop`` and calls the provider. It may:

- return the provider's answer: a ``Reply``, an ``httpx.Response``, a JSON
  object, or an SDK object with ``model_dump()`` (the OpenAI SDK's). A 2xx
  answer is served, unless it carries an error or a safety block (OpenAI's
  ``finish_reason: content_filter``); any other status is a failure;
- raise ``ProviderError(status, body, headers)``, ``httpx.HTTPStatusError``,
  or an SDK error with ``status_code`` and ``body`` (the OpenAI SDK's
  ``APIStatusError``): a failure, read from its status and body;
- raise a timeout (``httpx.TimeoutException``, ``TimeoutError``, any
  exception whose class is named ``*Timeout*``): a ``timeout``;
- raise a connection error (``httpx.NetworkError``, ``ConnectionError``,
  ``*ConnectionError``): a ``server_error``.

Failures are sorted by ``feedback.classify``, the feedback loop's own
classifier. Any other exception is the caller's bug, not the provider's: it
propagates as it is and no attempt is reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from modelrouter.catalog.model import ApiShape, Endpoint
from modelrouter.errors import InvalidInputError
from modelrouter.feedback.classify import ErrorClass, classify
from modelrouter.pricing.extract import extract_usage
from modelrouter.pricing.usage import Usage
from modelrouter.types import Candidate, CostEstimate

__all__ = [
    "USAGE_API",
    "AttemptSummary",
    "Hop",
    "Observed",
    "ProviderError",
    "Reply",
    "kept_headers",
    "observe",
    "plain",
    "usage_of",
]

# The ``api`` of a usage body, by the endpoint's API shape.
USAGE_API: dict[ApiShape | None, str] = {
    None: "openai-chat",
    ApiShape.OPENAI_CHAT: "openai-chat",
    ApiShape.OPENAI_RESPONSES: "openai-responses",
    ApiShape.ANTHROPIC_MESSAGES: "anthropic",
    ApiShape.GEMINI: "gemini",
    ApiShape.BEDROCK_CONVERSE: "bedrock",
}
# What an attempt report carries of an error body, and of the answer's headers.
ERROR_CHARS = 4096
_HEADER_PREFIXES = ("retry-after", "x-ratelimit", "anthropic-ratelimit", "ratelimit", "x-amzn")


@dataclass(frozen=True, slots=True)
class Hop:
    """One hop of the plan, as the caller's function needs it to call the
    provider: the model id to send, where, in which wire format, with which
    secret (its *name*: resolve it yourself), and what it is expected to cost."""

    decision_id: str
    deployment: str
    provider: str
    model: str
    upstream_model: str
    api_base: str | None
    api_shape: ApiShape | None
    api_version: str | None
    credential_ref: str | None
    estimate: CostEstimate
    attempt: int  # 0 for the first call of the run, 1 for the next...
    candidate: Candidate = field(repr=False)

    @classmethod
    def of(cls, decision_id: str, candidate: Candidate, attempt: int) -> Hop:
        endpoint = candidate.endpoint or Endpoint()
        return cls(
            decision_id=decision_id,
            deployment=candidate.deployment,
            provider=candidate.provider,
            model=candidate.model,
            upstream_model=endpoint.upstream_model or candidate.model,
            api_base=endpoint.api_base,
            api_shape=endpoint.api_shape,
            api_version=endpoint.api_version,
            credential_ref=endpoint.credential_ref,
            estimate=candidate.estimate,
            attempt=attempt,
            candidate=candidate,
        )

    @property
    def usage_api(self) -> str:
        """The ``api`` its answers' usage is read as."""
        return USAGE_API.get(self.api_shape, "openai-chat")


@dataclass(frozen=True, slots=True)
class Reply:
    """The provider's answer, said explicitly. ``body`` is handed back to the
    run's caller as the response; ``usage`` (a ``Usage``, or a usage body of
    shape ``api``) when the body does not carry it; ``ttft_ms`` if you measured it."""

    body: Any
    status: int = 200
    headers: Mapping[str, str] | None = None
    usage: Usage | Mapping[str, Any] | None = None
    api: str | None = None
    ttft_ms: Decimal | None = None


class ProviderError(Exception):
    """Raise it from the call for a provider's error answer."""

    def __init__(
        self, status: int | None, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"provider answered {status}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


@dataclass(frozen=True, slots=True)
class Observed:
    """One attempt as read: served (``error_class`` None) or failed, and what
    the attempt report says of it."""

    error_class: ErrorClass | None
    response: Any = None
    http_status: int | None = None
    error: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    usage: Usage | None = None
    reset_after_s: Decimal | None = None
    detail: str = ""
    exception: BaseException | None = None
    ttft_ms: Decimal | None = None

    @property
    def ok(self) -> bool:
        return self.error_class is None


@dataclass(frozen=True, slots=True)
class AttemptSummary:
    """One attempt of a run, as the run's result and ``HopsFailed`` list it."""

    attempt_id: str
    deployment: str
    status: str  # "ok" or an error class
    detail: str
    latency_ms: Decimal
    ttft_ms: Decimal | None
    http_status: int | None


def observe(hop: Hop, *, returned: Any = None, raised: BaseException | None = None) -> Observed:
    """Read what the call returned, or raised. Raises ``raised`` again when it
    is no provider failure."""
    if raised is not None:
        found = _raised(hop, raised)
        if found is None:
            raise raised
        return found
    return _returned(hop, returned)


def _raised(hop: Hop, exc: BaseException) -> Observed | None:
    if not isinstance(exc, Exception):
        return None  # KeyboardInterrupt, cancellation: not the provider's
    if isinstance(exc, ProviderError):
        return _failed(hop, exc.status, exc.body, exc.headers, exc)
    if isinstance(exc, httpx.HTTPStatusError):
        response = exc.response
        return _failed(hop, response.status_code, _body_of(response), response.headers, exc)
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool):
        sdk_response = getattr(exc, "response", None)
        headers = getattr(sdk_response, "headers", None) or {}
        body = getattr(exc, "body", None)
        if body is None and isinstance(sdk_response, httpx.Response):
            body = _body_of(sdk_response)
        return _failed(hop, status, body, headers, exc)
    names = [kind.__name__ for kind in type(exc).__mro__]
    if isinstance(exc, httpx.TimeoutException | TimeoutError) or any(
        "Timeout" in name for name in names
    ):
        return Observed(ErrorClass.TIMEOUT, detail=f"{hop.provider}: {exc!r}", exception=exc)
    # The link to the provider broke; a request httpx could not send (a bad
    # header) is the caller's bug, and propagates.
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError | ConnectionError) or any(
        name.endswith("ConnectionError") for name in names
    ):
        return Observed(ErrorClass.SERVER_ERROR, detail=f"{hop.provider}: {exc!r}", exception=exc)
    return None


def _returned(hop: Hop, value: Any) -> Observed:
    ttft = None
    usage_given: Usage | Mapping[str, Any] | None = None
    api = hop.usage_api
    if isinstance(value, Reply):
        status, headers, response = value.status, value.headers or {}, value.body
        body = plain(value.body)
        usage_given, api, ttft = value.usage, value.api or api, value.ttft_ms
    elif isinstance(value, httpx.Response):
        status, headers, response = value.status_code, value.headers, value
        body = _body_of(value)
    else:
        status, headers, body, response = 200, {}, plain(value), value
    if not 200 <= status < 300:
        return _failed(hop, status, body, headers, None)
    verdict = classify(status, body, headers=headers, provider=hop.provider)
    if verdict.error_class is not ErrorClass.BAD_REQUEST:  # an error, or a safety block
        return _failed(hop, status, body, headers, None)
    return Observed(
        None,
        response=response,
        http_status=status,
        headers=kept_headers(headers),
        usage=usage_of(plain(usage_given) if usage_given is not None else body, api),
        ttft_ms=ttft,
    )


def _failed(
    hop: Hop,
    status: int | None,
    body: Any,
    headers: Mapping[str, str],
    exc: BaseException | None,
) -> Observed:
    found = classify(status, body, headers=headers, provider=hop.provider)
    return Observed(
        found.error_class,
        http_status=status,
        error=_bounded(body),
        headers=kept_headers(headers),
        reset_after_s=found.reset_after_s,
        detail=found.detail,
        exception=exc,
    )


def usage_of(body: Any, api: str) -> Usage | None:
    """The usage a body (or a final stream event) reports, else None."""
    if isinstance(body, Usage):
        return body
    if not isinstance(body, Mapping):
        return None
    try:
        return extract_usage(dict(body), api).usage
    except InvalidInputError:
        return None


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers the router reads (rate limits, retry-after, error types), bounded."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        lowered = str(name).lower()
        if lowered.startswith(_HEADER_PREFIXES) and len(lowered) <= 100 and len(out) < 100:
            out[lowered] = str(value)[:1000]
    return out


def plain(value: Any) -> Any:
    """An SDK object as JSON types (``model_dump``), anything else as it is."""
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type | Mapping):
        try:
            return dump(mode="json")
        except TypeError:
            return dump()
    return value


def _body_of(response: httpx.Response) -> Any:
    try:
        response.read()
        return response.json()
    except (ValueError, RuntimeError, httpx.HTTPError):
        try:
            return response.text
        except (UnicodeDecodeError, RuntimeError, httpx.HTTPError):
            return None


def _bounded(body: Any) -> Any:
    """An error body the attempt report can carry: an object or list as it is
    (when small), else the start of its text."""
    if body is None or (isinstance(body, dict | list) and len(repr(body)) <= ERROR_CHARS):
        return plain(body)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return str(plain(body))[:ERROR_CHARS]
