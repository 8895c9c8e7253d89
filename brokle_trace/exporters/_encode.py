"""SpanData -> OTLP ``Span`` messages, filled straight into the OpenTelemetry project's own
protobuf classes (``opentelemetry-proto``): the reference mapping.

``span_bytes``/``add_span_data`` encode one span at a time for ``_frame.EncodedSpans`` (the
exporter frames requests around those bytes); ``encode_request`` builds the whole request
message the same way, the reference the parity tests hold the framed requests and the
record fast path (``_export.otlp_spans``) to.

Why not ``encode_spans`` over SDK ``ReadableSpan`` objects: building a ReadableSpan and then
kwargs-constructed messages costs ~39 us per span; filling the messages in place costs ~8.
The wire format is protobuf's and the schema OpenTelemetry's either way, and a test checks
that this produces exactly the message ``encode_spans`` produces for the same spans.

A span that cannot be encoded (a lone surrogate in its name, from ``os.listdir`` on a
non-UTF-8 filesystem) fails alone: with ``on_error`` given, the half-filled message is
removed, the span is retried once with its text cleaned (``clean_span``), and if it still
fails ``on_error`` is told and the rest of the request goes on. The common path pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span, SpanFlags, Status

from brokle_trace import semconv
from brokle_trace._model import SpanData
from brokle_trace._runtime.text import clean_span, clean_value
from brokle_trace.exporters._frame import EncodedSpans, GroupKey
from brokle_trace.exporters._readable import CLIENT_TYPES, SCOPE, ResourceCache
from brokle_trace.exporters._structure import Structure, dropped_counts, structure_of

__all__ = [
    "add_span_data",
    "encode_request",
    "encode_span_data",
    "fill_attributes",
    "halves",
    "span_bytes",
    "span_key",
]

_INTERNAL = Span.SpanKind.SPAN_KIND_INTERNAL
_CLIENT = Span.SpanKind.SPAN_KIND_CLIENT
_ERROR = Status.StatusCode.STATUS_CODE_ERROR
_HAS_IS_REMOTE = SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
_IS_REMOTE = SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK


def _set_value(target: AnyValue, value: Any) -> None:
    kind = type(value)
    if kind is str:
        target.string_value = value
    elif kind is bool:
        target.bool_value = value
    elif kind is int:
        target.int_value = value
    elif kind is float:
        target.double_value = value
    elif kind is bytes:
        target.bytes_value = value
    else:  # to_otel_attributes only yields scalars and homogeneous scalar lists
        values = target.array_value.values
        for item in value:
            _set_value(values.add(), item)


def _fill_attributes(target: Any, attributes: dict[str, Any]) -> None:
    add = target.add
    for key, value in attributes.items():
        kv: KeyValue = add()
        kv.key = key
        _set_value(kv.value, value)


#: Public name for the record fast path's templates (same filling, same order).
fill_attributes = _fill_attributes


def _fill_structure(target: Span, structure: Structure) -> None:
    """A third-party span's own events and links (see exporters/_structure.py)."""
    for name, when, attributes in structure.events:
        event = target.events.add()
        event.name = name
        event.time_unix_nano = when
        _fill_attributes(event.attributes, attributes)
    for trace_id, span_id, attributes, remote in structure.links:
        link = target.links.add()
        link.trace_id = trace_id.to_bytes(16, "big")
        link.span_id = span_id.to_bytes(8, "big")
        _fill_attributes(link.attributes, attributes)
        link.flags = int(_HAS_IS_REMOTE | _IS_REMOTE) if remote else int(_HAS_IS_REMOTE)


def _fill_span(target: Span, span: SpanData, structure: Structure) -> None:
    target.trace_id = bytes.fromhex(span.trace_id)
    target.span_id = bytes.fromhex(span.span_id)
    flags = int(_HAS_IS_REMOTE)
    if span.parent_span_id is not None:
        target.parent_span_id = bytes.fromhex(span.parent_span_id)
        if span.attributes.get("brokle.remote_parent"):
            flags |= int(_IS_REMOTE)
    target.flags = flags
    target.name = span.name
    if structure.trace_state:
        target.trace_state = structure.trace_state
    if structure.kind is not None:
        # protobuf's enum counts UNSPECIFIED as 0, the SDK's INTERNAL as 0
        target.kind = Span.SpanKind.ValueType(structure.kind + 1)
    else:
        target.kind = _CLIENT if span.type in CLIENT_TYPES else _INTERNAL
    target.start_time_unix_nano = span.start_time_ns
    target.end_time_unix_nano = span.end_time_ns
    attributes, dropped = semconv.to_otel_attributes(span)
    _fill_attributes(target.attributes, attributes)
    lost_attributes, lost_events, lost_links = dropped_counts(span.attributes)
    target.dropped_attributes_count = dropped + lost_attributes
    target.dropped_events_count = lost_events
    target.dropped_links_count = lost_links
    if structure.events or structure.links:
        _fill_structure(target, structure)
    status = target.status
    status.SetInParent()
    if span.status == "error":
        status.code = _ERROR
        if span.status_message:
            status.message = span.status_message
        error = span.error
        if error is not None:
            event = target.events.add()
            event.name = "exception"
            event.time_unix_nano = span.end_time_ns
            exc = {"exception.type": error.type, "exception.message": error.message}
            if error.stacktrace:
                exc["exception.stacktrace"] = error.stacktrace
            _fill_attributes(event.attributes, exc)


