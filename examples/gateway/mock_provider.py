"""A mock OpenAI-compatible provider for the example gateway and its tests.

Every path prefix is a deployment of its own: ``POST /<name>/v1/chat/completions``
answers a chat completion (streamed as server-sent events when the body asks
``"stream": true``, with the usage in the final chunk), or, for a name in
``failing``, OpenAI's 429 with ``retry-after: 30``. It runs no model: the
reply repeats the last user message.

    python examples/gateway/mock_provider.py --port 9100
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RATE_LIMITED = {
    "error": {
        "message": "Rate limit reached for requests",
        "type": "requests",
        "code": "rate_limit_exceeded",
    }
}


class MockProvider(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.failing: set[str] = set()  # names that answer 429
        self.calls: list[tuple[str, int]] = []  # (name, status) of every call

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> MockProvider:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def completion(model: str, text: str, prompt_tokens: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(text.split()),
            "total_tokens": prompt_tokens + len(text.split()),
        },
    }


def chunks(model: str, text: str, prompt_tokens: int) -> list[dict[str, Any]]:
    words = text.split()
    base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0, "model": model}
    out = [
        {**base, "choices": [{"index": 0, "delta": {"content": w + " "}, "finish_reason": None}]}
        for w in words
    ]
    out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(words)}
    out.append({**base, "choices": [], "usage": {**usage, "total_tokens": sum(usage.values())}})
    return out


class _Handler(BaseHTTPRequestHandler):
    server: MockProvider
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        name, _, rest = self.path.lstrip("/").partition("/")
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        if rest != "v1/chat/completions":
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
        if name in self.server.failing:
            self.server.calls.append((name, 429))
            return self._send(429, RATE_LIMITED, {"retry-after": "30"})
        self.server.calls.append((name, 200))
        messages = body.get("messages") or [{"content": ""}]
        text = f"{name} says: {messages[-1].get('content') or 'hello'}"
        prompt = sum(len(str(m.get("content", "")).split()) + 4 for m in messages)
        model = str(body.get("model", "mock"))
        if body.get("stream"):
            return self._stream(chunks(model, text, prompt))
        return self._send(200, completion(model, text, prompt))

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        for key, value in {**(headers or {}), "content-type": "application/json"}.items():
            self.send_header(key, value)
        self.send_header("x-ratelimit-remaining-requests", "5000")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, events: list[dict[str, Any]]) -> None:
        payload = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events)
        payload += b"data: [DONE]\n\n"
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--failing", action="append", default=[], help="a name that answers 429")
    options = parser.parse_args()
    server = MockProvider(options.port)
    server.failing.update(options.failing)
    print(f"mock provider on {server.base}", flush=True)
    server.serve_forever()
