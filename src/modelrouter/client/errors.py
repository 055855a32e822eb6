"""The service's error answers, raised as the library's error tree.

An error body is ``{"error": {"code", "message", <fields>}}``; ``error_from``
rebuilds the library's exception from it, fields and all, so that code written
against the in-process ``Router`` catches the same errors over HTTP::

    ModelRouterError
    +- InvalidInputError, CatalogError, PolicyError     422 invalid_input, ...
    +- UnknownModelError                                422 unknown_model
    +- NoRouteError          .rejections                422 no_route
    +- BudgetExceeded        .spent .limit .resets_at   402 budget_exceeded
    +- UnknownPriceError, CatalogVersionError, ReplayMismatchError, RequestIdReused
    +- HopsFailed            every attempt of a run failed, or one that must not be retried
    `- BackendError
       +- StoreUnavailable, StaleWrite
       `- ServiceError       any other answer (401, 403, 404, 429, 5xx): .status, .code
          `- ServiceUnavailable   503 or no connection, after the bounded retries

The message is always the service's own wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from modelrouter.errors import (
    BackendError,
    BudgetExceeded,
    CatalogError,
    CatalogVersionError,
    InvalidInputError,
    ModelRouterError,
    NoRouteError,
    PolicyError,
    ReplayMismatchError,
    RequestIdReused,
    StaleWrite,
    StoreUnavailable,
    UnknownModelError,
    UnknownPriceError,
)
from modelrouter.types import Rejection

if TYPE_CHECKING:
    from modelrouter.client.hop import AttemptSummary

__all__ = ["HopsFailed", "ServiceError", "ServiceUnavailable", "error_from"]


class ServiceError(BackendError):
    """An answer of the service that is not one of the library's errors: a
    missing or refused key (401, 403), an unknown decision (404), a busy
    replay (429), a failure of the service itself."""

    code = "service_error"

    def __init__(self, status: int, code: str, message: str, body: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code  # the service's code, e.g. "not_found"
        self.body = body

    def details(self) -> dict[str, Any]:
        return {"status": self.status}


class ServiceUnavailable(ServiceError):
    """The service kept answering 503 (or could not be reached) through every retry."""


class HopsFailed(ModelRouterError):
    """A run ended without a served attempt: every hop failed, or one failed
    with an error that another hop would repeat (a bad request). ``attempts``
    holds each attempt in order, ``last`` the last one; the exception the
    call raised, if any, is the ``__cause__``."""

    code = "hops_failed"

    def __init__(self, decision_id: str, attempts: Sequence[AttemptSummary]) -> None:
        tried = "; ".join(f"{a.deployment}: {a.status} ({a.detail})" for a in attempts)
        last = attempts[-1]
        why = (
            "it would fail on every hop"
            if last.status == "bad_request"
            else "no hop of the plan is left"
        )
        super().__init__(
            f"decision {decision_id}: {len(attempts)} attempt(s) failed and {why}: {tried}"
        )
        self.decision_id = decision_id
        self.attempts = tuple(attempts)
        self.last = last

    def details(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "attempts": [
                {"deployment": a.deployment, "status": a.status, "detail": a.detail}
                for a in self.attempts
            ],
        }


def _dec(fields: Mapping[str, Any], key: str) -> Decimal:
    return Decimal(str(fields.get(key, "0")))


def _rejections(fields: Mapping[str, Any]) -> tuple[Rejection, ...]:
    return tuple(Rejection.from_dict(r) for r in fields.get("rejections") or ())


def _budget(fields: Mapping[str, Any]) -> BudgetExceeded:
    return BudgetExceeded(
        tenant=str(fields.get("tenant", "")),
        period=str(fields.get("period", "")),
        limit=_dec(fields, "limit_usd"),
        spent=_dec(fields, "spent_usd"),
        reserved=_dec(fields, "reserved_usd"),
        requested=_dec(fields, "requested_usd"),
        resets_at=datetime.fromisoformat(str(fields["resets_at"])),
        rejections=_rejections(fields),
        budget=fields.get("budget"),
        scope=str(fields.get("scope", "tenant")),
        matched=fields.get("matched"),
        named=fields.get("budget") is not None,
    )


def _stale(fields: Mapping[str, Any]) -> StaleWrite:
    error = StaleWrite("the resource", None, None)
    error.expected, error.current = fields.get("expected"), fields.get("current")
    return error


_BUILDERS: dict[str, Callable[[Mapping[str, Any]], ModelRouterError]] = {
    "budget_exceeded": _budget,
    "no_route": lambda f: NoRouteError(
        str(f.get("model", "")), _rejections(f), [str(n) for n in f.get("notes", ())]
    ),
    "unknown_model": lambda f: UnknownModelError(str(f.get("name", "")), f.get("suggestions", ())),
    "invalid_input": lambda f: InvalidInputError("", field=f.get("field")),
    "invalid_catalog": lambda f: CatalogError(
        "", source=f.get("source"), entry=f.get("entry"), field=f.get("field")
    ),
    "invalid_policy": lambda f: PolicyError("", field=f.get("field")),
    "unknown_price": lambda f: UnknownPriceError(
        str(f.get("deployment", "")), str(f.get("unit", ""))
    ),
    "catalog_version_unavailable": lambda f: CatalogVersionError(
        str(f.get("wanted", "")), str(f.get("have", ""))
    ),
    "replay_mismatch": lambda f: ReplayMismatchError(
        str(f.get("expected", "")), str(f.get("actual", "")), f.get("differences", ())
    ),
    "request_id_reused": lambda f: RequestIdReused(
        str(f.get("request_id", "")), str(f.get("decision_id", ""))
    ),
    "store_unavailable": lambda f: StoreUnavailable(""),
    "stale_write": _stale,
}


def error_from(status: int, body: Any) -> ModelRouterError:
    """The library's exception for one error answer of the service."""
    fields: Mapping[str, Any] = {}
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        fields = body["error"]
    code = str(fields.get("code") or "http_error")
    message = str(fields.get("message") or body or f"HTTP {status}")
    builder = _BUILDERS.get(code)
    error: ModelRouterError | None = None
    if builder is not None:
        try:
            error = builder(fields)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            error = None  # a field the service did not send: say what it said
    if error is None:
        kind = ServiceUnavailable if status == 503 else ServiceError
        return kind(status, code, message, body)
    # The service's own wording, whatever the constructor would have said.
    error.message = message
    error.args = (message,)
    return error
