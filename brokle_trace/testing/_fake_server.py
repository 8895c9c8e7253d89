"""A loopback fake of the OpenAI and Anthropic HTTP APIs, for tests, examples and demos.

Speaks enough of ``/v1/chat/completions``, ``/v1/responses``, ``/v1/embeddings`` (OpenAI) and
``/v1/messages`` (Anthropic) for the real SDK clients, including server-sent-event streaming
and the providers' error bodies. Binds 127.0.0.1 on a free port; stdlib only.

Example:
    >>> from brokle_trace.testing._fake_server import FakeLLMServer
    >>> with FakeLLMServer() as server:
    ...     server.url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeLLMServer"]

_OPENAI_ERRORS = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "server_error",
}
_ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def _words(value: Any) -> int:
    """A stand-in tokenizer: words in every string inside ``value``."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, dict):
        return sum(_words(v) for v in value.values())
    if isinstance(value, list):
        return sum(_words(v) for v in value)
    return 0


def _last_user_text(messages: Any) -> str:
    if isinstance(messages, str):
        return messages
    for message in reversed(messages or []):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


class FakeLLMServer:
    """The fake server: start/stop it with ``with``; steer it through its attributes.

    * ``reply``: fixed reply text (default: ``"echo: <last user message>"``), or
      ``responder(body) -> str`` to answer from the request body;
    * ``fail_next(path, status, times=1)``: the next calls to ``path`` answer with the
      provider's error JSON and ``status`` (e.g. 429, 500, 529);
    * ``response_models``: request model -> model name the response reports (dated names);
    * ``cache_read_tokens``: cached input tokens reported (Anthropic and OpenAI fields);
    * ``requests``: ``(path, body)`` of every request received.
    """

    def __init__(self) -> None:
        self.reply: str | None = None
        self.responder: Callable[[dict[str, Any]], str] | None = None
        self.response_models: dict[str, str] = {}
        self.cache_read_tokens = 0
        self.chunk_delay = 0.0
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._failures: dict[str, deque[int]] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (OpenAI clients want ``url + "/v1"``)."""
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> FakeLLMServer:
        """Bind a free loopback port and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fake-llm-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- steering --------------------------------------------------------------------------
    def fail_next(self, path: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests to ``path`` with error ``status``."""
        with self._lock:
            self._failures.setdefault(path, deque()).extend([status] * times)

    def _take_failure(self, path: str) -> int | None:
        with self._lock:
            queue = self._failures.get(path)
            return queue.popleft() if queue else None

    def _reply_for(self, prompt: str, body: dict[str, Any]) -> str:
        if self.responder is not None:
            return self.responder(body)
        return self.reply if self.reply is not None else f"echo: {prompt}"

    def _model(self, body: dict[str, Any]) -> str:
        model = str(body.get("model", "unknown"))
        return self.response_models.get(model, model)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeLLMServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?")[0]
        self.fake.requests.append((path, body))
        status = self.fake._take_failure(path)
        anthropic = path.endswith("/messages")
        if status is not None:
            self._error(status, anthropic)
            return
        routes = {
            "/v1/chat/completions": self._chat,
            "/v1/responses": self._responses,
            "/v1/embeddings": self._embeddings,
            "/v1/messages": self._messages,
        }
        route = routes.get(path)
        if route is None:
            self._json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
            return
        route(body)

    # -- plumbing ---------------------------------------------------------------------------
    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", "req_fake")
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: Iterator[tuple[str | None, Any]]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        for name, data in events:
            text = data if isinstance(data, str) else json.dumps(data)
            head = f"event: {name}\n" if name else ""
            self.wfile.write(f"{head}data: {text}\n\n".encode())
            self.wfile.flush()
            if self.fake.chunk_delay:
                time.sleep(self.fake.chunk_delay)

    def _error(self, status: int, anthropic: bool) -> None:
        if anthropic:
            kind = _ANTHROPIC_ERRORS.get(status, "api_error")
            self._json(status, {"type": "error", "error": {"type": kind, "message": kind}})
        else:
            kind = _OPENAI_ERRORS.get(status, "server_error")
            message = f"fake {kind} ({status})"
            self._json(
                status,
                {"error": {"message": message, "type": kind, "param": None, "code": kind}},
            )

    def _pieces(self, text: str) -> list[str]:
        words = text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)]

    # -- OpenAI -------------------------------------------------------------------------------
    def _chat(self, body: dict[str, Any]) -> None:
        from brokle_trace.testing._fake_payloads import chat_chunks, chat_completion

        text = self.fake._reply_for(_last_user_text(body.get("messages")), body)
        usage = _openai_usage(_words(body.get("messages")), _words(text), self.fake)
        model = self.fake._model(body)
        if body.get("stream"):
            with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = chat_chunks(model, self._pieces(text), usage if with_usage else None)
            self._sse((None, c) for c in [*chunks, "[DONE]"])
        else:
            self._json(200, chat_completion(model, text, usage))

    def _responses(self, body: dict[str, Any]) -> None:
        from brokle_trace.testing._fake_payloads import response_events, response_object

        text = self.fake._reply_for(_last_user_text(body.get("input")), body)
        tokens_in, tokens_out = _words(body.get("input")), _words(text)
        usage = {
            "input_tokens": tokens_in,
            "input_tokens_details": {
                "cached_tokens": self.fake.cache_read_tokens,
                "cache_write_tokens": 0,
            },
            "output_tokens": tokens_out,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": tokens_in + tokens_out,
        }
        model = self.fake._model(body)
        if body.get("stream"):
            events = response_events(model, self._pieces(text), usage)
            self._sse((e["type"], e) for e in events)
        else:
            self._json(200, response_object(model, text, usage))

    def _embeddings(self, body: dict[str, Any]) -> None:
        inputs = body.get("input")
        items = [inputs] if isinstance(inputs, str) else list(inputs or [])
        dims = int(body.get("dimensions") or 8)
        data = [
            {"object": "embedding", "index": i, "embedding": [0.1 * (i + 1)] * dims}
            for i in range(len(items))
        ]
        tokens = _words(items)
        self._json(
            200,
            {
                "object": "list",
                "data": data,
                "model": self.fake._model(body),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    # -- Anthropic ----------------------------------------------------------------------------
    def _messages(self, body: dict[str, Any]) -> None:
        from brokle_trace.testing._fake_payloads import anthropic_events, anthropic_message

        text = self.fake._reply_for(_last_user_text(body.get("messages")), body)
        cached = self.fake.cache_read_tokens
        usage = {
            "input_tokens": _words(body.get("messages")) + _words(body.get("system")),
            "output_tokens": _words(text),
            "cache_read_input_tokens": cached,
            "cache_creation_input_tokens": 0,
        }
        model = self.fake._model(body)
        if body.get("stream"):
            self._sse((e["type"], e) for e in anthropic_events(model, self._pieces(text), usage))
        else:
            self._json(200, anthropic_message(model, text, usage))


def _openai_usage(tokens_in: int, tokens_out: int, fake: FakeLLMServer) -> dict[str, Any]:
    # OpenAI's prompt_tokens include the cached ones; cached reads are a subset.
    prompt = tokens_in + fake.cache_read_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": tokens_out,
        "total_tokens": prompt + tokens_out,
        "prompt_tokens_details": {"cached_tokens": fake.cache_read_tokens},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
