"""The transport under both clients: where the service is, the key, timeouts,
and the bounded retries.

Every call crosses ``Transport.send`` (sync) or ``Transport.asend``: one
request in, the decoded JSON answer out, or the library's error raised. A 503
(the store is away, a decision not stored yet) and a 429 (a busy replay) are
retried after their ``Retry-After`` (at most ``max_retry_wait`` each), else
after an exponential backoff with jitter; so is a connection that could not
be made. Everything the client sends is idempotent: a route carries a request
id, an attempt its attempt id, so a retry never counts twice.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from modelrouter import __version__
from modelrouter.client.errors import ServiceUnavailable, error_from

__all__ = ["DEFAULT_URL", "RETRIED_STATUSES", "Retries", "Transport"]

DEFAULT_URL = "http://127.0.0.1:8080"
RETRIED_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class Retries:
    """How often and how long to wait: ``attempts`` retries after the first
    try, each after the answer's ``Retry-After`` (capped at ``max_wait``
    seconds) or ``backoff * 2**n`` with up to 50% jitter."""

    attempts: int = 3
    backoff: float = 0.25
    max_wait: float = 10.0

    def delay(self, retry: int, headers: Mapping[str, str] | None) -> float:
        said = _retry_after(headers)
        if said is None:
            said = self.backoff * 2**retry * (1 + random.random() / 2)
        return max(0.0, min(said, self.max_wait))


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    value = None if headers is None else headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None


class Transport:
    """Base URL (argument, else ``MODELROUTER_URL``, else ``DEFAULT_URL``), API
    key (argument, else ``MODELROUTER_API_KEY``), timeout in seconds or an
    ``httpx.Timeout``, and the retry policy."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = 10.0,
        retries: Retries | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get("MODELROUTER_URL") or DEFAULT_URL).rstrip("/")
        key = api_key if api_key is not None else os.environ.get("MODELROUTER_API_KEY")
        self.headers = {"user-agent": f"modelrouter-client/{__version__}"}
        if key:
            self.headers["authorization"] = f"Bearer {key}"
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.retries = retries or Retries()

    def options(self) -> dict[str, Any]:
        """What the httpx client is built with."""
        return {"base_url": self.base_url, "headers": self.headers, "timeout": self.timeout}

    def send(
        self,
        http: httpx.Client,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        for retry in range(self.retries.attempts + 1):
            try:
                response = http.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:
                time.sleep(self._after_failure(retry, exc))
                continue
            wait = self._after_answer(retry, response)
            if wait is None:
                return _decoded(response)
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def asend(
        self,
        http: httpx.AsyncClient,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        for retry in range(self.retries.attempts + 1):
            try:
                response = await http.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:
                await asyncio.sleep(self._after_failure(retry, exc))
                continue
            wait = self._after_answer(retry, response)
            if wait is None:
                return _decoded(response)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _after_answer(self, retry: int, response: httpx.Response) -> float | None:
        """None: the answer is final (decoded, or raised); else seconds to wait."""
        if response.status_code not in RETRIED_STATUSES or retry >= self.retries.attempts:
            return None
        return self.retries.delay(retry, response.headers)

    def _after_failure(self, retry: int, exc: httpx.TransportError) -> float:
        # A connection never made is retried; any other transport error (a
        # read timeout) is raised at once: the service may be working on it.
        if not isinstance(exc, httpx.ConnectError) or retry >= self.retries.attempts:
            code = "timeout" if isinstance(exc, httpx.TimeoutException) else "unreachable"
            raise ServiceUnavailable(
                503, code, f"{self.base_url}: {type(exc).__name__}: {exc}"
            ) from exc
        return self.retries.delay(retry, None)


def _decoded(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.is_success:
        return body
    raise error_from(response.status_code, body)
