"""One attempt of a decision, as a gateway reports it.

A decision may take several attempts: a 429 on the primary, then a fallback
that serves. Each is reported once under its ``attempt_id``: it is priced if
it has usage (a failed attempt usually has none, and costs nothing), its cost
is settled once, and what it says of the deployment (an error class and its
reset, latency, rate-limit headers) moves that deployment's signals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from modelrouter.feedback.classify import ErrorClass
from modelrouter.feedback.ratelimits import RateLimitHeaders
from modelrouter.pricing.usage import Usage

__all__ = ["Attempt", "speed_of"]

_MS = Decimal(1000)


@dataclass(frozen=True, slots=True)
class Attempt:
    deployment: str
    error_class: ErrorClass | None = None  # None: it served
    attempt_id: str = "outcome"
    usage: Usage | None = None
    # Whether the usage tells how long a whole reply is (a cut-off stream does not).
    teaches: bool = True
    latency_ms: Decimal | None = None
    ttft_ms: Decimal | None = None
    output_tokens_per_s: Decimal | None = None
    rate_limits: RateLimitHeaders | None = None
    # From the error body (Gemini's RetryInfo), beside what the headers say.
    reset_after_s: Decimal | None = None
    # The last attempt of the decision: its reservation is released. By default
    # a served attempt is the last, and a failed one is not.
    final: bool | None = None

    @property
    def ok(self) -> bool:
        return self.error_class is None

    @property
    def is_final(self) -> bool:
        return self.ok if self.final is None else self.final

    def speed(self) -> Decimal | None:
        """Output tokens per second: as reported, or from the usage and the
        time between the first token and the end."""
        if self.output_tokens_per_s is not None:
            return self.output_tokens_per_s
        return speed_of(self.usage, self.latency_ms, self.ttft_ms)


def speed_of(
    usage: Usage | None, latency_ms: Decimal | None, ttft_ms: Decimal | None
) -> Decimal | None:
    if usage is None or latency_ms is None or ttft_ms is None or usage.output_tokens <= 1:
        return None
    streaming_ms = latency_ms - ttft_ms
    if streaming_ms <= 0:
        return None
    return Decimal(usage.output_tokens) * _MS / streaming_ms
