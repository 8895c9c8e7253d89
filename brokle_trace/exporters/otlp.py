"""OTLP/HTTP (protobuf, gzip) to any OpenTelemetry backend: Collector, Jaeger, Tempo, Phoenix,
Langfuse, Brokle.

Messages are the OpenTelemetry project's own protobuf classes
(``opentelemetry-proto``), filled in place (``_encode``); a test checks they equal what the
SDK's ``encode_spans`` builds for the same spans. Requests are capped in bytes *before*
compression: a batch over the cap is split, and a single span over it is dropped and counted,
never blocking the rest. A backend (or the proxy in front of it: nginx's default body limit
is 1 MB) that answers 413 gets the request halved and retried, down to a single span,
dropped alone (``too_large``) if still refused; the cap is then lowered for later batches.

Encoding and sending are two steps (``prepare_batch``, ``send_prepared``) so the export
worker can encode a batch while this exporter's lane is busy: a lane that is behind holds
request bodies, not thousands of ``SpanData`` for the garbage collector to walk.
"""

from __future__ import annotations

import gzip
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

from brokle_trace._model import PreparedBatch, SpanData
from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime.text import clean_value
from brokle_trace.exporters._encode import encode_span_data, fill_attributes, halves
from brokle_trace.exporters._frame import (
    EncodedSpans,
    GroupKey,
    request,
    request_size,
    resource_header,
    scope_header,
    total_size,
)
from brokle_trace.exporters._http import HttpSender, redacted_url
from brokle_trace.exporters._otlp_config import (
    CONTROL,
    DEFAULT_ENDPOINT,
    check_endpoint,
    check_header,
    env_timeout,
    parse_headers,
    resolve,
    resolve_endpoint,
)
from brokle_trace.exporters._readable import ResourceCache
from brokle_trace.typing import ExportResult

__all__ = [
    "DEFAULT_ENDPOINT",
    "OTLPExporter",
    "check_endpoint",
    "check_header",
    "parse_headers",
    "resolve_endpoint",
]

DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
#: Measured on 512-span batches of S1/S2/S6/S7 spans (docs/performance.md): level 1 costs
#: half of level 5's CPU for a ratio within ~10 % of it.
GZIP_LEVEL = 1
_LOG_EVERY_S = 60.0


