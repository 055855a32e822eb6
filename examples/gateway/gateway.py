"""A reference gateway: OpenAI's ``/v1/chat/completions`` on modelrouter's client.

An example of using the router, not a product. Each request is routed by the
service (``MODELROUTER_URL``, ``MODELROUTER_API_KEY``); ``run`` calls the plan's
hops in order (each hop's ``api_base``, its upstream model id, the key named by
its ``credential_ref``), falls back on 429s and 5xx, reports every attempt, and
the answer carries the decision in ``x-modelrouter-decision-id``.

    python examples/gateway/gateway.py --port 8090
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from modelrouter.client import AsyncClient, Hop, HopsFailed, ProviderError
from modelrouter.errors import BudgetExceeded, InvalidInputError, ModelRouterError

app = FastAPI(title="modelrouter example gateway")
router = AsyncClient()  # MODELROUTER_URL, MODELROUTER_API_KEY
upstream = httpx.AsyncClient(timeout=60)


def _upstream_call(hop: Hop, body: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
    """Where to send this hop's request, the body as the provider wants it, and its key."""
    key = os.environ.get(hop.credential_ref or "", "")
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return f"{hop.api_base}/chat/completions", {**body, "model": hop.upstream_model}, headers


def _error(status: int, message: str, kind: str) -> JSONResponse:
    # The OpenAI error shape, so the SDKs raise their usual exceptions.
    return JSONResponse({"error": {"message": message, "type": kind, "code": kind}}, status)


@app.post("/v1/chat/completions")
async def chat_completions(request: Request) -> Response:
    body = await request.json()
    try:
        if body.get("stream"):
            return await _stream(body)
        result = await router.arun(body, lambda hop: _complete(hop, body))
    except HopsFailed as exc:
        return _error(502, str(exc), "upstream_error")
    except BudgetExceeded as exc:
        return _error(402, exc.message, "budget_exceeded")
    except InvalidInputError as exc:
        return _error(400, exc.message, "invalid_request_error")
    except ModelRouterError as exc:  # unknown model, no route, the router unreachable
        return _error(400 if exc.code in ("no_route", "unknown_model") else 503, str(exc), exc.code)
    headers = {
        "x-modelrouter-decision-id": result.decision_id,
        "x-modelrouter-deployment": result.hop.deployment,
    }
    if result.actual_cost is not None:
        headers["x-modelrouter-cost-usd"] = str(result.actual_cost.total_usd)
    return JSONResponse(result.response, headers=headers)


async def _complete(hop: Hop, body: dict[str, Any]) -> Any:
    url, payload, headers = _upstream_call(hop, body)
    answer = await upstream.post(url, json=payload, headers=headers)
    if answer.status_code != 200:
        raise ProviderError(answer.status_code, answer.json(), answer.headers)
    return answer.json()


async def _stream(body: dict[str, Any]) -> Response:
    # Ask for the final usage chunk: the attempt is priced from it.
    body = {**body, "stream_options": {"include_usage": True}}
    running = await router.arun_stream(body, lambda hop: _events(hop, body))

    async def relay() -> AsyncIterator[bytes]:
        async with running:
            async for event in running:
                yield f"data: {json.dumps(event)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    headers = {
        "x-modelrouter-decision-id": running.decision_id,
        "x-modelrouter-deployment": running.hop.deployment,
    }
    return StreamingResponse(relay(), media_type="text/event-stream", headers=headers)


async def _events(hop: Hop, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    url, payload, headers = _upstream_call(hop, body)
    async with upstream.stream("POST", url, json=payload, headers=headers) as answer:
        if answer.status_code != 200:
            await answer.aread()
            raise ProviderError(answer.status_code, answer.json(), answer.headers)
        async for line in answer.aiter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                yield json.loads(line.removeprefix("data: "))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="modelrouter example gateway")
    parser.add_argument("--port", type=int, default=8090)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning")
