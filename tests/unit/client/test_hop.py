"""What a hop's call returns or raises, read as an attempt with the feedback
loop's own error classes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from modelrouter.catalog.model import ApiShape, Endpoint
from modelrouter.client import Hop, ProviderError, Reply
from modelrouter.client.hop import ERROR_CHARS, observe
from modelrouter.feedback.classify import ErrorClass
from modelrouter.pricing.usage import Usage
from modelrouter.types import Candidate, CostEstimate

ESTIMATE = CostEstimate(100, 20, 50, Decimal("0.001"), Decimal("0.002"), "default")
HOP = Hop.of(
    "dec_" + "0" * 24,
    Candidate(
        "openai/gpt-4o",
        "openai",
        "gpt-4o",
        ESTIMATE,
        None,
        None,
        "gpt-4o",
        Endpoint(api_base="https://api.openai.com/v1", api_shape=ApiShape.OPENAI_CHAT),
    ),
    0,
)
COMPLETION = {
    "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 90, "completion_tokens": 12},
}
RATE_LIMITED = {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}


def _response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", "https://api.openai.com/v1/chat/completions")
    return httpx.Response(status, json=body, headers=headers, request=request)


def test_a_hop_carries_its_endpoint() -> None:
    assert HOP.upstream_model == "gpt-4o"  # the model id when the endpoint names none
    assert HOP.api_base == "https://api.openai.com/v1"
    assert HOP.usage_api == "openai-chat"


@pytest.mark.parametrize(
    "returned",
    [COMPLETION, _response(200, COMPLETION), Reply(COMPLETION)],
    ids=["json", "httpx", "reply"],
)
def test_a_served_answer_is_read_with_its_usage(returned: Any) -> None:
    observed = observe(HOP, returned=returned)
    assert observed.ok
    assert observed.usage == Usage(input_tokens=90, output_tokens=12)
    assert observed.response is returned or observed.response == COMPLETION


def test_an_sdk_object_is_read_through_model_dump() -> None:
    class Completion:
        def model_dump(self, mode: str = "python") -> dict[str, Any]:
            return COMPLETION

    answer = Completion()
    observed = observe(HOP, returned=answer)
    assert observed.ok and observed.response is answer
    assert observed.usage == Usage(input_tokens=90, output_tokens=12)


def test_a_served_answer_without_usage_has_none() -> None:
    observed = observe(HOP, returned={"choices": []})
    assert observed.ok and observed.usage is None


def test_a_reply_may_give_its_usage_apart() -> None:
    observed = observe(HOP, returned=Reply("text", usage=Usage(input_tokens=5, output_tokens=1)))
    assert observed.ok and observed.usage == Usage(input_tokens=5, output_tokens=1)
    assert observed.response == "text"


@pytest.mark.parametrize(
    "raised",
    [
        ProviderError(429, RATE_LIMITED, {"retry-after": "30"}),
        httpx.HTTPStatusError(
            "429",
            request=httpx.Request("POST", "https://x"),
            response=_response(429, RATE_LIMITED, {"retry-after": "30"}),
        ),
    ],
    ids=["provider-error", "httpx"],
)
def test_a_raised_429_is_rate_limited_with_its_headers(raised: Exception) -> None:
    observed = observe(HOP, raised=raised)
    assert observed.error_class is ErrorClass.RATE_LIMITED
    assert observed.http_status == 429
    assert observed.headers == {"retry-after": "30"}
    assert observed.error == RATE_LIMITED
    assert observed.exception is raised


def test_a_returned_error_answer_is_a_failure() -> None:
    observed = observe(HOP, returned=_response(503, {"error": {"message": "overloaded"}}))
    assert observed.error_class in {ErrorClass.OVERLOADED, ErrorClass.SERVER_ERROR}


def test_an_sdk_status_error_is_read_by_duck_type() -> None:
    class APIStatusError(Exception):
        status_code = 400
        response = _response(400, {})

        def __init__(self) -> None:
            super().__init__("400")
            self.body = {"message": "maximum context length is 128000 tokens"}

    observed = observe(HOP, raised=APIStatusError())
    assert observed.error_class is ErrorClass.CONTEXT_WINDOW_EXCEEDED


def test_a_bad_request_is_a_bad_request() -> None:
    error = ProviderError(400, {"error": {"message": "bad role", "type": "invalid_request_error"}})
    assert observe(HOP, raised=error).error_class is ErrorClass.BAD_REQUEST


def test_a_safety_block_in_a_200_is_content_policy() -> None:
    blocked = {"choices": [{"index": 0, "message": {}, "finish_reason": "content_filter"}]}
    assert observe(HOP, returned=blocked).error_class is ErrorClass.CONTENT_POLICY


@pytest.mark.parametrize(
    "raised",
    [
        httpx.ReadTimeout("slow"),
        TimeoutError(),
        type("APITimeoutError", (Exception,), {})("sdk"),
    ],
    ids=["httpx", "builtin", "sdk-named"],
)
def test_timeouts_are_timeouts(raised: Exception) -> None:
    assert observe(HOP, raised=raised).error_class is ErrorClass.TIMEOUT


@pytest.mark.parametrize(
    "raised",
    [
        httpx.ConnectError("refused"),
        ConnectionResetError(),
        type("APIConnectionError", (Exception,), {})(),
    ],
    ids=["httpx", "builtin", "sdk-named"],
)
def test_a_connection_failure_is_a_server_error(raised: Exception) -> None:
    assert observe(HOP, raised=raised).error_class is ErrorClass.SERVER_ERROR


def test_any_other_exception_is_the_callers_and_propagates() -> None:
    with pytest.raises(httpx.LocalProtocolError):  # a request httpx could not send
        observe(HOP, raised=httpx.LocalProtocolError("Illegal header value"))
    with pytest.raises(KeyError):
        observe(HOP, raised=KeyError("choices"))
    with pytest.raises(KeyboardInterrupt):
        observe(HOP, raised=KeyboardInterrupt())


def test_a_large_error_body_and_its_headers_are_bounded() -> None:
    headers = {"x-ratelimit-remaining-requests": "0", "set-cookie": "secret", "x-request-id": "1"}
    observed = observe(HOP, raised=ProviderError(500, "x" * 100_000, headers))
    assert len(observed.error) == ERROR_CHARS
    assert observed.headers == {"x-ratelimit-remaining-requests": "0"}