class OTLPExporter:
    """Send spans to an OpenTelemetry backend over OTLP/HTTP.

    Configure it through ``configure(exporter="otlp", otlp_endpoint=..., api_key=...)`` or
    ``BROKLE_EXPORTER=otlp`` with ``BROKLE_OTLP_ENDPOINT`` / the standard
    ``OTEL_EXPORTER_OTLP_*`` variables, or build one yourself. ``api_key`` is sent as
    ``Authorization: Bearer <key>`` and never logged or shown in ``repr``.

    Example:
        >>> from brokle_trace import configure
        >>> from brokle_trace.exporters import OTLPExporter
        >>> exporter = OTLPExporter("http://localhost:4318", headers={"x-team": "ml"})
        >>> exporter.endpoint
        'http://localhost:4318/v1/traces'
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        compression: str | None = None,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        certificate: str | None = None,
        backoff_initial: float = 1.0,
        backoff_max: float = 32.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        url, source, typed = resolve(endpoint, env)
        self.endpoint = check_endpoint(url, source, typed)
        merged: dict[str, str] = {}
        for var in ("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"):
            for key, value in parse_headers(env.get(var), strict=True, source=var).items():
                merged[key] = check_header(key, value, var)
        for key, value in (headers or {}).items():
            merged[key] = check_header(key, value, "otlp_headers")
        # A key read from a file made with `echo` ends with a newline: never part of a key.
        api_key = api_key.strip() if api_key else api_key
        if api_key:
            if CONTROL.search(api_key) or " " in api_key:
                raise ValueError("api_key contains whitespace or a control character (not shown)")
            merged["Authorization"] = f"Bearer {api_key}"
        source = "compression"
        if not compression:
            for var in ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"):
                if env.get(var):
                    compression, source = env[var], var
                    break
        compression = (compression or "gzip").strip().lower()
        if compression not in ("gzip", "none"):
            raise ValueError(f"{source}={compression!r}: OTLP compression is 'gzip' or 'none'")
        self.compression = compression
        self.gzip = compression == "gzip"
        self.timeout = timeout if timeout is not None else (env_timeout(env) or 10.0)
        self.max_request_bytes = max_request_bytes
        wire = {"Content-Type": "application/x-protobuf", "User-Agent": "brokle-trace"}
        if compression == "gzip":
            wire["Content-Encoding"] = "gzip"
        wire.update(merged)
        cafile = (
            certificate
            or env.get("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE")
            or env.get("OTEL_EXPORTER_OTLP_CERTIFICATE")
        )
        # Everything resolved, so after_fork can rebuild the same exporter without the env.
        self._config: dict[str, Any] = {
            "headers": merged,
            "timeout": self.timeout,
            "compression": compression,
            "max_request_bytes": max_request_bytes,
            "certificate": cafile,
            "backoff_initial": backoff_initial,
            "backoff_max": backoff_max,
        }
        self._sender = HttpSender(
            self.endpoint,
            wire,
            cafile=cafile,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
        )
        self._resources = ResourceCache()
        self._resource_bytes: dict[GroupKey, bytes] = {}
        self._scope_bytes: dict[GroupKey, bytes] = {}
        self._lock = threading.Lock()
        self._drops: dict[str, int] = {}
        self._warnings = _errors.RateLimiter(_LOG_EVERY_S)
        self._shutdown = False
        #: The request cap in force: ``max_request_bytes``, or less once a 413 taught us.
        self._cap = max_request_bytes
        #: The smallest request body a backend refused as too large (413).
        self._refused = math.inf
        self._last_error = ""
        self.counters = {
            "requests": 0,
            "attempts": 0,
            "failed_requests": 0,
            "spans_sent": 0,
            "too_large": 0,
            "rejected": 0,
            "split_413": 0,
            "encode_errors": 0,
        }

    @property
    def last_error(self) -> str:
        """Why the last request failed, with the endpoint ("" if none did); while a request
        is still retrying, why its latest attempt failed.

        Example:
            >>> OTLPExporter("http://localhost:4318").last_error
            ''
        """
        reason = self._sender.last_failure or self._last_error
        return f"{reason} ({redacted_url(self.endpoint)})" if reason else ""

    def __repr__(self) -> str:
        names = sorted(self._config["headers"])
        return f"OTLPExporter(endpoint={redacted_url(self.endpoint)!r}, headers={names})"

    # -- export ---------------------------------------------------------------------------------
    def export(self, spans: Sequence[SpanData] | EncodedSpans) -> ExportResult:
        """Encode and send ``spans``; FAILURE if any of them was not delivered."""
        return self.send_prepared(self.prepare_batch(spans))

    #: The export worker may hand ``export``/``prepare_batch`` an ``EncodedSpans`` batch
    #: (span bytes from records, ``_export.otlp_spans``) instead of SpanData.
    accepts_encoded_spans = True

    @property
    def prepares_batches(self) -> bool:
        """True unless ``export`` was replaced: the worker may then call ``prepare_batch``
        and ``send_prepared`` instead (a subclass's own ``export`` is always honoured).

        Example:
            >>> OTLPExporter("http://localhost:4318").prepares_batches
            True
        """
        return type(self).export is OTLPExporter.export and "export" not in vars(self)

    def prepare_batch(self, spans: Sequence[SpanData] | EncodedSpans) -> PreparedBatch:
        """``spans`` as request bodies under the byte cap, compressed; spans that cannot be
        sent (over the cap alone, impossible to encode) are counted in ``drops``.

        Example:
            >>> s = SpanData(name="x", trace_id="1" * 32, span_id="2" * 16,
            ...              start_time_ns=1, end_time_ns=2)
            >>> prepared = OTLPExporter("http://localhost:4318").prepare_batch([s])
            >>> [count for count, _ in prepared.chunks], prepared.drops
            ([1], {})
        """
        drops: dict[str, int] = {}
        chunks = [(count, self._compress(raw)) for count, raw in self._requests(spans, drops)]
        return PreparedBatch(chunks, drops, len(spans))

    def _compress(self, raw: bytes) -> bytes:
        return gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0) if self.gzip else raw

    def send_prepared(self, prepared: PreparedBatch) -> ExportResult:
        """Send what ``prepare_batch`` made; FAILURE if any of it was not delivered."""
        for reason, count in prepared.drops.items():
            self._lose(reason, count)
        if self._shutdown:
            self._lose("shutdown", sum(count for count, _ in prepared.chunks))
            return ExportResult.FAILURE
        deadline = time.monotonic() + self.timeout
        ok = True
        pending = list(reversed(prepared.chunks))
        while pending:
            count, body = pending.pop()
            if count > 1 and len(body) >= 0.9 * self._refused:
                # About as big as a body the backend refused (batches alike differ by a few
                # percent): split it without asking again.
                pending.extend(reversed(self._split(body)))
                continue
            result = self._sender.send(body, deadline)
            self.counters["requests"] += 1
            self.counters["attempts"] += result.attempts
            if result.ok:
                self.counters["spans_sent"] += count - self._partial(result.body)
                continue
            if result.status == 413:
                halves = self._refused_as_too_large(count, body)
                pending.extend(reversed(halves))
                continue
            ok = False
            self.counters["failed_requests"] += 1
            self._lose("export_failed", count)
            self._last_error = result.reason
            self._log(
                f"status:{result.status}",
                "brokle_trace: OTLP export of %d span(s) to %s failed: %s",
                count,
                redacted_url(self.endpoint),
                result.reason,
            )
        return ExportResult.SUCCESS if ok else ExportResult.FAILURE

    def _refused_as_too_large(self, count: int, body: bytes) -> list[tuple[int, bytes]]:
        """A 413: the request halved (and the cap lowered), or its one span dropped."""
        if count <= 1:
            self.counters["too_large"] += 1
            self._lose("too_large", 1)
            self._last_error = f"HTTP 413: a span over the backend's size limit ({len(body)} bytes)"
            self._log(
                "too_large:413",
                "brokle_trace: the OTLP backend refused one span as too large (413, %d bytes); "
                "dropped alone (too_large)",
                len(body),
            )
            return []
        self._refused = min(self._refused, len(body))
        self._log(
            "split_413",
            "brokle_trace: the OTLP backend refused a %d-byte request (413); splitting "
            "requests under that size from now on",
            len(body),
        )
        return self._split(body)

    def _split(self, body: bytes) -> list[tuple[int, bytes]]:
        raw = gzip.decompress(body) if self.gzip else body
        # Later batches are cut smaller before they are compressed, too.
        self._cap = max(1024, min(self._cap, len(raw) // 2))
        self.counters["split_413"] += 1
        return [(n, self._compress(half)) for n, half in halves(raw)]

    def _requests(self, spans: Any, drops: dict[str, int]) -> list[tuple[int, bytes]]:
        """``spans`` (SpanData, or ``EncodedSpans`` from the worker) as request bodies under
        the byte cap, framed around each span's bytes (encoded once, never again to size
        or split); oversized spans and spans that cannot be encoded are counted in
        ``drops``."""
        if not spans:
            return []
        encoded = spans if type(spans) is EncodedSpans else encode_span_data(spans)
        for name, exc in encoded.failures:
            self.counters["encode_errors"] += 1
            self._log(
                "encode",
                "brokle_trace: span %r cannot be encoded for OTLP (%s: %s); dropped alone",
                name,
                type(exc).__name__,
                exc,
            )
        for reason, count in encoded.drops.items():
            drops[reason] = drops.get(reason, 0) + count
        groups = encoded.groups
        if not groups:
            return []
        heads = {key: (self._resource_header(key), self._scope_header(key)) for key in groups}
        cap = self._cap
        if total_size(encoded, heads) <= cap:
            parts = [(key, memoryview(buf)) for key, (buf, _) in groups.items()]
            n = sum(len(ends) for _, ends in groups.values())
            return [(n, request(parts, self._resource_header, self._scope_header))]
        out: list[tuple[int, bytes]] = []
        chunk: list[tuple[GroupKey, int, int]] = []  # (group, start, end) byte ranges
        count = size = 0

        def close() -> None:
            views = [(key, memoryview(groups[key][0])[a:b]) for key, a, b in chunk]
            out.append((count, request(views, self._resource_header, self._scope_header)))

        for key, _, start, end in encoded.spans():
            resource, scope = heads[key]
            # A one-span request's size includes the resource and scope once, so the sum of
            # these over-estimates a chunk's real size: a chunk never exceeds the cap.
            one = request_size(len(resource), len(scope), end - start)
            if one > cap:
                self.counters["too_large"] += 1
                drops["too_large"] = drops.get("too_large", 0) + 1
                self._log(
                    "too_large",
                    "brokle_trace: dropped a span of %d bytes encoded, over the %d-byte OTLP "
                    "request cap (raise otlp_max_request_bytes or lower capture limits)",
                    one,
                    cap,
                )
                continue
            if chunk and size + one > cap:
                close()
                chunk, count, size = [], 0, 0
            if chunk and chunk[-1][0] == key and chunk[-1][2] == start:
                chunk[-1] = (key, chunk[-1][1], end)
            else:
                chunk.append((key, start, end))
            count += 1
            size += one
        if chunk:
            close()
        return out

    def _resource_header(self, key: GroupKey) -> bytes:
        """The framed resource of a group (cached: the same few for a process's life)."""
        facts = key[:3]
        header = self._resource_bytes.get(facts)
        if header is None:
            attributes = dict(self._resources.get(*facts).attributes)
            try:
                header = resource_header(attributes, fill_attributes)
            except Exception:  # text that cannot be encoded (a lone surrogate): cleaned
                header = resource_header(clean_value(attributes), fill_attributes)
            self._resource_bytes[facts] = header
        return header

    def _scope_header(self, key: GroupKey) -> bytes:
        scope = key[3:]
        header = self._scope_bytes.get(scope)
        if header is None:
            try:
                header = scope_header(*scope)
            except Exception:
                header = scope_header(*clean_value(list(scope)))
            self._scope_bytes[scope] = header
        return header

    def _partial(self, body: bytes) -> int:
        """Count the spans a 2xx response says it rejected (OTLP partial success)."""
        if not body:
            return 0
        try:
            response = ExportTraceServiceResponse.FromString(body)
        except Exception:  # not protobuf (some proxies answer JSON or text): nothing to count
            return 0
        rejected = int(response.partial_success.rejected_spans)
        if rejected:
            self.counters["rejected"] += rejected
            self._lose("export_failed", rejected)
            self._log(
                "partial",
                "brokle_trace: the OTLP backend rejected %d span(s): %s",
                rejected,
                response.partial_success.error_message[:200],
            )
        return rejected

    # -- accounting -----------------------------------------------------------------------------
    def _lose(self, reason: str, count: int) -> None:
        with self._lock:
            self._drops[reason] = self._drops.get(reason, 0) + count

    def take_drops(self) -> dict[str, int]:
        """The spans of the last batch this exporter lost, by reason (and reset)."""
        with self._lock:
            drops, self._drops = self._drops, {}
        return drops

    def _log(self, kind: str, message: str, *args: Any) -> None:
        self._warnings.warn(kind, message, *args)

    def stats(self) -> dict[str, Any]:
        """Request, attempt and loss counters for this exporter.

        Example:
            >>> OTLPExporter("http://localhost:4318").stats()["requests"]
            0
        """
        return {"endpoint": redacted_url(self.endpoint), **self.counters}

    # -- lifecycle ------------------------------------------------------------------------------
    def after_fork(self) -> OTLPExporter:
        """A fresh exporter for a forked child: its own connection, locks and counters."""
        # The resolved URL is passed as the signal-specific variable so it is used verbatim.
        return OTLPExporter(
            **self._config, environ={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": self.endpoint}
        )

    def shutdown(self) -> None:
        """Stop retrying, end a blocked request, close the connection. Idempotent."""
        self._shutdown = True
        self._sender.abort()
        self._sender.close()
