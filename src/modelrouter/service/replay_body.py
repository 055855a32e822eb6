"""A request body already read, handed on as if it were still to be read."""

from __future__ import annotations

from starlette.types import Message, Receive

__all__ = ["replaying"]


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` whole, once, and then whatever
    ``receive`` gives (the disconnect, when the client leaves)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
