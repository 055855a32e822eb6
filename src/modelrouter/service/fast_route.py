"""``POST /v1/route`` for the request a gateway sends all day, without
FastAPI's per-request machinery.

A well-formed route request with a key known to this worker costs FastAPI
about as much again as routing it: solving the endpoint's dependencies (the
key, the body, the query), and the layers around the endpoint (the exception
middleware, the router, the route's own wrappers). This middleware sits
innermost, inside the service's admission gate and body limit, and answers
exactly the requests it can answer exactly as the declared route
(``routes.routing.route``) would: a JSON body that parses and validates as a
``RouteRequest``, a bearer key this worker has verified lately, and at most
``include=snapshot``. It parses and validates them as FastAPI does
(``json.loads``, then the model's validation in Python mode) and calls the
same handler, ``route_for``; what that raises is answered by the app's own
exception handlers, looked up as Starlette's exception middleware looks them
up (anything without one goes on up, to the server-error middleware's 500).

Every other request (an error to explain, a key only the database can
answer, another content type or query) goes, body and all, to the app, so
error answers are FastAPI's own, and the OpenAPI document still describes
the declared route alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError
from starlette._utils import is_async_callable
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from modelrouter.request.model import RouteRequest
from modelrouter.service.auth import bearer_token, state_of
from modelrouter.service.replay_body import replaying
from modelrouter.service.routes.routing import ROUTING_ROLES, route_for
from modelrouter.store.keys import Principal

__all__ = ["PATH", "FastRoute"]

PATH = "/v1/route"
_INCLUDE: dict[bytes, str | None] = {b"": None, b"include=snapshot": "snapshot"}

Handler = Callable[[Request, Exception], Any]


class FastRoute:
    """``app.add_middleware(FastRoute, handlers=app.exception_handlers)``,
    before any other middleware (so innermost). ``handlers`` is the app's
    own mapping, read when an exception is raised: handlers added later count."""

    def __init__(self, app: ASGIApp, handlers: Mapping[Any, Handler]) -> None:
        self.app = app
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()  # ``BodyLimit`` has bounded it and read it whole
        taken = self._take(scope, request, body)
        if taken is None:
            await self.app(scope, replaying(body, receive), send)
            return
        principal, parsed, include = taken
        try:
            response = await route_for(request, principal, parsed, include)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise
            if is_async_callable(handler):
                response = await handler(request, exc)
            else:
                response = await run_in_threadpool(handler, request, exc)
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler | None:
        """The handler Starlette's ``ExceptionMiddleware`` would call: by
        status code for an HTTP exception, else by the exception's classes in
        order; those for ``Exception`` and 500 are the server-error middleware's."""
        handlers = self.handlers
        if (
            isinstance(exc, HTTPException)
            and exc.status_code != 500
            and exc.status_code in handlers
        ):
            found: Handler = handlers[exc.status_code]
            return found
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in handlers:
                found = handlers[cls]
                return found
        return None

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
