"""Budgets: reserve the worst case at routing time, settle the actual cost after.

A budget limits spend in its current window: a calendar ``period`` (``day``,
``week`` or ``month`` in a time zone) or a ``duration`` (``30s`` .. ``366d``,
aligned to the Unix epoch, or ``Nmo``: N calendar months). Its ``scope`` says
whose spend counts, always within one tenant:

- whole-request scopes, ``tenant`` and ``key`` (the caller's API key): every
  hop of a plan must have a worst-case cost within what remains;
- hop scopes, ``provider``, ``model`` (a model id, or the alias the hop was
  resolved through), ``deployment`` and ``tag``: a hop they cover must fit
  what remains in each of them, or it is rejected (``budget_exceeded``).

A budget without ``match`` gives every key, provider, model... a window of
its own; the ledger key carries the scope and the value (a tenant window's key
is the window alone, as it always was, so stored ledgers carry on).

At routing time the router reads spent and reserved money; each window then
reserves the costliest worst case among the plan's hops it covers, all windows
in one atomic step, so concurrent requests can never commit more than a limit
between them. An attempt's actual cost settles in the windows that cover the
deployment that served it and the whole-request windows, once. A reservation
with no outcome expires.

A ledger implements ``BudgetStore``: ``signals.budgets.MemoryBudgetStore``
in process, ``store.budgets.SqlBudgetStore`` in the database,
``signals.redis_budgets.RedisBudgetStore`` in Redis.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from modelrouter.errors import BudgetExceeded
from modelrouter.money import ZERO, exact_str
from modelrouter.policy.document import Budget, duration_seconds, matches_any, parse_duration
from modelrouter.types import Strategy

__all__ = [
    "DEFAULT_RESERVATION_TTL",
    "HOP_SCOPES",
    "REQUEST_SCOPES",
    "BudgetContext",
    "BudgetStore",
    "BudgetWindow",
    "HopBudget",
    "WindowState",
    "applies",
    "budget_context",
    "budget_name",
    "covers",
    "exceeded",
    "hop_values",
    "key_value",
    "scope_of_key",
    "settlement_id",
    "window_end",
    "window_for",
]

DEFAULT_RESERVATION_TTL = timedelta(minutes=15)
REQUEST_SCOPES = ("tenant", "key")
HOP_SCOPES = ("provider", "model", "deployment", "tag")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WORDS = {"day": "daily", "week": "weekly", "month": "monthly"}
# A ledger key is at most 120 characters (the SQL column): a longer value is
# named by its digest.
_VALUE_CHARS = 40
_SCOPE_END = "|"


@dataclass(frozen=True, slots=True)
class BudgetWindow:
    """One budget's current window: the ledger ``key`` it shares with every
    budget of the same scope, value and window, and the limit this budget sets
    on it. ``period`` is ``day``/``week``/``month`` or the duration's text."""

    key: str
    period: str
    limit_usd: Decimal
    soft_limit_pct: Decimal | None
    soft_action: Any
    resets_at: datetime
    name: str = ""
    scope: str = "tenant"
    # The key id, provider, model, deployment or tag this window counts.
    value: str | None = None
    # A name the policy gave (refusals of unnamed tenant budgets read as before).
    named: bool = False
    starts_at: datetime | None = None

    @property
    def label(self) -> str:
        """How notes and refusals name the window."""
        if self.scope == "tenant" and not self.named:
            return self.period
        of = "" if self.value is None else f" ({self.scope} {self.value})"
        return f"{self.name!r}{of}"


def budget_name(budget: Budget) -> str:
    """The name a budget goes by: its own, or one made of its scope, match and
    window (``provider openai daily``, ``per-key 1h``, ``tenant monthly``)."""
    if budget.name is not None:
        return budget.name
    when = _WORDS[budget.period] if budget.period is not None else str(budget.duration)
    if budget.scope == "tenant" and budget.match is None:
        return f"tenant {when}"
    if budget.match is None:
        return f"per-{budget.scope} {when}"
    return f"{budget.scope} {budget.match} {when}"


_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _escaped(value: str) -> str:
    """Percent-encoded UTF-8 (no ``=``, ``|`` or ``:`` is left to misread)."""
    return "".join(
        c if c in _PLAIN else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in value
    )


def _unescaped(text: str) -> str:
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] == "%":
            out.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            out += text[i].encode("utf-8")
            i += 1
    return out.decode("utf-8")


def _scope_part(scope: str, value: str | None) -> str:
    if scope == "tenant" or value is None:
        return ""
    text = _escaped(value)
    if len(text) > _VALUE_CHARS:
        text = "#" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:24]
    return f"{scope}={text}{_SCOPE_END}"


