"""``POST /v1/route`` for the request a gateway sends all day, without
FastAPI's per-request machinery.

A well-formed route request with a key known to this worker costs FastAPI
about as much again as routing it: solving the endpoint's dependencies (the
key, the body, the query), and the layers of wrappers around the endpoint.
This route sits in front of the declared one (``routes.routing.route``) and
answers exactly the requests it can answer exactly as the declared route
would: a JSON body that parses and validates as a ``RouteRequest``, a bearer
key this worker has verified lately, and at most ``include=snapshot``. It
parses and validates them as FastAPI does (``json.loads``, then the model's
validation in Python mode) and calls the same handler, ``route_for``; what it
raises is answered by the same exception handlers.

Every other request (an error to explain, a key only the database can
answer, another content type or query) goes, body and all, to the declared
route, so error answers are FastAPI's own, and the OpenAPI document still
describes the declared route alone.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from modelrouter.request.model import RouteRequest
from modelrouter.service.auth import bearer_token, state_of
from modelrouter.service.replay_body import replaying
from modelrouter.service.routes.routing import ROUTING_ROLES, route_for
from modelrouter.store.keys import Principal

__all__ = ["PATH", "FastRoute"]

PATH = "/v1/route"
# Set on a request this route handed on, so the router passes it by.
_DECLINED = "modelrouter.fast_route.declined"
_INCLUDE: dict[bytes, str | None] = {b"": None, b"include=snapshot": "snapshot"}


class FastRoute(BaseRoute):
    """Put first in the app's routes: ``app.router.routes.insert(0, FastRoute())``."""

    def __init__(self) -> None:
        self.path = PATH
        self.include_in_schema = False

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == PATH
            and not scope.get(_DECLINED)
        ):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # it has no name of its own

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        body = await request.body()  # ``BodyLimit`` has bounded it and read it whole
        taken = self._take(scope, request, body)
        if taken is None:
            await self._decline(scope, receive, send, body)
            return
        principal, parsed, include = taken
        response = await route_for(request, principal, parsed, include)
        await response(scope, receive, send)

    @staticmethod
    def _take(
        scope: Scope, request: Request, body: bytes
    ) -> tuple[Principal, RouteRequest, str | None] | None:
        """What the declared route would be called with, or None when only it
        can tell what to answer."""
        query = scope.get("query_string", b"")
        if query not in _INCLUDE or request.headers.get("content-type") != "application/json":
            return None
        token = bearer_token(request)
        if token is None:
            return None
        principal = state_of(request).keys.verify_cached(token)
        if not isinstance(principal, Principal) or principal.role not in ROUTING_ROLES:
            return None
        try:
            value = json.loads(body)
        except Exception:  # any failure: the declared route explains it
            return None
        if not isinstance(value, dict):
            return None
        try:
            parsed = RouteRequest.model_validate(value)
        except ValidationError:
            return None
        return principal, parsed, _INCLUDE[query]

    async def _decline(self, scope: Scope, receive: Receive, send: Send, body: bytes) -> None:
        scope[_DECLINED] = True
        router: ASGIApp = scope["router"]  # set by the router that matched this route
        await router(scope, replaying(body, receive), send)
