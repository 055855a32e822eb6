"""Provider error classification (tests/fixtures/provider_errors/*.json).

Each fixture is one answer as a provider sends it, written from the provider's
documented error format: status, headers and body, with the class a router
should act on and the retry delay the body carries.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrouter.feedback.classify import (
    HEALTH_CLASSES,
    MESSAGE_CHARS,
    ErrorClass,
    ProviderError,
    classify,
)
from modelrouter.feedback.ratelimits import MAX_DURATION_S
from modelrouter.money import exact_str

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "provider_errors"
CASES = sorted(FIXTURES.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def test_there_are_enough_cases_for_every_provider() -> None:
    assert len(CASES) >= 35
    names = [path.stem for path in CASES]
    for provider in ("openai", "azure", "anthropic", "gemini", "vertex", "bedrock", "none"):
        assert sum(name.startswith(provider) for name in names) >= 3, provider


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_fixture(path: Path) -> None:
    case = load(path)
    got = classify(case["status"], case["body"], headers=case["headers"], provider=case["provider"])
    expect = case["expect"]
    assert got.error_class == ErrorClass(expect["error_class"])
    reset = None if got.reset_after_s is None else exact_str(got.reset_after_s)
    assert reset == expect["reset_after_s"]
    assert ("no answer" if case["status"] is None else str(case["status"])) in got.detail


def test_fixtures_cover_every_class() -> None:
    seen = {load(path)["expect"]["error_class"] for path in CASES}
    assert seen == {error_class.value for error_class in ErrorClass}


def test_health_classes_are_the_deployments_fault() -> None:
    assert {
        ErrorClass.CONTEXT_WINDOW_EXCEEDED,
        ErrorClass.CONTENT_POLICY,
        ErrorClass.BAD_REQUEST,
    }.isdisjoint(HEALTH_CLASSES)
    assert len(HEALTH_CLASSES) == 6


ANTHROPIC_OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "x"}}


@pytest.mark.parametrize(
    "body",
    [
        ANTHROPIC_OVERLOADED,
        json.dumps(ANTHROPIC_OVERLOADED),
        json.dumps(ANTHROPIC_OVERLOADED).encode(),
        bytearray(json.dumps(ANTHROPIC_OVERLOADED).encode()),
    ],
    ids=["parsed", "text", "bytes", "bytearray"],
)
def test_a_body_is_read_however_it_arrives(body: object) -> None:
    assert classify(529, body).error_class is ErrorClass.OVERLOADED


def test_invalid_json_is_read_as_text() -> None:
    got = classify(400, '{"error": {"message": "prompt is too long"')
    assert got.error_class is ErrorClass.CONTEXT_WINDOW_EXCEEDED
    assert got.detail.startswith("unknown 400: {")


def test_a_json_string_body_is_its_text() -> None:
    assert classify(None, '"Connection reset by peer"').error_class is ErrorClass.SERVER_ERROR


def test_the_hint_does_not_override_the_shape() -> None:
    gemini = {
        "error": {"code": 429, "message": "Resource exhausted.", "status": "RESOURCE_EXHAUSTED"}
    }
    for provider in (None, "openai", "anthropic", "bedrock", "gemini", "someone-else"):
        assert classify(429, gemini, provider=provider).error_class is ErrorClass.RATE_LIMITED


def test_the_bedrock_hint_reads_a_bare_message_with_bedrock_wording() -> None:
    body = {"message": "The maximum tokens you requested exceeds the model limit of 4096"}
    hinted = classify(400, body, provider="bedrock")
    assert hinted.error_class is ErrorClass.CONTEXT_WINDOW_EXCEEDED
    assert classify(400, body).error_class is ErrorClass.BAD_REQUEST


def test_header_names_are_case_insensitive() -> None:
    headers = {"X-Amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/coral/"}
    assert (
        classify(400, {"message": "slow"}, headers=headers).error_class is ErrorClass.RATE_LIMITED
    )


def test_google_quota_ids_decide_over_the_message() -> None:
    """Gemini's per-minute 429 says "check your plan and billing details" too."""

    def body(quota_id: str) -> dict[str, Any]:
        failure = {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [{"quotaId": quota_id}],
        }
        message = "You exceeded your current quota, please check your plan and billing details."
        return {
            "error": {
                "code": 429,
                "message": message,
                "status": "RESOURCE_EXHAUSTED",
                "details": [failure],
            }
        }

    per_minute = classify(429, body("GenerateRequestsPerMinutePerProjectPerModel-FreeTier"))
    per_day = classify(429, body("GenerateRequestsPerDayPerProjectPerModel-FreeTier"))
    assert per_minute.error_class is ErrorClass.RATE_LIMITED
    assert per_day.error_class is ErrorClass.QUOTA_EXHAUSTED


@pytest.mark.parametrize(
    ("delay", "seconds"),
    [
        ("30s", "30"),
        ("1.5s", "1.5"),
        ("0.250s", "0.25"),
        ("0s", "0"),
        ("-1s", None),
        ("soon", None),
    ],
)
def test_retry_delay(delay: str, seconds: str | None) -> None:
    retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}
    body = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [retry]}}
    got = classify(429, body).reset_after_s
    assert (None if got is None else exact_str(got)) == seconds


