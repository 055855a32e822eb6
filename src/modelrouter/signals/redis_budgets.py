"""The budget ledger in Redis: shared by every router instance on one server,
with the semantics of ``store.budgets.SqlBudgetStore``.

Atomicity: each of ``reserve``, ``settle`` and ``release`` is one Lua script,
and Redis runs a script to the end before any other command. A reservation
checks every window and records itself in all of them in that one step, and a
settlement claims its id and adds the cost in one step, so concurrent
processes can neither commit more than a limit nor settle an id twice.

Exact money: Redis Lua has only doubles, so amounts never become Lua numbers.
They are stored as plain decimal strings ("0.000000123456789012") and the
scripts add and compare them digit by digit, after lining up the decimal
points. No unit is fixed: the router's costs reach 24 decimal places (rates of
up to 18 places times tokens, shifted by 10^-6), beyond any 10^-18 integer
unit, and a string sum stays exact at any scale.

Keys, all ``{prefix}:budget:{<tenant>}:...`` (the tenant is percent-encoded and
braced, so one tenant's keys share a cluster slot):

- ``held``: a hash of the unsettled reservations, id to JSON (amount, expiry
  in microseconds since the epoch, window keys and what each window holds).
- ``id:<id>``: what became of an id (held, settled or released) and its
  windows. Like the SQL tombstones it makes a repeat a no-op.
- ``spent:<window>``: the spend of one window.

Expiry follows the ``now`` the caller passes, never the server's clock. Every
key lives 40 days after its latest write (counted from a reservation's expiry);
a window's spend at least a day past the window's end (``policy.budgets.window_end``
reads it off the key), so old windows and tombstones leave on their own.

Differences from the SQL ledger: reservation ids are per tenant, not global,
and a reservation is dropped from ``held`` once a ``reserve`` sees it expired,
so a later ``state`` for an earlier ``now`` no longer counts it. It still
settles in its own windows, since its ``id:`` record keeps them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from modelrouter.errors import BackendError, StoreUnavailable
from modelrouter.policy.budgets import BudgetWindow, WindowState, exceeded, window_end

__all__ = ["RedisBudgetStore"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Longer than a month (31 days, and an hour at a DST change); longer windows keep
# their spend to a day past their end.
_KEEP = timedelta(days=40)

# Non-negative decimal strings, exact: aligned on the point, then added or
# compared as digit strings of one length.
_DECIMALS = """
local function align(a, b)
  local ai, af = string.match(a, '^(%d*)%.?(%d*)$')
  local bi, bf = string.match(b, '^(%d*)%.?(%d*)$')
  local il, fl = math.max(#ai, #bi), math.max(#af, #bf)
  ai = string.rep('0', il - #ai) .. ai .. af .. string.rep('0', fl - #af)
  bi = string.rep('0', il - #bi) .. bi .. bf .. string.rep('0', fl - #bf)
  return ai, bi, fl
end
local function add(a, b)
  local x, y, fl = align(a, b)
  local out, carry = {}, 0
  for i = #x, 1, -1 do
    local d = x:byte(i) + y:byte(i) - 96 + carry
    carry = math.floor(d / 10)
    out[i] = d % 10
  end
  local digits = (carry > 0 and tostring(carry) or '') .. table.concat(out)
  local whole = digits:sub(1, #digits - fl):gsub('^0+', '')
  local part = digits:sub(#digits - fl + 1):gsub('0+$', '')
  if whole == '' then whole = '0' end
  if part == '' then return whole end
  return whole .. '.' .. part
end
local function greater(a, b)
  local x, y = align(a, b)
  return x > y
end
local function keep(key, ttl)
  if redis.call('TTL', key) < ttl then redis.call('EXPIRE', key, ttl) end
end
-- What reservation r holds in its i-th window (before per-window amounts: r.a in each).
local function held_in(r, i)
  if r.m then return r.m[i] end
  return r.a
end
"""

# KEYS: held, id, spent of each distinct window. ARGV: id, now, amount (the
# most any window holds), expires, ttl, count n of windows, their n keys, the
# n amounts they hold, then (window index, limit) pairs.
_RESERVE = (
    _DECIMALS
    + """
local held, record = KEYS[1], KEYS[2]
if redis.call('EXISTS', record) == 1 then return {'held'} end
local now, amount, ttl, n = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[6])
local names, amounts, reserved = {}, {}, {}
for i = 1, n do
  names[i] = ARGV[6 + i]
  amounts[i] = ARGV[6 + n + i]
  reserved[names[i]] = '0'
end
local all = redis.call('HGETALL', held)
for j = 1, #all, 2 do
  local r = cjson.decode(all[j + 1])
  if tonumber(r.x) <= now then
    redis.call('HDEL', held, all[j])
  else
    for i, key in ipairs(r.k) do
      if reserved[key] then reserved[key] = add(reserved[key], held_in(r, i)) end
    end
  end
end
local position = 0
for j = 7 + 2 * n, #ARGV, 2 do
  position = position + 1
  local index = tonumber(ARGV[j])
  local spent = redis.call('GET', KEYS[2 + index]) or '0'
  local name = names[index]
  if greater(add(add(spent, reserved[name]), amounts[index]), ARGV[j + 1]) then
    return {'exceeded', position, spent, reserved[name]}
  end
end
redis.call('HSET', held, ARGV[1], cjson.encode({a = amount, x = ARGV[4], k = names, m = amounts}))
keep(held, ttl)
redis.call('SET', record, cjson.encode({s = 'held', k = names}), 'EX', ttl)
return {'reserved'}
"""
)

# KEYS: held, id, the record of the reservation to release, spent of each
# window named. ARGV: id, actual, ttl, the reservation to release ('' none),
# count n of keys, the n keys, then how long each one's spend is kept (past
# the window's end). A reservation settles in its own windows; when they are not the
# ones named, the script names them and the caller runs it again on their keys.
# Releasing in the same step keeps spent + reserved from counting a cost twice.
_SETTLE = (
    _DECIMALS
    + """
local held, record = KEYS[1], KEYS[2]
local actual, ttl, n = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5])
local names, keeps = {}, {}
for i = 1, n do
  names[i] = ARGV[5 + i]
  keeps[i] = tonumber(ARGV[5 + n + i])
end
local raw = redis.call('GET', record)
if raw then
  local r = cjson.decode(raw)
  if r.s ~= 'held' then return {'done'} end
  local same = #r.k == #names
  for i, key in ipairs(r.k) do same = same and names[i] == key end
  if not same then return {'windows', unpack(r.k)} end
  redis.call('HDEL', held, ARGV[1])
end
redis.call('SET', record, cjson.encode({s = 'settled', k = names}), 'EX', ttl)
for i = 1, #names do
  local spent = KEYS[3 + i]
  redis.call('SET', spent, add(redis.call('GET', spent) or '0', actual), 'EX', keeps[i])
end
if ARGV[4] ~= '' then
  local other = redis.call('GET', KEYS[3])
  if other then
    local r = cjson.decode(other)
    if r.s == 'held' then
      redis.call('HDEL', held, ARGV[4])
      redis.call('SET', KEYS[3], cjson.encode({s = 'released', k = r.k}), 'EX', ttl)
    end
  end
end
return {'settled'}
"""
)

# KEYS: held, id. ARGV: id, ttl.
_RELEASE = """
local raw = redis.call('GET', KEYS[2])
if not raw then return 0 end
local r = cjson.decode(raw)
if r.s ~= 'held' then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], cjson.encode({s = 'released', k = r.k}), 'EX', tonumber(ARGV[2]))
return 1
"""

# KEYS: held, spent of each key asked. ARGV: now, the keys. Reads only.
_STATE = (
    _DECIMALS
    + """
