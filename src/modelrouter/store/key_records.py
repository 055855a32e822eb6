"""API key records and their checks: the principal a key stands for, what
``keys list`` shows, and how a presented key is parsed and compared (its
secret is stored only as a SHA-256, compared in constant time)."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal

from modelrouter.bounds import MAX_NAME, check_text, check_timestamp
from modelrouter.errors import InvalidInputError, ModelRouterError, StoreUnavailable
from modelrouter.store.tables import ApiKey

__all__ = ["MISS", "ROLES", "KeyInfo", "Lookup", "Principal", "Role", "UnknownKeyError"]

Role = Literal["admin", "gateway", "tenant", "runtime"]
ROLES: tuple[Role, ...] = ("admin", "gateway", "tenant", "runtime")

_KEY_ID = re.compile(r"[0-9a-f]{1,32}")


class Lookup(Enum):
    MISS = "miss"


# ``verify_cached``'s answer when only the database can tell.
MISS = Lookup.MISS


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    role: Role
    tenant_id: str | None


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What is known about a key, never its secret or the secret's hash."""

    id: str
    role: str
    tenant_id: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def status(self, now: datetime | None = None) -> Literal["active", "expired", "revoked"]:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or datetime.now(UTC)):
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        return {
            "id": self.id,
            "role": self.role,
            "tenant_id": self.tenant_id,
            "status": self.status(),
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
        }


class UnknownKeyError(ModelRouterError, LookupError):
    code = "unknown_key"

    def __init__(self, key_id: str) -> None:
        super().__init__(f"no key {key_id!r}")
        self.key_id = key_id

    def details(self) -> dict[str, Any]:
        return {"key_id": self.key_id}


@dataclass(frozen=True, slots=True)
class _Known:
    loaded: float  # time.monotonic() before the row was read
    digest: str
    principal: Principal
    expires: float | None  # time.time() from which the key is refused


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _parse(presented: str) -> tuple[str, str] | None:
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != "mr" or not secret or not _KEY_ID.fullmatch(key_id):
        return None  # not one of ours: refused without asking anyone
    return key_id, _digest(secret)


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every one stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _maybe_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else _utc(moment)


def _role(value: str) -> Role | None:
    return next((role for role in ROLES if role == value), None)


def _unavailable(exc: Exception) -> StoreUnavailable:
    orig = getattr(exc, "orig", None) or exc
    return StoreUnavailable(f"the key store is unavailable: {type(orig).__name__}")


_COLUMNS = (
    ApiKey.id,
    ApiKey.role,
    ApiKey.tenant_id,
    ApiKey.created_at,
    ApiKey.expires_at,
    ApiKey.revoked_at,
)


def _info(row: Any) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        role=row.role,
        tenant_id=row.tenant_id,
        created_at=_utc(row.created_at),
        expires_at=_maybe_utc(row.expires_at),
        revoked_at=_maybe_utc(row.revoked_at),
    )


def _check(entry: _Known, digest: str) -> Principal | None:
    if not hmac.compare_digest(entry.digest, digest):
        return None
    if entry.expires is not None and time.time() >= entry.expires:
        return None
    return entry.principal


def _check_tenant(tenant_id: str) -> None:
    if not 1 <= len(tenant_id) <= MAX_NAME:
        raise InvalidInputError(
            f"tenant id must be 1 to {MAX_NAME} characters long", field="tenant_id"
        )
    try:
        check_text(tenant_id)
    except ValueError as exc:
        raise InvalidInputError(f"tenant id {exc}", field="tenant_id") from None


def _check_expiry(expires_at: datetime, now: datetime) -> datetime:
    """In UTC (naive means UTC); refused unless in the future."""
    try:
        moment = check_timestamp(expires_at).astimezone(UTC)
    except ValueError as exc:
        raise InvalidInputError(f"expiry {exc}", field="expires_at") from None
    if moment <= now:
        raise InvalidInputError(
            f"expiry {moment.isoformat()} is not in the future", field="expires_at"
        )
    return moment