def test_a_stream_error_without_status_takes_the_bodys_code() -> None:
    body = [
        {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    ]
    assert classify(None, body).error_class is ErrorClass.OVERLOADED
    assert classify(None, {"error": {"code": 429, "message": "Slow"}}).error_class is (
        ErrorClass.RATE_LIMITED
    )


def test_a_success_is_not_an_error() -> None:
    got = classify(
        200, {"id": "msg_1", "content": [{"type": "text", "text": "prompt is too long"}]}
    )
    assert got == ProviderError(ErrorClass.BAD_REQUEST, None, "unknown 200: no error in the answer")
    assert classify(204).detail == "unknown 204: no error in the answer"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, ErrorClass.RATE_LIMITED),
        (401, ErrorClass.AUTH_ERROR),
        (403, ErrorClass.AUTH_ERROR),
        (408, ErrorClass.TIMEOUT),
        (504, ErrorClass.TIMEOUT),
        (503, ErrorClass.OVERLOADED),
        (529, ErrorClass.OVERLOADED),
        (500, ErrorClass.SERVER_ERROR),
        (599, ErrorClass.SERVER_ERROR),
        (413, ErrorClass.CONTEXT_WINDOW_EXCEEDED),
        (400, ErrorClass.BAD_REQUEST),
        (404, ErrorClass.BAD_REQUEST),
        (302, ErrorClass.SERVER_ERROR),
        (0, ErrorClass.SERVER_ERROR),
        (-7, ErrorClass.SERVER_ERROR),
        (10**30, ErrorClass.SERVER_ERROR),
    ],
)
def test_an_unknown_shape_goes_by_status(status: int, expected: ErrorClass) -> None:
    assert classify(status, "something went wrong").error_class is expected


def test_the_detail_is_short_however_long_the_message() -> None:
    message = "x" * 1_000_000
    got = classify(400, {"error": {"message": message, "type": "invalid_request_error"}})
    assert got.error_class is ErrorClass.BAD_REQUEST
    assert len(got.detail) < 300


def test_only_the_start_of_a_long_message_is_read() -> None:
    late = "a" * MESSAGE_CHARS + " prompt is too long"
    assert classify(400, {"message": late}).error_class is ErrorClass.BAD_REQUEST
    assert classify(400, {"message": late[-100:]}).error_class is (
        ErrorClass.CONTEXT_WINDOW_EXCEEDED
    )


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000,
        "[" * 100_000 + "]" * 100_000,
        "1" * 5_000,  # past Python's limit on the digits of an int read from text
        b"\xff\xfe\x00 not utf-8",
        "x" * 10_000_000,
        {
            "error": {
                "details": [
                    {"@type": 7},
                    None,
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": {}},
                ]
            }
        },
        {"error": {"code": True, "status": 10**5000, "message": ["not", "text"]}},
        {1: 2, None: "x"},
        [[[{"error": "nested"}]]],
    ],
    ids=[
        "open-brackets",
        "deep",
        "long-int",
        "bad-utf8",
        "huge-text",
        "bad-details",
        "bad-types",
        "odd-keys",
        "nested-list",
    ],
)
def test_odd_bodies_do_not_raise(body: object) -> None:
    assert isinstance(classify(400, body).error_class, ErrorClass)


# Hypothesis: no input raises. The strategies lean on the keys the classifier
# reads, so the fuzz reaches past the first ``isinstance``.
KEYS = st.sampled_from(
    [
        "error",
        "type",
        "code",
        "status",
        "message",
        "details",
        "@type",
        "retryDelay",
        "violations",
        "quotaId",
        "reason",
        "innererror",
        "content_filter_result",
        "__type",
        "promptFeedback",
        "blockReason",
        "candidates",
        "choices",
        "finishReason",
        "finish_reason",
        "stopReason",
        "stop_reason",
        "throttlingException",
        "error_code",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "error",
            "RESOURCE_EXHAUSTED",
            "type.googleapis.com/google.rpc.RetryInfo",
            "type.googleapis.com/google.rpc.QuotaFailure",
            "30s",
            "SAFETY",
            "429",
            "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
            "ThrottlingException",
        ]
    )
)
JSONISH = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(KEYS | st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
BODIES = JSONISH | JSONISH.map(json.dumps) | st.binary(max_size=200)
HEADERS = st.dictionaries(
    st.sampled_from(["x-amzn-errortype", "X-Amzn-ErrorType", "retry-after"]) | st.text(max_size=20),
    st.text(max_size=80),
    max_size=4,
)
PROVIDERS = (
    st.none()
    | st.sampled_from(["openai", "azure", "anthropic", "gemini", "bedrock"])
    | (st.text(max_size=80))
)


@settings(max_examples=300, deadline=None)
@given(
    status=st.none()
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.sampled_from([429, 503]),
    body=BODIES,
    headers=st.none() | HEADERS,
    provider=PROVIDERS,
)
def test_never_raises(
    status: int | None, body: object, headers: dict[str, str] | None, provider: str | None
) -> None:
    got = classify(status, body, headers=headers, provider=provider)
    assert isinstance(got.error_class, ErrorClass)
    assert isinstance(got.detail, str) and len(got.detail) < 500
    reset = got.reset_after_s
    assert reset is None or (isinstance(reset, Decimal) and 0 <= reset <= MAX_DURATION_S)
