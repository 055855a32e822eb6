"""The HTTP protocol the service runs on: uvicorn's httptools protocol, with a
deadline for a request's headers.

uvicorn closes idle keep-alive connections, but a client that opens a
connection and sends its headers a byte at a time holds it (and a slot of
the server) for as long as it likes. Here every request must have sent its
whole head within ``HEADER_TIMEOUT_SECONDS`` of its first byte (or of the
connection's opening), or the connection is closed. Bodies have their own
deadline in the app (``service.app.BodyLimit``).
"""

from __future__ import annotations

import asyncio
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HEADER_TIMEOUT_SECONDS", "GuardedHttpToolsProtocol", "header_timeout"]

HEADER_TIMEOUT_SECONDS = 10.0


def header_timeout() -> float:
    return float(os.environ.get("MODELROUTER_HEADER_TIMEOUT_SECONDS", HEADER_TIMEOUT_SECONDS))


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    _head_deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._head_deadline = self.loop.call_later(header_timeout(), self._too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _too_slow(self) -> None:
        self._head_deadline = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
