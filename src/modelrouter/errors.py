"""The exception tree. Every error has a stable ``code`` and structured fields.

::

    ModelRouterError            .code, .to_dict()
    +- InvalidInputError        bad input from outside; names the field
    |  +- CatalogError          a catalog source: source, entry, field
    |  `- PolicyError           a malformed policy document
    +- UnknownModelError        alias, model or pin not in the catalog (also LookupError)
    +- NoRouteError             .rejections: every candidate and why it fell
    +- BudgetExceeded           a budget (of any scope) cannot cover the request
    +- UnknownPriceError        a deployment without the price asked for (also LookupError)
    +- CatalogVersionError      a snapshot names a catalog version that is not at hand
    +- ReplayMismatchError      expected vs actual plan_hash, and the difference
    +- RequestIdReused          one request id sent again with another body
    `- BackendError             outer ring: a server or file behind the router failed
       +- StoreUnavailable      the database cannot be reached (retry later)
       `- StaleWrite            a write lost a race with another (re-read, retry)

``invalid_input_from`` is the one formatter of pydantic's validation errors:
the library, the CLI and the HTTP service all name a field the same way
(``messages[0].content[0].text``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from modelrouter.money import exact_str

if TYPE_CHECKING:
    from modelrouter.types import Rejection

__all__ = [
    "BackendError",
    "BudgetExceeded",
    "CatalogError",
    "CatalogVersionError",
    "InvalidInputError",
    "ModelRouterError",
    "NoRouteError",
    "PolicyError",
    "ReplayMismatchError",
    "RequestIdReused",
    "StaleWrite",
    "StoreUnavailable",
    "UnknownModelError",
    "UnknownPriceError",
    "field_path",
    "first_problem",
    "invalid_input_from",
]


class ModelRouterError(Exception):
    code = "modelrouter_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details()}


class InvalidInputError(ModelRouterError):
    code = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def details(self) -> dict[str, Any]:
        return {"field": self.field} if self.field else {}


class CatalogError(InvalidInputError):
    code = "invalid_catalog"

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        entry: str | None = None,
        field: str | None = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                f"source {source}" if source else "",
                f"entry {entry}" if entry else "",
                f"field {field}" if field else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message, field=field)
        self.source = source
        self.entry = entry

    def details(self) -> dict[str, Any]:
        return {
            key: value
            for key, value in (
                ("source", self.source),
                ("entry", self.entry),
                ("field", self.field),
            )
            if value
        }


class PolicyError(InvalidInputError):
    code = "invalid_policy"


class UnknownModelError(ModelRouterError, LookupError):
    code = "unknown_model"

    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"{name!r} is not an alias, model or provider/model in the catalog{hint}")
        self.name = name
        self.suggestions = tuple(suggestions)

    def details(self) -> dict[str, Any]:
        return {"name": self.name, "suggestions": list(self.suggestions)}


class NoRouteError(ModelRouterError):
    code = "no_route"

    def __init__(
        self, model: str, rejections: Sequence[Rejection], notes: Sequence[str] = ()
    ) -> None:
        by_deployment: dict[str, list[Rejection]] = {}
        for rejection in rejections:
            by_deployment.setdefault(rejection.deployment, []).append(rejection)
        lines = [f"no admissible deployment for {model!r}; {len(by_deployment)} candidates fell:"]
        for deployment, reasons in by_deployment.items():
            lines.append(f"  {deployment}:")
            lines += [f"    {r.code.value}: {r.message}" for r in reasons]
        self.reopens_at, first = _first_reopening(by_deployment)
        if self.reopens_at is not None:
            lines.insert(
                1,
                f"every candidate is cooling down (open circuit or no rate-limit headroom); "
                f"the first, {first}, can take requests again at {self.reopens_at}",
            )
        # How the name was read (a dated id, a slug...): the plan would have said it.
        lines += [f"note: {note}" for note in notes]
        super().__init__("\n".join(lines))
        self.model = model
        self.rejections = tuple(rejections)
        self.notes = tuple(notes)

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "rejections": [r.to_dict() for r in self.rejections],
        }
        if self.notes:
            out["notes"] = list(self.notes)
        if self.reopens_at is not None:
            out["reopens_at"] = self.reopens_at
        return out


# Rejections that pass with time, when they say when.
_TEMPORARY = frozenset({"circuit_open", "rate_limit_headroom"})


def _first_reopening(
    by_deployment: Mapping[str, Sequence[Rejection]],
) -> tuple[str | None, str | None]:
    """When every candidate fell only for reasons that pass with time: the
    earliest moment one of them is back, and which (else None, None)."""
    back: list[tuple[str, str]] = []
    for deployment, reasons in by_deployment.items():
        times = [r.resets_at for r in reasons if r.code.value in _TEMPORARY]
        if not reasons or len(times) != len(reasons) or None in times:
            return None, None
        back.append((max(t for t in times if t is not None), deployment))
    if not back:
        return None, None
    at, deployment = min(back)
    return at, deployment


class BudgetExceeded(ModelRouterError):
    """A budget cannot cover the request. ``budget`` names it, ``scope`` says
    whose spend it counts (tenant, key, provider, model, deployment or tag)
    and ``matched`` which one (the key id, the provider...; None for the
    tenant's own)."""

    code = "budget_exceeded"

    def __init__(
        self,
        *,
        tenant: str,
        period: str,
        limit: Decimal,
        spent: Decimal,
        reserved: Decimal,
        requested: Decimal,
        resets_at: datetime,
        rejections: Sequence[Rejection] = (),
        budget: str | None = None,
        scope: str = "tenant",
        matched: str | None = None,
        named: bool = False,
    ) -> None:
        need = f", and this request needs up to {exact_str(requested)}" if requested else ""
        figures = (
            f"limit {exact_str(limit)} USD, spent {exact_str(spent)}, reserved "
            f"{exact_str(reserved)}{need}; resets at {resets_at.isoformat()}"
        )
        if scope == "tenant" and not named:
            # An unnamed tenant budget reads as it always did.
            message = f"tenant {tenant!r} {period} budget: {figures}"
        else:
            of = "" if matched is None else f" for {scope} {matched}"
            message = f"budget {budget!r}{of} ({period}) of tenant {tenant!r}: {figures}"
        super().__init__(message)
        self.tenant = tenant
        self.period = period
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.requested = requested
        self.resets_at = resets_at
        self.budget = budget
        self.scope = scope
        self.matched = matched
        # When the budget is what fell every candidate: each hop and why.
        self.rejections = tuple(rejections)

    def details(self) -> dict[str, Any]:
        hops = {"rejections": [r.to_dict() for r in self.rejections]} if self.rejections else {}
        named = {} if self.budget is None else {"budget": self.budget}
        matched = {} if self.matched is None else {"matched": self.matched}
        return {
            **hops,
            "tenant": self.tenant,
            "period": self.period,
            "limit_usd": exact_str(self.limit),
            "spent_usd": exact_str(self.spent),
            "reserved_usd": exact_str(self.reserved),
            "requested_usd": exact_str(self.requested),
            "resets_at": self.resets_at.isoformat(),
            **named,
            "scope": self.scope,
            **matched,
        }


class UnknownPriceError(ModelRouterError, LookupError):
    code = "unknown_price"

    def __init__(self, deployment: str, unit: str, reason: str = "") -> None:
        extra = f" ({reason})" if reason else ""
        super().__init__(f"no {unit} price for deployment {deployment}{extra}")
        self.deployment = deployment
        self.unit = unit

    def details(self) -> dict[str, Any]:
        return {"deployment": self.deployment, "unit": self.unit}


class CatalogVersionError(ModelRouterError, LookupError):
    code = "catalog_version_unavailable"

    def __init__(self, wanted: str, have: str) -> None:
        super().__init__(
            f"the snapshot was routed on catalog {wanted}, but the catalog at hand is {have}"
        )
        self.wanted = wanted
        self.have = have

    def details(self) -> dict[str, Any]:
        return {"wanted": self.wanted, "have": self.have}


class ReplayMismatchError(ModelRouterError):
    code = "replay_mismatch"

    def __init__(self, expected: str, actual: str, differences: Sequence[str]) -> None:
        super().__init__(
            f"replay produced plan_hash {actual}, expected {expected}: " + "; ".join(differences)
        )
        self.expected = expected
        self.actual = actual
        self.differences = tuple(differences)

    def details(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "actual": self.actual,
            "differences": list(self.differences),
        }


class RequestIdReused(ModelRouterError):
    """A request id names one decision: sent again with the same body it is a
    retry (the same decision answers); with another body it is refused."""

    code = "request_id_reused"

    def __init__(self, request_id: str, decision_id: str) -> None:
        super().__init__(
            f"request_id {request_id!r} was already routed as decision {decision_id} with "
            "another body; a retry must send the same body, a new request a new request_id"
        )
        self.request_id = request_id
        self.decision_id = decision_id

    def details(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "decision_id": self.decision_id}


class BackendError(ModelRouterError):
    """A server or file behind the router failed (outer ring); drivers' own
    errors are converted to these at the boundary."""

    code = "backend_error"


class StoreUnavailable(BackendError):
    """The database cannot be reached; the caller may retry later."""

    code = "store_unavailable"


class StaleWrite(BackendError):
    """A write carried a revision that is no longer the newest."""

    code = "stale_write"

    def __init__(self, what: str, expected: int | None, current: int | None) -> None:
        super().__init__(
            f"{what} changed since it was read: expected revision {expected}, current {current}"
        )
        self.expected = expected
        self.current = current


# -- validation errors -------------------------------------------------------------


def field_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif parts:
            parts.append(f".{part}")
        else:
            parts.append(str(part))
    return "".join(parts)


def first_problem(
    errors: Iterable[Mapping[str, Any]], *, strip: tuple[str, ...] = ()
) -> tuple[str, str]:
    """(field path, message) of the first of pydantic's error details (from
    ``ValidationError.errors()`` or FastAPI's ``RequestValidationError.errors()``),
    with a count of the others. ``strip`` drops leading location parts that
    are not the caller's field names (FastAPI's ``body``)."""
    errors = [{**e, "loc": _strip(tuple(e.get("loc", ())), strip)} for e in errors]
    if not errors:
        return "(document)", "invalid"
    # Of a union's failed branches, the one that got deepest is the one that
    # matched the shape of the input; its error is the one worth reading.
    errors.sort(key=lambda e: (-len(_plain(e["loc"])), field_path(_plain(e["loc"]))))
    first = errors[0]
    loc = _plain(first["loc"])
    message = str(first.get("msg", "invalid"))
    kind = first.get("type")
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "missing":
        message = "required field is missing"
    elif kind == "json_invalid":
        # The location is a character offset into the body, not a field.
        error = (first.get("ctx") or {}).get("error", "invalid JSON")
        at = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        return "(document)", f"not valid JSON: {error}{at}"
    others = len({field_path(tuple(e["loc"])) for e in errors}) - 1
    if others > 0:
        message += f" (and {others} more problem{'s' if others > 1 else ''})"
    return field_path(loc) or "(document)", message


def _plain(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # Pydantic appends the union branch name (e.g. "decimal", "RateSpec") to locs.
    return tuple(part for part in loc if not _is_branch_tag(part))


def _is_branch_tag(part: int | str) -> bool:
    return isinstance(part, str) and (
        part in {"decimal", "int", "str", "float", "bool", "list", "dict", "none"}
        or part.endswith("Spec")
        or part.startswith(("function-", "tuple[", "list[", "dict[", UNION_TAG))
    )


# The prefix of the tags our discriminated unions name their branches with,
# so that the branch is never read as a field.
UNION_TAG = "union:"


def _strip(loc: tuple[int | str, ...], prefix: tuple[str, ...]) -> tuple[int | str, ...]:
    return loc[len(prefix) :] if prefix and loc[: len(prefix)] == prefix else loc


def invalid_input_from(
    exc: ValidationError, *, error: type[InvalidInputError] | None = None, source: str = ""
) -> InvalidInputError:
    """The library's error for a pydantic ``ValidationError``: names the field."""
    path, message = first_problem(exc.errors(include_url=False))
    where = f"{source}: " if source else ""
    return (error or InvalidInputError)(f"{where}{path}: {message}", field=path)
