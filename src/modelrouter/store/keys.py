"""API keys: ``mr_<id>_<secret>``, stored as the SHA-256 of the secret.

Roles: ``admin`` (everything), ``gateway`` (route, estimate and report
outcomes for any tenant; read decisions), ``tenant`` (route and estimate for
its own tenant; read only its own decisions, policy and spend).

A key may expire; an expired key is refused like a revoked one. A key
revoked through any process is refused by every process within a second (see
the constants below), and an unknown key id costs no database round trip per
request.
"""

from __future__ import annotations

import builtins
import logging
import secrets
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from modelrouter.errors import InvalidInputError, StoreUnavailable
from modelrouter.store.key_records import (
    _COLUMNS,
    MISS,
    ROLES,
    KeyInfo,
    Lookup,
    Principal,
    Role,
    UnknownKeyError,
    _check,
    _check_expiry,
    _check_tenant,
    _digest,
    _info,
    _Known,
    _maybe_utc,
    _parse,
    _role,
    _unavailable,
)
from modelrouter.store.tables import ApiKey, ApiKeyRevision

__all__ = [
    "CACHE_SECONDS",
    "MISS",
    "NEGATIVE_LIMIT",
    "NEGATIVE_SECONDS",
    "POLL_SECONDS",
    "ROLES",
    "TRUST_SECONDS",
    "KeyInfo",
    "KeyStore",
    "Lookup",
    "Principal",
    "Role",
    "UnknownKeyError",
]

_log = logging.getLogger(__name__)


# How a worker learns that a key changed. Each process caches what it read
# about a key id (the key, or that there is none), so a request costs no
# database round trip. What bounds the staleness is one row, api_key_revision,
# bumped in the same transaction as every key created or revoked. A revision
# row rather than a ~1 s lifetime per cached key: it is one primary-key read
# per process every POLL_SECONDS however many keys are in use (a per-key
# lifetime costs a query per key per second per process: thousands a second
# with thousands of tenant keys), and it covers the negative answers too.
#
# The revision is re-read every POLL_SECONDS off the request path (by a
# short-lived thread the first request to find it due starts). A request that
# finds it last confirmed more than TRUST_SECONDS ago (the thread fell behind,
# or the process was idle) re-reads it before answering; the service does
# that in its thread pool, not on the event loop. So a revocation committed at
# time T is refused by every process from T + TRUST_SECONDS on (plus at most
# one read), and when the revision cannot be read the answer is
# StoreUnavailable (503), never a stale yes.
POLL_SECONDS = 0.5
TRUST_SECONDS = 0.8
# A cached key is read again after this long even if the revision did not move
# (a row changed by hand in SQL, not through KeyStore).
CACHE_SECONDS = 30.0
# An unknown (or revoked) key id is remembered this long, and forgotten at
# once when the revision moves; at most NEGATIVE_LIMIT ids, oldest out first.
NEGATIVE_SECONDS = 1.0
NEGATIVE_LIMIT = 10_000
KNOWN_LIMIT = 100_000
# After a failed read of the revision, requests are refused this long without
# asking a database that just did not answer.
_RETRY_SECONDS = 0.25

