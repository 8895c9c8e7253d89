"""The parts of run.py that are not scenarios: the hand-written OpenTelemetry baseline, the
garbage collector's clock and the loopback OTLP receiver (run in its own process)."""

from __future__ import annotations

import functools
import gc
import inspect
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


# -- the OpenTelemetry baseline ------------------------------------------------------------------


class EncodingExporter(SpanExporter):
    """Encodes every batch to OTLP protobuf bytes and throws them away (no network)."""

    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        encode_spans(spans).SerializeToString()
        self.exported += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def otel_setup() -> tuple[Decorator, Decorator, EncodingExporter, TracerProvider]:
    """The plain decorator, the one that records ``json.dumps`` of its arguments and result,
    their exporter and provider."""
    exporter = EncodingExporter()
    provider = TracerProvider()
    provider.add_span_processor(
        BatchSpanProcessor(exporter, max_queue_size=1_000_000, max_export_batch_size=512)
    )
    tracer = provider.get_tracer("bench")

    def otel_observe(fn: Callable[..., Any]) -> Callable[..., Any]:
        name = fn.__name__
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                with tracer.start_as_current_span(name):
                    return await fn(*args, **kwargs)

            return awrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with tracer.start_as_current_span(name):
                return fn(*args, **kwargs)

        return wrapper

    def otel_capture(fn: Callable[..., Any]) -> Callable[..., Any]:
        # What a hand-written decorator that records its inputs/outputs does (sync only).
        name = fn.__name__

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with tracer.start_as_current_span(name) as span:
                span.set_attribute("input.value", json.dumps([args, kwargs], default=str))
                result = fn(*args, **kwargs)
                span.set_attribute("output.value", json.dumps(result, default=str))
                return result

        return wrapper

    return otel_observe, otel_capture, exporter, provider


class GcClock:
    """CPU seconds spent inside the garbage collector, from ``gc.callbacks``.

    ``thread_time`` of the thread that collects (the callbacks run on it, start and stop):
    wall time would count the moments the collecting thread is descheduled, which on a
    loaded machine made the share exceed 100 %.
    """

    def __init__(self) -> None:
        self.total = 0.0
        self._t0 = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.thread_time()
        else:
            self.total += time.thread_time() - self._t0


# -- the loopback OTLP receiver (its own process: its CPU is not ours) ------------------------


def serve(port_file: str) -> None:
    """Accept OTLP/HTTP posts and discard them."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Path(port_file + ".tmp").write_text(str(server.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


def start_receiver() -> tuple[Any, str]:
    import subprocess

    port_file = os.path.join(tempfile.mkdtemp(), "port")
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), port_file])
    for _ in range(400):
        if os.path.exists(port_file):
            return proc, f"http://127.0.0.1:{Path(port_file).read_text()}"
        time.sleep(0.025)
    proc.kill()
    raise RuntimeError("the OTLP receiver did not start")


if __name__ == "__main__":  # the receiver process
    serve(sys.argv[1])