def scope_of_key(key: str) -> tuple[str, str] | None:
    """A scoped ledger key's (scope, encoded value); None for a tenant window."""
    head, sep, _ = key.partition(_SCOPE_END)
    if not sep or "=" not in head:
        return None
    scope, _, text = head.partition("=")
    return scope, text


def key_value(key: str) -> str | None:
    """The value a scoped key counts, when it is spelled out (not a digest)."""
    found = scope_of_key(key)
    if found is None or found[1].startswith("#"):
        return None
    return _unescaped(found[1])


def _months(at: datetime, count: int) -> tuple[datetime, datetime]:
    index = (at.year - 1970) * 12 + at.month - 1
    first = index - index % count
    zone = at.tzinfo

    def month(i: int) -> datetime:
        return datetime(1970 + i // 12, i % 12 + 1, 1, tzinfo=zone)

    return month(first), month(first + count)


def _calendar(period: str, zone: ZoneInfo, at: datetime) -> tuple[datetime, datetime]:
    local = at.astimezone(zone)
    start_day = local.date()
    if period == "week":
        start_day -= timedelta(days=local.weekday())
    elif period == "month":
        start_day = start_day.replace(day=1)
    if period == "day":
        end_day = start_day + timedelta(days=1)
    elif period == "week":
        end_day = start_day + timedelta(days=7)
    else:
        end_day = (start_day.replace(day=28) + timedelta(days=4)).replace(day=1)
    start = datetime.combine(start_day, time(), tzinfo=zone)
    return start, datetime.combine(end_day, time(), tzinfo=zone)


def _fixed(seconds: int, at: datetime) -> tuple[datetime, datetime]:
    # Integer microseconds since the epoch: exact, the same on every replica.
    micros = (at - _EPOCH) // timedelta(microseconds=1)
    length = seconds * 1_000_000
    start = _EPOCH + timedelta(microseconds=micros - micros % length)
    return start, start + timedelta(seconds=seconds)


def _span(budget: Budget, at: datetime) -> tuple[str, datetime, datetime]:
    """The window's key (without scope), start and end."""
    zone = ZoneInfo(budget.timezone)
    if budget.period is not None:
        start, end = _calendar(budget.period, zone, at)
        return f"{budget.period}@{budget.timezone}:{start.isoformat()}", start, end
    assert budget.duration is not None
    count, unit = parse_duration(budget.duration)
    if unit == "mo":
        start, end = _months(at.astimezone(zone), count)
        # One calendar month is the ``month`` period's window: they share it.
        kind = "month" if count == 1 else f"{count}mo"
        return f"{kind}@{budget.timezone}:{start.isoformat()}", start, end
    seconds = duration_seconds(count, unit)
    start, end = _fixed(seconds, at)
    return f"{seconds}s:{start.isoformat()}", start, end


def window_for(budget: Budget, at: datetime, value: str | None = None) -> BudgetWindow:
    """The window of ``budget`` that holds ``at``; ``value`` is the key id,
    provider, model, deployment or tag it counts (None for the tenant's)."""
    key, start, end = _span(budget, at)
    return BudgetWindow(
        key=_scope_part(budget.scope, value) + key,
        period=budget.period if budget.period is not None else str(budget.duration),
        limit_usd=budget.limit_usd,
        soft_limit_pct=budget.soft_limit_pct,
        soft_action=budget.soft_action,
        resets_at=end,
        name=budget_name(budget),
        scope=budget.scope,
        value=None if budget.scope == "tenant" else value,
        named=budget.name is not None,
        starts_at=start,
    )


def window_end(key: str) -> datetime | None:
    """When the window a ledger key names resets (None: not a key of ours)."""
    body = key.partition(_SCOPE_END)[2] if scope_of_key(key) is not None else key
    kind, sep, start_text = body.partition(":")
    if not sep:
        return None
    try:
        start = datetime.fromisoformat(start_text)
        if kind.endswith("s") and kind[:-1].isdigit():
            return start + timedelta(seconds=int(kind[:-1]))
        period, _, zone_name = kind.partition("@")
        zone = ZoneInfo(zone_name)
        if period in ("day", "week", "month"):
            return _calendar(period, zone, start)[1]
        if period.endswith("mo") and period[:-2].isdigit():
            count = int(period[:-2])
            local = start.astimezone(zone)
            index = (local.year - 1970) * 12 + local.month - 1 + count
            return datetime(1970 + index // 12, index % 12 + 1, 1, tzinfo=zone)
    except (ValueError, KeyError):
        return None
    return None


def hop_values(
    scope: str,
    *,
    deployment: str,
    provider: str,
    model: str,
    tags: Iterable[str] = (),
    via: str | None = None,
) -> tuple[str, ...]:
    """What a hop is, in one hop scope: its provider, its model id and the
    alias it was resolved through, its deployment id, or each of its tags."""
    if scope == "provider":
        return (provider,)
    if scope == "deployment":
        return (deployment,)
    if scope == "tag":
        return tuple(dict.fromkeys(tags))
    if scope == "model":
        # A name that pins the model or the deployment is not another name for it.
        pins = (model, deployment, f"{provider}/{model}")
        return (model,) if via is None or via in pins else (model, via)
    return ()


def applies(budget: Budget, value: str) -> bool:
    """Whether a budget's ``match`` (a glob; absent: everything) takes ``value``."""
    return budget.match is None or matches_any(value, (budget.match,))


def covers(
    key: str,
    *,
    deployment: str,
    provider: str,
    model: str,
    tags: Iterable[str] = (),
    via: str | None = None,
) -> bool:
    """Whether the ledger window ``key`` counts an attempt served by this
    deployment: the whole-request windows always, a hop window when it names
    one of the deployment's values."""
    found = scope_of_key(key)
    if found is None or found[0] in REQUEST_SCOPES:
        return True
    scope = found[0]
    values = hop_values(
        scope, deployment=deployment, provider=provider, model=model, tags=tags, via=via
    )
    head = key.partition(_SCOPE_END)[0] + _SCOPE_END
    return any(_scope_part(scope, value) == head for value in values)


@dataclass(frozen=True, slots=True)
class WindowState:
    spent: Decimal
    reserved: Decimal


def exceeded(
    tenant: str, window: BudgetWindow, state: WindowState, requested: Decimal
) -> BudgetExceeded:
    """The error a full window answers, with every figure behind it."""
    return BudgetExceeded(
        tenant=tenant,
        period=window.period,
        limit=window.limit_usd,
        spent=state.spent,
        reserved=state.reserved,
        requested=requested,
        resets_at=window.resets_at,
        budget=window.name or None,
        scope=window.scope,
        matched=window.value,
        named=window.named,
    )


class BudgetStore(Protocol):
    def state(self, tenant: str, keys: Sequence[str], now: datetime) -> list[WindowState]: ...

    def reserve(
        self,
        tenant: str,
        windows: Sequence[BudgetWindow],
        amount: Decimal,
        reservation_id: str,
        expires_at: datetime,
        now: datetime,
        *,
        amounts: Sequence[Decimal] | None = None,
    ) -> None:
        """Reserve ``amount`` in every window (or ``amounts[i]`` in
        ``windows[i]``), or raise ``BudgetExceeded`` without reserving anything."""

    def settle(
        self,
        tenant: str,
        keys: Sequence[str],
        reservation_id: str,
        actual: Decimal,
        *,
        release: str | None = None,
    ) -> bool:
        """Add ``actual`` to spend and drop the reservation. Idempotent: False
        when this reservation was settled before (nothing changes). An id with
        no reservation (an attempt's ``settlement_id``) is settled once all
        the same, in the windows ``keys`` names. ``release`` drops that
        reservation in the same step (the decision's, when its last attempt
        settles), so spend and reservation never count one cost twice."""

    def release(self, tenant: str, reservation_id: str) -> bool:
        """Drop a reservation without adding to spend (its attempts settled
        their own costs). False when it was not held."""


def settlement_id(decision_id: str, attempt_id: str) -> str:
    """The id one attempt's cost is settled under: each attempt once."""
    digest = hashlib.sha256(f"{decision_id}\x00{attempt_id}".encode()).hexdigest()
    return "att_" + digest[:24]


@dataclass(frozen=True, slots=True)
class HopBudget:
    """A hop-scoped window as this decision read it: the hops it covers must
    each fit what remains in it."""

    key: str
    name: str
    scope: str
    value: str
    limit_usd: Decimal
    spent_usd: Decimal
    reserved_usd: Decimal
    resets_at: str
    deployments: tuple[str, ...]

    @property
    def remaining_usd(self) -> Decimal:
        return self.limit_usd - self.spent_usd - self.reserved_usd

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "scope": self.scope,
            "value": self.value,
            "limit_usd": exact_str(self.limit_usd),
            "spent_usd": exact_str(self.spent_usd),
            "reserved_usd": exact_str(self.reserved_usd),
            "resets_at": self.resets_at,
            "deployments": list(self.deployments),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> HopBudget:
        return cls(
            key=raw["key"],
            name=raw["name"],
            scope=raw["scope"],
            value=raw["value"],
            limit_usd=Decimal(raw["limit_usd"]),
            spent_usd=Decimal(raw["spent_usd"]),
            reserved_usd=Decimal(raw["reserved_usd"]),
            resets_at=raw["resets_at"],
            deployments=tuple(raw["deployments"]),
        )


@dataclass(frozen=True, slots=True)
class BudgetContext:
    """What the budgets allowed this decision: recorded in its snapshot, so a
    replay sees the same limits whatever has been spent since. ``keys`` and
    ``remaining_usd`` are the whole-request windows' (None: there are none);
    ``hops`` the hop-scoped windows of the candidates."""

    tenant: str
    keys: tuple[str, ...]
    remaining_usd: Decimal | None
    soft_strategy: Strategy | None = None
    deny_models: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    hops: tuple[HopBudget, ...] = ()

    def covered(self, deployment: str) -> tuple[HopBudget, ...]:
        return tuple(h for h in self.hops if deployment in h.deployments)

    def plan_keys(self, deployments: Iterable[str]) -> tuple[str, ...]:
        """The windows a plan over these hops holds money in."""
        served = set(deployments)
        hops = (h.key for h in self.hops if served.intersection(h.deployments))
        return tuple(dict.fromkeys((*self.keys, *hops)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "tenant": self.tenant,
            "keys": list(self.keys),
            "remaining_usd": None if self.remaining_usd is None else exact_str(self.remaining_usd),
            "soft_strategy": None if self.soft_strategy is None else self.soft_strategy.value,
            "deny_models": list(self.deny_models),
            "notes": list(self.notes),
        }
        if self.hops:
            out["hops"] = [hop.to_dict() for hop in self.hops]
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BudgetContext:
        soft = raw.get("soft_strategy")
        remaining = raw.get("remaining_usd")
        return cls(
            tenant=raw["tenant"],
            keys=tuple(raw["keys"]),
            remaining_usd=None if remaining is None else Decimal(remaining),
            soft_strategy=None if soft is None else Strategy(soft),
            deny_models=tuple(raw.get("deny_models", ())),
            notes=tuple(raw.get("notes", ())),
            hops=tuple(HopBudget.from_dict(h) for h in raw.get("hops", ())),
        )


def budget_context(
    tenant: str,
    windows: Sequence[BudgetWindow],
    states: Sequence[WindowState],
    hops: Sequence[tuple[BudgetWindow, tuple[str, ...]]] = (),
    hop_states: Sequence[WindowState] = (),
) -> BudgetContext:
    """Hard limits of whole-request windows raise ``BudgetExceeded`` (a hop
    window only rejects the hops it covers); soft limits choose their action."""
    remaining: Decimal | None = None
    soft_strategy: Strategy | None = None
    deny: list[str] = []
    notes: list[str] = []
    hop_budgets: list[HopBudget] = []
    every: list[tuple[BudgetWindow, WindowState, tuple[str, ...] | None]] = [
        (w, s, None) for w, s in zip(windows, states, strict=True)
    ]
    every += [(w, s, cover) for (w, cover), s in zip(hops, hop_states, strict=True)]
    for window, state, cover in every:
        committed = state.spent + state.reserved
        if cover is None:
            if committed >= window.limit_usd:
                raise exceeded(tenant, window, state, ZERO)
            left = window.limit_usd - committed
            remaining = left if remaining is None else min(remaining, left)
        else:
            hop_budgets.append(
                HopBudget(
                    key=window.key,
                    name=window.name,
                    scope=window.scope,
                    value=window.value or "",
                    limit_usd=window.limit_usd,
                    spent_usd=state.spent,
                    reserved_usd=state.reserved,
                    resets_at=window.resets_at.isoformat(),
                    deployments=cover,
                )
            )
        pct = window.soft_limit_pct
        if pct is not None and committed * 100 >= window.limit_usd * pct:
            action = window.soft_action
            if action == "cheapest":
                soft_strategy = Strategy.CHEAPEST
            elif isinstance(action, dict):
                deny += action.get("deny_models", [])
            notes.append(
                f"{window.label} budget past its soft limit ({exact_str(pct)} % of "
                f"{exact_str(window.limit_usd)} USD): {action or 'no action'}"
            )
    return BudgetContext(
        tenant=tenant,
        keys=tuple(dict.fromkeys(w.key for w in windows)),
        remaining_usd=remaining,
        soft_strategy=soft_strategy,
        deny_models=tuple(dict.fromkeys(deny)),
        notes=tuple(notes),
        hops=tuple(hop_budgets),
    )
