"""API keys (admin only): list, create (the key is answered once), revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict

from modelrouter.bounds import Name, Timestamp
from modelrouter.service.auth import authenticate, not_found, require, state_of
from modelrouter.service.errors import ERROR_RESPONSES
from modelrouter.store.keys import Principal, Role, UnknownKeyError

router = APIRouter(tags=["keys"])

KeyId = Annotated[Name, Path(max_length=64)]


class NewKey(BaseModel):
    """A tenant key names its tenant, and only a tenant key does. Without
    ``expires_at`` the key lasts until revoked; a time without an offset is UTC."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    tenant_id: Name | None = None
    expires_at: Timestamp | None = None


@router.get("/v1/keys", responses=ERROR_RESPONSES)
def list_keys(
    http: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> dict[str, Any]:
    """Every key, oldest first, with its status (active, expired or revoked);
    never a secret or its hash."""
    require(principal, "admin")
    return {"keys": [key.to_dict() for key in state_of(http).keys.list()]}


@router.post("/v1/keys", status_code=201, responses=ERROR_RESPONSES)
def create_key(
    body: NewKey,
    http: Request,
    response: Response,
    principal: Annotated[Principal, Depends(authenticate)],
) -> dict[str, Any]:
    """Create a key. The answer holds the key itself, this once: only its hash
    is stored."""
    require(principal, "admin")
    key, info = state_of(http).keys.issue(body.role, body.tenant_id, body.expires_at)
    response.headers["Cache-Control"] = "no-store"
    return {"key": key, **info.to_dict()}


@router.delete("/v1/keys/{key_id}", responses=ERROR_RESPONSES)
def revoke_key(
    key_id: KeyId, http: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> dict[str, Any]:
    """Revoke a key: every worker refuses it within a second. Revoking it
    again changes nothing and answers the same."""
    require(principal, "admin")
    try:
        info = state_of(http).keys.revoke(key_id)
    except UnknownKeyError:
        raise not_found(f"key {key_id}") from None
    return info.to_dict()
