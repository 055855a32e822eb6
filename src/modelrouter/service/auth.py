"""Bearer API keys and what each role may do."""

from __future__ import annotations

from fastapi import HTTPException, Request

from modelrouter.service.state import ServiceState
from modelrouter.store.keys import Principal, Role

__all__ = ["authenticate", "can_see_tenant", "require"]


def state_of(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


async def authenticate(request: Request) -> Principal:
    # async: a verified key is answered from memory; a sync dependency would
    # cost a thread hop on every request.
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401,
            "an API key is required: Authorization: Bearer mr_...",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = state_of(request).keys.verify(token.strip())
    if principal is None:
        raise HTTPException(
            401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


def require(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise HTTPException(403, f"a {principal.role} key may not do this")


def can_see_tenant(principal: Principal, tenant: str | None) -> bool:
    """Tenant keys see only their own tenant; the others see every tenant."""
    return principal.role != "tenant" or tenant == principal.tenant_id


def not_found(what: str) -> HTTPException:
    return HTTPException(404, f"no {what}")
