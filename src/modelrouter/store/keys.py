"""API keys: ``mr_<id>_<secret>``, stored as the SHA-256 of the secret.

Roles: ``admin`` (everything), ``gateway`` (route, estimate and report
outcomes for any tenant; read decisions), ``tenant`` (route and estimate for
its own tenant; read only its own decisions, policy and spend).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Engine, insert, select

from modelrouter.errors import InvalidInputError
from modelrouter.store.tables import ApiKey

__all__ = ["ROLES", "KeyStore", "Principal", "Role"]

Role = Literal["admin", "gateway", "tenant"]
ROLES: tuple[Role, ...] = ("admin", "gateway", "tenant")
# A verified key is trusted this long before the database is asked again
# (revocation takes effect within it).
CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    role: Role
    tenant_id: str | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: dict[str, tuple[float, str, Principal]] = {}
        self._lock = threading.Lock()

    def create(self, role: str, tenant_id: str | None = None) -> str:
        """A new key, returned once in full; only its hash is stored."""
        if role not in ROLES:
            raise InvalidInputError(f"role must be one of {', '.join(ROLES)}", field="role")
        if (role == "tenant") != (tenant_id is not None):
            raise InvalidInputError(
                "a tenant key needs --tenant, and only a tenant key takes one", field="tenant"
            )
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(24)
        with self.engine.begin() as connection:
            connection.execute(
                insert(ApiKey),
                {
                    "id": key_id,
                    "secret_sha256": _digest(secret),
                    "role": role,
                    "tenant_id": tenant_id,
                    "created_at": datetime.now(UTC),
                },
            )
        return f"mr_{key_id}_{secret}"

    def verify(self, presented: str) -> Principal | None:
        prefix, _, rest = presented.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != "mr" or not key_id or not secret:
            return None
        digest = _digest(secret)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[2] if hmac.compare_digest(cached[1], digest) else None
        with self.engine.connect() as connection:
            row = connection.execute(
                select(ApiKey.secret_sha256, ApiKey.role, ApiKey.tenant_id).where(
                    ApiKey.id == key_id, ApiKey.revoked_at.is_(None)
                )
            ).first()
        if row is None or not hmac.compare_digest(row[0], digest):
            return None
        role = next(r for r in ROLES if r == row[1])  # a stored role is one of ROLES
        principal = Principal(key_id, role, row[2])
        with self._lock:
            self._cache[key_id] = (now, row[0], principal)
        return principal