# What ``create`` makes: 16 hex digits (the column holds up to 32).
_DB_ERRORS = (OperationalError, InterfaceError, PoolTimeout)


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()  # guards the caches and the revision
        self._poll_lock = threading.Lock()  # one read of the revision at a time
        self._known: dict[str, _Known] = {}
        self._unknown: OrderedDict[str, float] = OrderedDict()
        self._revision: int | None = None
        self._generation = 0  # bumped whenever the caches are dropped
        self._confirmed_at = float("-inf")  # when the last good read of the revision began
        self._failed_at = float("-inf")

    # -- managing keys -----------------------------------------------------------

    def create(
        self, role: str, tenant_id: str | None = None, expires_at: datetime | None = None
    ) -> str:
        """A new key, returned once in full; only its hash is stored."""
        return self.issue(role, tenant_id, expires_at)[0]

    def issue(
        self, role: str, tenant_id: str | None = None, expires_at: datetime | None = None
    ) -> tuple[str, KeyInfo]:
        """``create``, with what is stored about the new key."""
        if role not in ROLES:
            raise InvalidInputError(f"role must be one of {', '.join(ROLES)}", field="role")
        if (role == "tenant") != (tenant_id is not None):
            raise InvalidInputError(
                "a tenant key needs a tenant id, and only a tenant key takes one",
                field="tenant_id",
            )
        if tenant_id is not None:
            _check_tenant(tenant_id)
        now = datetime.now(UTC)
        expiry = None if expires_at is None else _check_expiry(expires_at, now)
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(24)
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(ApiKey),
                    {
                        "id": key_id,
                        "secret_sha256": _digest(secret),
                        "role": role,
                        "tenant_id": tenant_id,
                        "created_at": now,
                        "expires_at": expiry,
                    },
                )
                _bump(connection)
        except _DB_ERRORS as exc:
            raise _unavailable(exc) from exc
        with self._lock:
            self._unknown.pop(key_id, None)
        info = KeyInfo(key_id, role, tenant_id, now, expiry, None)
        return f"mr_{key_id}_{secret}", info

    def revoke(self, key_id: str) -> KeyInfo:
        """Refuse the key from now on, in every process within a second. A key
        already revoked keeps its first revocation time; an unknown id raises
        ``UnknownKeyError``."""
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as connection:
                changed = connection.execute(
                    update(ApiKey)
                    .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
                    .values(revoked_at=now)
                ).rowcount
                if changed:
                    _bump(connection)
                row = connection.execute(select(*_COLUMNS).where(ApiKey.id == key_id)).first()
        except _DB_ERRORS as exc:
            raise _unavailable(exc) from exc
        if row is None:
            raise UnknownKeyError(key_id)
        with self._lock:  # this process refuses it at once, even if a read is under way
            self._known.pop(key_id, None)
            self._generation += 1
        return _info(row)

    def list(self) -> builtins.list[KeyInfo]:
        """Every key, oldest first: revoked and expired ones too."""
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(
                    select(*_COLUMNS).order_by(ApiKey.created_at, ApiKey.id)
                ).all()
        except _DB_ERRORS as exc:
            raise _unavailable(exc) from exc
        return [_info(row) for row in rows]

    # -- checking keys -----------------------------------------------------------

    def verify(self, presented: str) -> Principal | None:
        """The key's principal, or None for an unknown, revoked, expired or
        malformed key. May read the database (see ``verify_cached``)."""
        parsed = _parse(presented)
        if parsed is None:
            return None
        key_id, digest = parsed
        now = time.monotonic()
        outage = self._riding_out(key_id, digest, now)
        if outage is not MISS:
            return outage
        if now - self._confirmed_at >= TRUST_SECONDS:
            self._poll_now()
        elif now - self._confirmed_at >= POLL_SECONDS:
            self._poll_in_background()
        answer = self._cached(key_id, digest, now)
        if answer is not MISS:
            return answer
        return self._load(key_id, digest)

    def verify_cached(self, presented: str) -> Principal | Literal[Lookup.MISS] | None:
        """``verify`` from memory alone, or MISS when only the database can
        answer (call ``verify`` then, off the event loop)."""
        parsed = _parse(presented)
        if parsed is None:
            return None
        now = time.monotonic()
        outage = self._riding_out(*parsed, now)
        if outage is not MISS:
            return outage
        age = now - self._confirmed_at
        if age >= TRUST_SECONDS:
            return MISS
        if age >= POLL_SECONDS:
            self._poll_in_background()
        return self._cached(*parsed, now)

    def _riding_out(
        self, key_id: str, digest: str, now: float
    ) -> Principal | Literal[Lookup.MISS] | None:
        """While the database cannot be read, a key verified before the outage
        keeps working (no key can be revoked through a database that is away;
        the background poll keeps trying and ends this as soon as it answers).
        Anything else still needs the database: MISS."""
        if self._failed_at == float("-inf") or self._failed_at < self._confirmed_at:
            return MISS
        if now - self._failed_at >= _RETRY_SECONDS:
            self._poll_in_background()
        with self._lock:
            entry = self._known.get(key_id)
        if entry is None:
            return MISS
        return _check(entry, digest)

    def _cached(
        self, key_id: str, digest: str, now: float
    ) -> Principal | Literal[Lookup.MISS] | None:
        with self._lock:
            entry = self._known.get(key_id)
            if entry is None or now - entry.loaded >= CACHE_SECONDS:
                seen = self._unknown.get(key_id)
                if seen is not None and now - seen < NEGATIVE_SECONDS:
                    return None
                return MISS
        return _check(entry, digest)

    def _load(self, key_id: str, digest: str) -> Principal | None:
        with self._lock:
            generation = self._generation
        started = time.monotonic()
        try:
            with self.engine.connect() as connection:
                row = connection.execute(
                    select(
                        ApiKey.secret_sha256,
                        ApiKey.role,
                        ApiKey.tenant_id,
                        ApiKey.expires_at,
                        ApiKey.revoked_at,
                    ).where(ApiKey.id == key_id)
                ).first()
        except _DB_ERRORS as exc:
            raise _unavailable(exc) from exc
        role = None if row is None else _role(row.role)
        entry = None
        if row is not None and role is not None and row.revoked_at is None:
            expires = _maybe_utc(row.expires_at)
            entry = _Known(
                loaded=started,
                digest=row.secret_sha256,
                principal=Principal(key_id, role, row.tenant_id),
                expires=None if expires is None else expires.timestamp(),
            )
        with self._lock:
            # Dropped meanwhile: the row may predate the change, so keep nothing.
            if generation == self._generation:
                if entry is None:
                    self._known.pop(key_id, None)
                    self._unknown[key_id] = started
                    self._unknown.move_to_end(key_id)
                    while len(self._unknown) > NEGATIVE_LIMIT:
                        self._unknown.popitem(last=False)
                else:
                    if len(self._known) >= KNOWN_LIMIT:
                        self._known.clear()
                    self._known[key_id] = entry
                    self._unknown.pop(key_id, None)
        return None if entry is None else _check(entry, digest)

    # -- the revision ------------------------------------------------------------

    def _poll_in_background(self) -> None:
        if not self._poll_lock.acquire(blocking=False):
            return  # a read is under way
        try:
            threading.Thread(target=self._poll_and_release, name="keys-poll", daemon=True).start()
        except RuntimeError:  # no thread to be had: the next request reads it itself
            self._poll_lock.release()

    def _poll_and_release(self) -> None:
        was_failing = self._failed_at != float("-inf")
        try:
            self._poll()
        except StoreUnavailable as exc:
            if not was_failing:  # once per outage, not twice a second
                _log.warning("cannot read the API key revision: %s", exc.message)
        finally:
            self._poll_lock.release()

    def _poll_now(self) -> None:
        if not self._poll_lock.acquire(timeout=TRUST_SECONDS):
            raise StoreUnavailable("the key store did not answer in time")
        try:
            now = time.monotonic()
            if now - self._confirmed_at < TRUST_SECONDS:
                return  # read by another thread while this one waited
            if now - self._failed_at < _RETRY_SECONDS:
                raise StoreUnavailable("the key store is unavailable")
            self._poll()
        finally:
            self._poll_lock.release()

    def _poll(self) -> None:
        """Read the revision; when it moved, drop every cached answer. The
        caller holds ``_poll_lock``."""
        started = time.monotonic()
        try:
            with self.engine.connect() as connection:
                revision = connection.execute(
                    select(ApiKeyRevision.revision).where(ApiKeyRevision.id == 1)
                ).scalar()
        except _DB_ERRORS as exc:
            self._failed_at = time.monotonic()
            raise _unavailable(exc) from exc
        with self._lock:
            if revision != self._revision:
                self._known.clear()
                self._unknown.clear()
                self._generation += 1
                self._revision = revision
            self._confirmed_at = started
            self._failed_at = float("-inf")


def _bump(connection: Connection) -> None:
    bumped = connection.execute(
        update(ApiKeyRevision)
        .where(ApiKeyRevision.id == 1)
        .values(revision=ApiKeyRevision.revision + 1)
    ).rowcount
    if not bumped:  # the row the migration made is gone: make it again
        connection.execute(insert(ApiKeyRevision).values(id=1, revision=1))
