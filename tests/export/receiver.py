"""A real OTLP/HTTP receiver on 127.0.0.1 that decodes requests with opentelemetry-proto.

Each request is answered by the next scripted ``Reply`` (the last one repeats): a status with
headers and body, or an action: ``"reset"`` (TCP RST, no response), ``"hang"`` (a blackhole:
accept and never answer until the receiver closes) or ``"drip"`` (a 200 whose status line
and headers trickle in one byte every ``drip_every`` seconds, so no single read times out).
``max_body`` answers 413 to a larger body, like nginx's ``client_max_body_size``. ``port``
binds a given port: start a receiver on a port that refused connections until now, and the
collector is back up.
"""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    action: str = ""  # "", "reset", "hang", "drip"


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    raw_size: int  # bytes after decompression (the protobuf request)
    request: ExportTraceServiceRequest


def partial_success(rejected: int, message: str = "rejected") -> bytes:
    response = ExportTraceServiceResponse()
    response.partial_success.rejected_spans = rejected
    response.partial_success.error_message = message
    return response.SerializeToString()


class Receiver:
    def __init__(
        self,
        replies: list[Reply] | None = None,
        *,
        max_body: int | None = None,
        port: int = 0,
        drip_every: float = 0.2,
    ) -> None:
        self.replies = list(replies or [Reply()])
        self.max_body = max_body
        self.drip_every = drip_every
        self.received: list[Received] = []
        self.too_large = 0
        self.attempts = 0
        self.lock = threading.Lock()
        self.closing = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    index = receiver.attempts
                    receiver.attempts += 1
                    reply = receiver.replies[min(index, len(receiver.replies) - 1)]
                if reply.action == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()
                    self.close_connection = True
                    return
                if reply.action == "hang":
                    receiver.closing.wait(30)
                    self.close_connection = True
                    return
                if receiver.max_body is not None and length > receiver.max_body:
                    with receiver.lock:
                        receiver.too_large += 1
                    self.send_response(413)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if reply.action == "drip":
                    head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + b"X-Pad: " + b"." * 200
                    for byte in head:
                        if receiver.closing.wait(receiver.drip_every):
                            break
                        try:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                        except OSError:
                            break
                    self.close_connection = True
                    return
                if reply.status < 300:
                    gzipped = self.headers.get("Content-Encoding") == "gzip"
                    raw = gzip.decompress(body) if gzipped else body
                    request = ExportTraceServiceRequest.FromString(raw)
                    with receiver.lock:
                        receiver.received.append(
                            Received(time.monotonic(), dict(self.headers), len(raw), request)
                        )
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def spans(self) -> list[Any]:
        with self.lock:
            return [
                span
                for r in self.received
                for rs in r.request.resource_spans
                for ss in rs.scope_spans
                for span in ss.spans
            ]

    def resources(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                attrs(rs.resource.attributes)
                for r in self.received
                for rs in r.request.resource_spans
            ]

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


def attrs(kvs: Any) -> dict[str, Any]:
    """Decode a repeated KeyValue into a plain dict."""
    out: dict[str, Any] = {}
    for kv in kvs:
        out[kv.key] = value(kv.value)
    return out


def value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return attrs(v.kvlist_value.values)
    return getattr(v, kind) if kind else None


def closed_port() -> int:
    """A port nothing listens on (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return int(port)
