"""Bearer API keys and what each role may do."""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from modelrouter.service.state import ServiceState
from modelrouter.store.keys import MISS, Principal, Role

__all__ = ["authenticate", "bearer_token", "can_see_tenant", "require"]


def state_of(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


def bearer_token(request: Request) -> str | None:
    """The key an ``Authorization: Bearer <key>`` header presents, or None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(request: Request) -> Principal:
    # async: a key seen lately (or an id seen to be unknown) is answered from
    # memory; a sync dependency would cost a thread hop on every request. Only
    # what needs the database goes to the thread pool, off the event loop.
    presented = bearer_token(request)
    if presented is None:
        raise HTTPException(
            401,
            "an API key is required: Authorization: Bearer mr_...",
            headers={"WWW-Authenticate": "Bearer"},
        )
    keys = state_of(request).keys
    cached = keys.verify_cached(presented)
    principal = await run_in_threadpool(keys.verify, presented) if cached is MISS else cached
    if principal is None:
        raise HTTPException(
            401, "unknown, revoked or expired API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


def require(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise HTTPException(403, f"a {principal.role} key may not do this")


def can_see_tenant(principal: Principal, tenant: str | None) -> bool:
    """Tenant keys see only their own tenant; the others see every tenant."""
    return principal.role != "tenant" or tenant == principal.tenant_id


class NotFound(HTTPException):
    """A 404 that may name close names (answered as ``suggestions``)."""

    def __init__(self, what: str, suggestions: tuple[str, ...] = ()) -> None:
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(404, f"no {what}{hint}")
        self.suggestions = suggestions


def not_found(what: str, suggestions: tuple[str, ...] = ()) -> HTTPException:
    return NotFound(what, suggestions)
