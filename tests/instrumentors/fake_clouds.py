"""Loopback fakes of AWS Bedrock Runtime and the Gemini API, for their real SDKs.

``boto3.client("bedrock-runtime", endpoint_url=fake.url)`` and ``genai.Client(http_options=
HttpOptions(base_url=fake.url))`` talk to these as to the real services: Bedrock's
Converse, ConverseStream (AWS event-stream framing, CRCs included) and InvokeModel
(Anthropic's body); Gemini's generateContent and streamGenerateContent (server-sent events).
``fail`` answers the next requests with the service's own error shape. ``requests`` keeps
(path, headers, body) of each request.
"""

from __future__ import annotations

import json
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeBedrock", "FakeGemini"]

#: What every fake answers, and the usage it reports (Gemini: 4 of the prompt cached,
#: 1 thinking token).
ANSWER = "Paris."
INPUT_TOKENS, OUTPUT_TOKENS = 11, 2


class _Fake(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.fail = 0
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> _Fake:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: _Fake

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _read(self) -> Any:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.loads(raw) if raw else {}
        self.server.requests.append((self.path, dict(self.headers), body))
        return body

    def _failing(self) -> bool:
        if self.server.fail <= 0:
            return False
        self.server.fail -= 1
        return True


def _event_header(name: str, value: str) -> bytes:
    key, text = name.encode(), value.encode()
    return bytes([len(key)]) + key + b"\x07" + struct.pack(">H", len(text)) + text


def bedrock_event(event_type: str, payload: Any) -> bytes:
    """One message of AWS's event-stream framing (prelude, headers, payload, CRC32s)."""
    headers = (
        _event_header(":event-type", event_type)
        + _event_header(":content-type", "application/json")
        + _event_header(":message-type", "event")
    )
    body = json.dumps(payload).encode()
    prelude = struct.pack(">II", 12 + len(headers) + len(body) + 4, len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + body
    return message + struct.pack(">I", zlib.crc32(message))


_BEDROCK_USAGE = {
    "inputTokens": INPUT_TOKENS,
    "outputTokens": OUTPUT_TOKENS,
    "totalTokens": INPUT_TOKENS + OUTPUT_TOKENS,
}


class _BedrockHandler(_Handler):
    def do_POST(self) -> None:
        self._read()
        operation = self.path.rsplit("/", 1)[-1]  # /model/<model id>/<operation>
        if self._failing():
            body = json.dumps({"message": "The security token included in the request is invalid."})
            self._send(
                403,
                body.encode(),
                "application/json",
                **{"x-amzn-ErrorType": "UnrecognizedClientException"},
            )
            return
        if operation == "converse-stream":
            events = [
                bedrock_event("messageStart", {"role": "assistant"}),
                bedrock_event(
                    "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Par"}}
                ),
                bedrock_event(
                    "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "is."}}
                ),
                bedrock_event("contentBlockStop", {"contentBlockIndex": 0}),
                bedrock_event("messageStop", {"stopReason": "end_turn"}),
                bedrock_event("metadata", {"usage": _BEDROCK_USAGE, "metrics": {"latencyMs": 5}}),
            ]
            self._send(200, b"".join(events), "application/vnd.amazon.eventstream")
            return
        if operation == "converse":
            out: dict[str, Any] = {
                "output": {"message": {"role": "assistant", "content": [{"text": ANSWER}]}},
                "stopReason": "end_turn",
                "usage": _BEDROCK_USAGE,
                "metrics": {"latencyMs": 5},
            }
        else:  # invoke: an Anthropic model's own response body
            out = {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": "claude-3-5-haiku-20241022",
                "content": [{"type": "text", "text": ANSWER}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS},
            }
        self._send(200, json.dumps(out).encode(), "application/json")


class FakeBedrock(_Fake):
    """A loopback Bedrock Runtime (``with FakeBedrock() as fake: ... fake.url``)."""

    def __init__(self) -> None:
        super().__init__(_BedrockHandler)


def _gemini_reply(text: str, final: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {
        "content": {"role": "model", "parts": [{"text": text}]},
        "index": 0,
    }
    out: dict[str, Any] = {
        "candidates": [candidate],
        "modelVersion": "gemini-2.0-flash-001",
        "responseId": "resp-fake",
    }
    if final:
        candidate["finishReason"] = "STOP"
        out["usageMetadata"] = {
            "promptTokenCount": INPUT_TOKENS,
            "candidatesTokenCount": OUTPUT_TOKENS,
            "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS + 1,
            "cachedContentTokenCount": 4,
            "thoughtsTokenCount": 1,
        }
    return out


class _GeminiHandler(_Handler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self._read()
        if self._failing():
            error = {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT"}
            self._send(400, json.dumps({"error": error}).encode(), "application/json")
            return
        if ":streamGenerateContent" in self.path:
            chunks = [_gemini_reply("Par", False), _gemini_reply("is.", True)]
            body = b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)
            self._send(200, body, "text/event-stream")
            return
        self._send(200, json.dumps(_gemini_reply(ANSWER, True)).encode(), "application/json")


class FakeGemini(_Fake):
    """A loopback Gemini API (``with FakeGemini() as fake: ... fake.url``)."""

    def __init__(self) -> None:
        super().__init__(_GeminiHandler)