local now = tonumber(ARGV[1])
local reserved = {}
for i = 2, #ARGV do reserved[ARGV[i]] = '0' end
local all = redis.call('HVALS', KEYS[1])
for _, raw in ipairs(all) do
  local r = cjson.decode(raw)
  if tonumber(r.x) > now then
    for i, key in ipairs(r.k) do
      if reserved[key] then reserved[key] = add(reserved[key], held_in(r, i)) end
    end
  end
end
local out = {}
for i = 2, #ARGV do
  out[#out + 1] = redis.call('GET', KEYS[i]) or '0'
  out[#out + 1] = reserved[ARGV[i]]
end
return out
"""
)


class RedisBudgetStore:
    """A ``BudgetStore`` on a Redis server (see the module docstring)."""

    def __init__(self, client: redis.Redis, *, prefix: str = "modelrouter") -> None:
        self.client = client
        self.prefix = f"{prefix}:budget:"
        self._reserve = client.register_script(_RESERVE)
        self._settle = client.register_script(_SETTLE)
        self._release = client.register_script(_RELEASE)
        self._state = client.register_script(_STATE)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "modelrouter") -> RedisBudgetStore:
        # Routing waits on the ledger: a hung server must fail fast, not hang.
        # One quick retry (every script is idempotent by id), not ten with backoff.
        client = redis.Redis.from_url(
            url, socket_timeout=1.0, socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 1)
        )
        return cls(client, prefix=prefix)

    def _key(self, tenant: str, kind: str, name: str = "") -> str:
        # safe="" encodes ':', '{' and '}', so no tenant can reach into another's keys.
        return f"{self.prefix}{{{quote(tenant, safe='')}}}:{kind}{name}"

    def state(self, tenant: str, keys: Sequence[str], now: datetime) -> list[WindowState]:
        if not keys:
            return []
        spent = [self._key(tenant, "spent:", key) for key in keys]
        out = _call(self._state, [self._key(tenant, "held"), *spent], [_micros(now), *keys])
        figures = [Decimal(_text(value)) for value in out]
        return [WindowState(figures[i], figures[i + 1]) for i in range(0, len(figures), 2)]

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
        each = list(amounts) if amounts is not None else [amount] * len(windows)
        held: dict[str, Decimal] = {}
        for window, wanted in zip(windows, each, strict=True):
            held[window.key] = max(held.get(window.key, wanted), wanted)
        keys = list(held)
        checks: list[str] = []
        for window in windows:
            checks += [str(keys.index(window.key) + 1), _digits(window.limit_usd)]
        ttl = _KEEP + max(_aware(expires_at) - _aware(now), timedelta(0))
        out = _call(
            self._reserve,
            [
                self._key(tenant, "held"),
                self._key(tenant, "id:", reservation_id),
                *(self._key(tenant, "spent:", key) for key in keys),
            ],
            [
                reservation_id,
                _micros(now),
                _digits(max(held.values(), default=amount)),
                _micros(expires_at),
                int(ttl.total_seconds()),
                len(keys),
                *keys,
                *(_digits(held[key]) for key in keys),
                *checks,
            ],
        )
        if _text(out[0]) == "exceeded":
            position, spent, reserved = int(out[1]), _text(out[2]), _text(out[3])
            state = WindowState(Decimal(spent), Decimal(reserved))
            raise exceeded(tenant, windows[position - 1], state, each[position - 1])

    def settle(
        self,
        tenant: str,
        keys: Sequence[str],
        reservation_id: str,
        actual: Decimal,
        *,
        release: str | None = None,
    ) -> bool:
        windows = list(dict.fromkeys(keys))
        # At most twice: a reservation's windows never change once recorded.
        for _ in range(2):
            out = _call(
                self._settle,
                [
                    self._key(tenant, "held"),
                    self._key(tenant, "id:", reservation_id),
                    self._key(tenant, "id:", release or reservation_id),
                    *(self._key(tenant, "spent:", key) for key in windows),
                ],
                [
                    reservation_id,
                    _digits(actual),
                    int(_KEEP.total_seconds()),
                    release or "",
                    len(windows),
                    *windows,
                    *(_keep_spend(key) for key in windows),
                ],
            )
            verdict = _text(out[0])
            if verdict != "windows":
                return verdict == "settled"
            windows = [_text(key) for key in out[1:]]
        raise BackendError(f"reservation {reservation_id!r} changed its windows while settling")

    def release(self, tenant: str, reservation_id: str) -> bool:
        out = _call(
            self._release,
            [self._key(tenant, "held"), self._key(tenant, "id:", reservation_id)],
            [reservation_id, int(_KEEP.total_seconds())],
        )
        return bool(out)


def _call(script: Callable[..., Any], keys: list[str], args: list[Any]) -> Any:
    try:
        return script(keys=keys, args=args)
    except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError) as exc:
        raise StoreUnavailable(f"the budget ledger (Redis) is unavailable: {exc}") from exc
    except redis.RedisError as exc:
        raise BackendError(f"the budget ledger (Redis) failed: {exc}") from exc


def _keep_spend(key: str) -> int:
    """Seconds a window's spend is kept from now: 40 days, or to a day past
    the end of a longer window (the server's clock is good enough here)."""
    end = window_end(key)
    left = timedelta(0) if end is None else end - datetime.now(UTC)
    return int(max(_KEEP, left + timedelta(days=1)).total_seconds())


def _digits(amount: Decimal) -> str:
    """An amount as the plain decimal text the scripts add: every digit kept."""
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"a budget amount must be finite and not negative, got {amount}")
    return "0" if amount.is_zero() else format(amount, "f")


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _micros(at: datetime) -> int:
    # Integer microseconds: exact as Lua doubles until the year 2255.
    return (_aware(at) - _EPOCH) // timedelta(microseconds=1)


def _text(value: bytes | str | int) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