def encode_request(
    spans: Sequence[SpanData],
    resources: ResourceCache,
    on_error: Callable[[SpanData, Exception], None] | None = None,
) -> ExportTraceServiceRequest:
    """One OTLP request for ``spans``, grouped by resource (service, environment, release).

    Without ``on_error`` a span that cannot be encoded raises; with it, that span is left
    out (after one retry with its text cleaned) and ``on_error(span, exc)`` is called.

    Example:
        >>> s = SpanData(name="x", trace_id="1" * 32, span_id="2" * 16,
        ...              start_time_ns=1, end_time_ns=2)
        >>> encode_request([s], ResourceCache({})).resource_spans[0].scope_spans[0].spans[0].name
        'x'
    """
    request = ExportTraceServiceRequest()
    groups: dict[tuple[str | None, str | None, str | None], Any] = {}
    scopes: dict[tuple[Any, ...], ScopeSpans] = {}
    ours = (SCOPE.name, SCOPE.version or "")
    for span in spans:
        key = (span.service, span.environment, span.release)
        structure = structure_of(span.attributes)
        scope_key = (*key, *(structure.scope or ours))
        scope = scopes.get(scope_key)
        if scope is None:
            resource_spans = groups.get(key)
            if resource_spans is None:
                resource_spans = groups[key] = request.resource_spans.add()
                resource = dict(resources.get(*key).attributes)
                try:
                    _fill_attributes(resource_spans.resource.attributes, resource)
                except Exception:
                    if on_error is None:
                        raise
                    del resource_spans.resource.attributes[:]
                    _fill_attributes(resource_spans.resource.attributes, clean_value(resource))
            scope = resource_spans.scope_spans.add()
            scope.scope.name, scope.scope.version = structure.scope or ours
            scopes[scope_key] = scope
        if on_error is None:
            _fill_span(scope.spans.add(), span, structure)
            continue
        try:
            _fill_span(scope.spans.add(), span, structure)
        except Exception:
            del scope.spans[-1]
            try:
                clean = clean_span(span)
                _fill_span(scope.spans.add(), clean, structure_of(clean.attributes))
            except Exception as exc:
                del scope.spans[-1]
                on_error(span, exc)
    return request


_OURS = (SCOPE.name, SCOPE.version or "")


def span_key(span: SpanData) -> GroupKey:
    """The request group of ``span``: its resource facts and its scope (ours or a
    third-party span's own), as ``encode_request`` groups.

    Example:
        >>> s = SpanData(name="x", trace_id="1" * 32, span_id="2" * 16,
        ...              start_time_ns=1, end_time_ns=2, service="api")
        >>> span_key(s)[:3]
        ('api', None, None)
    """
    scope = structure_of(span.attributes).scope if span.attributes else None
    return (span.service, span.environment, span.release, *(scope or _OURS))


def span_bytes(span: SpanData) -> bytes:
    """The serialised OTLP ``Span`` of ``span`` (raises if it cannot be encoded).

    Example:
        >>> s = SpanData(name="x", trace_id="1" * 32, span_id="2" * 16,
        ...              start_time_ns=1, end_time_ns=2)
        >>> Span.FromString(span_bytes(s)).name
        'x'
    """
    target = Span()
    _fill_span(target, span, structure_of(span.attributes))
    data: bytes = target.SerializeToString()
    return data


def add_span_data(encoded: EncodedSpans, span: SpanData) -> None:
    """``span`` encoded into ``encoded``; a span that cannot be encoded is retried once with
    its text cleaned, then counted there as lost (``encode_request``'s rule)."""
    try:
        data = span_bytes(span)
    except Exception:
        try:
            span = clean_span(span)
            data = span_bytes(span)
        except Exception as exc:
            encoded.lost(span.name, exc)
            return
    encoded.add(span_key(span), data)


def encode_span_data(spans: Sequence[SpanData]) -> EncodedSpans:
    """A batch of SpanData encoded span by span (``add_span_data``).

    Example:
        >>> s = SpanData(name="x", trace_id="1" * 32, span_id="2" * 16,
        ...              start_time_ns=1, end_time_ns=2)
        >>> len(encode_span_data([s, s]))
        2
    """
    encoded = EncodedSpans()
    for span in spans:
        add_span_data(encoded, span)
    return encoded


def halves(raw: bytes) -> list[tuple[int, bytes]]:
    """An encoded request split into two with half of its spans each (resources kept)."""
    request = ExportTraceServiceRequest.FromString(raw)
    where = [
        (r, s, i)
        for r, rs in enumerate(request.resource_spans)
        for s, ss in enumerate(rs.scope_spans)
        for i in range(len(ss.spans))
    ]
    middle = len(where) // 2
    out = []
    for part in (where[:middle], where[middle:]):
        half = ExportTraceServiceRequest()
        last: tuple[int, int] | None = None
        scope: Any = None
        resource: Any = None
        last_r: int | None = None
        for r, s, i in part:
            source = request.resource_spans[r]
            if r != last_r:
                resource = half.resource_spans.add()
                resource.resource.CopyFrom(source.resource)
                resource.schema_url = source.schema_url
                last_r = r
            if (r, s) != last:
                scope = resource.scope_spans.add()
                scope.scope.CopyFrom(source.scope_spans[s].scope)
                scope.schema_url = source.scope_spans[s].schema_url
                last = (r, s)
            scope.spans.add().CopyFrom(source.scope_spans[s].spans[i])
        out.append((len(part), half.SerializeToString()))
    return out
