"""A finished third-party span (an OpenTelemetry SDK ``ReadableSpan``) -> our ``SpanData``.

Spans from instrumentors (OpenInference, OpenLLMetry, any OTel instrumentation) enter the
export queue as a record like ours, marked :data:`FOREIGN`, holding the finished SDK span;
the worker converts it here, through the same redaction and capture limits as our spans:
the name, every attribute value, event and link attributes, the exception's message and
stack trace, and the status message. Their conventions are read through
``semconv.FOREIGN_FIELDS`` into our type, input/output, model, provider and usage.

The span's own attributes are kept (redacted and bounded) next to ours, so an OTLP
backend still receives what the instrumentor wrote; ``input.value``/``output.value`` move
into ``input``/``output`` as the text they are (the OTLP mapping writes them back).
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from typing import Any

import orjson
from opentelemetry.trace import SpanKind, StatusCode

from brokle_trace import capture, semconv
from brokle_trace._export.foreign_conventions import (
    PRICED,
    _io,
    _ours,
    foreign_type,
    plan_of,
    price,
    price_request,
)
from brokle_trace._model import (
    FORMAT_VERSION,
    MAX_STACKTRACE_CHARS,
    ErrorInfo,
    SpanData,
    fast_span_data,
)

__all__ = [
    "FOREIGN",
    "attributes_of",
    "foreign_record",
    "to_span_data",
]


class _Foreign:
    __slots__ = ()

    def __repr__(self) -> str:
        return "FOREIGN"


#: First item of a record that holds a third-party span (ours hold a function's view).
FOREIGN: Any = _Foreign()

#: ``llm._deferred.DEFERRED``, spelled here (the LLM package is imported only when needed).
DEFERRED = "brokle.cost.deferred"
#: Attributes lifted into ``input``/``output`` (not kept twice). Their mime types stay: the
#: lifted JSON text is a str, which alone would go out over OTLP as "text/plain".
_LIFTED = frozenset({"input.value", "output.value"})
_KIND_NAMES = {
    SpanKind.SERVER: "server",
    SpanKind.CLIENT: "client",
    SpanKind.PRODUCER: "producer",
    SpanKind.CONSUMER: "consumer",
}
_UNKNOWN_SERVICE = "unknown_service"
#: Most events and links kept per span; how many more there were is kept as a count.
MAX_EVENTS = 32


def attributes_of(span: Any) -> Mapping[str, Any]:
    """A finished SDK span's attributes as a plain mapping, read once.

    ``span.attributes`` is a read-only proxy over ``BoundedAttributes``, whose every read
    takes a lock in Python (~1.5 us); a third-party span is read some 40 times between its
    end and its export. The SDK keeps the values in the ``BoundedAttributes``' own dict,
    which no one writes after the span ended: read that when it is there (the shortcut a
    test holds equal to the public view), else copy the public view once.
    """
    inner = getattr(getattr(span, "_attributes", None), "_dict", None)
    if isinstance(inner, dict):
        return inner
    return dict(span.attributes or {})


def foreign_record(
    span: Any,
    attributes: Mapping[str, Any] | None,
    trace_attrs: tuple[Any, ...] | None,
    extra: dict[str, Any],
) -> tuple[Any, ...]:
    """The queue record of a finished SDK span (layout of ``_record.seal``'s, marked).

    ``attributes`` may be None: the worker then reads them from the span (``attributes_of``).
    The processor builds the same tuple inline (``_trace.processor``).
    """
    ctx = span.context
    parent = span.parent
    return (
        FOREIGN,
        ctx.trace_id,
        ctx.span_id,
        parent.span_id if parent is not None else 0,
        span.start_time or 0,
        span.end_time or 0,
        span,
        attributes,
        None,
        trace_attrs,
        extra,  # never None: the JSONL fast path then hands the record to to_span_data
        None,
        None,
    )


def _error(span: Any, settings: capture.CaptureSettings) -> tuple[str, str | None, Any]:
    status = span.status
    failed = status is not None and status.status_code is StatusCode.ERROR
    message = status.description if failed else None
    status_message = capture.redact_text(message, settings) if message else None
    if not failed:
        return "ok", None, None
    error = None
    for event in reversed(span.events):
        if event.name == "exception":
            ea = event.attributes or {}
            text = str(ea.get("exception.message", ""))
            stack = ea.get("exception.stacktrace")
            # The type is the instrumentor's text too (any string): redacted like the rest,
            # whole (a token with a dot in it would survive as its last part).
            kind = capture.redact_text(str(ea.get("exception.type", "Exception")), settings)
            error = ErrorInfo(
                type=kind.rsplit(".", 1)[-1],
                message=capture.redact_text(text, settings),
                stacktrace=capture.redact_text(
                    str(stack),
                    settings,
                    field="stacktrace",
                    max_length=MAX_STACKTRACE_CHARS,
                    keep="tail",
                )
                if stack
                else None,
            )
            break
    if status_message is None and error is not None:
        status_message = error.message
    return "error", status_message, error


def _events(span: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    events = span.events
    carried = -1  # the exception event carried as ``error`` (``_error``'s): not kept twice
    status = span.status
    if status is not None and status.status_code is StatusCode.ERROR:
        for i in range(len(events) - 1, -1, -1):
            if events[i].name == "exception":
                carried = i
                break
    for i, event in enumerate(events):
        if i == carried:
            continue
        item: dict[str, Any] = {"name": event.name, "time_unix_nano": event.timestamp}
        if event.attributes:
            item["attributes"] = dict(event.attributes)
        out.append(item)
    return out


def _links(span: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for link in span.links:
        ctx = link.context
        item: dict[str, Any] = {
            "trace_id": f"{ctx.trace_id:032x}",
            "span_id": f"{ctx.span_id:016x}",
        }
        if ctx.is_remote:  # said only when true: a local link's record is as before
            item["is_remote"] = True
        if link.attributes:
            item["attributes"] = dict(link.attributes)
        out.append(item)
    return out


def _sdk_dropped(span: Any, name: str) -> int:
    """How many attributes/events/links the SDK's span limits dropped (0 if it cannot say)."""
    n = getattr(span, name, 0)
    return n if type(n) is int and n > 0 else 0


def _whole_members(header: str, limit: int) -> str:
    """A W3C tracestate header of at most ``limit`` characters: whole members from the left
    (W3C's own way to shorten one), so capture's cut never leaves a malformed last member
    (32 members can reach ~16 000 characters; OTLP and the adapter's parser get the rest)."""
    if len(header) <= limit:
        return header
    cut = header.rfind(",", 0, limit + 1)
    return header[:cut] if cut > 0 else ""


#: Whether a span priced on the worker with no subtree cells skips the cost cell and
#: ``finish`` (``llm._deferred.finish_request``); False: the reference route, always.
PRICE_DIRECT = True
_finish_request: Any = None


def _load_finish_request() -> Any:
    global _finish_request
    from brokle_trace.llm._deferred import finish_request

    _finish_request = finish_request
    return finish_request


def _priced(attributes: dict[str, Any]) -> dict[str, Any]:
    """``attributes`` with the deferred costs (this span's, its subtree's) priced in."""
    if DEFERRED not in attributes:
        return attributes
    from brokle_trace.llm._deferred import finish

    return finish(attributes)


_PRICED_TYPES = frozenset({"llm", "embedding"})
#: What ``to_span_data`` adds of the span's structure, kept first by a cut at max_items.
_STRUCTURE_KEYS = (
    semconv.SCOPE_NAME_ATTRIBUTE,
    semconv.SCOPE_VERSION_ATTRIBUTE,
    semconv.BROKLE_OTEL_KIND,
    semconv.BROKLE_OTEL_TRACE_STATE,
    semconv.BROKLE_REMOTE_PARENT,
    semconv.BROKLE_OTEL_ATTRIBUTES_DROPPED,
    semconv.BROKLE_OTEL_EVENTS_DROPPED,
    semconv.BROKLE_OTEL_LINKS_DROPPED,
    semconv.BROKLE_OTEL_EVENTS,
    semconv.BROKLE_OTEL_LINKS,
)
#: (resource, our resource, fields) of the last span's resource: spans share a few.
_last_resource: tuple[Any, Any, tuple[Any, Any, Any]] = (None, None, (None, None, None))


def _resource_fields(span: Any, resource: Any) -> tuple[Any, Any, Any]:
    """(service, environment, release): the span's resource where it says, else ours."""
    global _last_resource
    theirs = span.resource
    last = _last_resource
    if last[0] is theirs and last[1] is resource:
        return last[2]
    fields = _resolve_resource(theirs, resource)
    _last_resource = (theirs, resource, fields)
    return fields


def _resolve_resource(theirs: Any, resource: Any) -> tuple[Any, Any, Any]:
    attrs = getattr(theirs, "attributes", None) or {}
    service = attrs.get("service.name")
    if not isinstance(service, str) or service.startswith(_UNKNOWN_SERVICE):
        service = resource.service
    environment = attrs.get("deployment.environment.name") or attrs.get("deployment.environment")
    release = attrs.get("service.version")
    return (
        service,
        environment if isinstance(environment, str) else resource.environment,
        release if isinstance(release, str) else resource.release,
    )


def _text(value: Any, settings: capture.CaptureSettings, field: str) -> Any:
    out = capture.redact_value(value, settings, field=field)
    return out if isinstance(out, str) else str(out)


def _relabel(attributes: dict[str, Any], key: str, before: Any, after: Any) -> None:
    """A JSON text that capture cut (or changed) into one that no longer parses is labelled
    ``text/plain``: a backend told ``application/json`` would try to parse it and fail."""
    if after is before or type(after) is not str or after == before:
        return
    mime = attributes.get(key)
    if not isinstance(mime, str) or not mime.lower().startswith("application/json"):
        return
    try:
        orjson.loads(after)
    except orjson.JSONDecodeError:
        attributes[key] = "text/plain"


def to_span_data(
    record: tuple[Any, ...], settings: capture.CaptureSettings, resource: Any
) -> SpanData:
    """The exported ``SpanData`` of a foreign record, redacted and bounded like ours."""
    span = record[6]
    # Read here unless the caller's thread needed them (a roll-up under a running ancestor).
    raw: Mapping[str, Any] = record[7] if record[7] is not None else attributes_of(span)
    trace_attrs = record[9]
    extra: dict[str, Any] = record[10]
    plan = plan_of(raw)
    span_type = foreign_type(raw, plan)
    name = _text(span.name, settings, "name")
    attributes: dict[str, Any] = _ours(raw, span_type, plan)
    attributes.update(extra)
    request = None
    if attributes.pop(PRICED, None) is None and span_type in _PRICED_TYPES:
        # No running ancestor needed it on the caller's thread: say what to price here.
        if DEFERRED in attributes or not PRICE_DIRECT:
            price(None, raw, record[4], attributes, plan)  # its subtree's cells join it
            attributes.pop(PRICED, None)
        else:  # its own cost only: priced below, where finish() would add it
            request = price_request(raw, record[4], attributes, plan)
    # ``attributes.setdefault(key, value)`` for each of theirs but the lifted ones, in C.
    theirs = dict(raw)
    for key in _LIFTED:
        theirs.pop(key, None)
    for key in attributes:
        theirs.pop(key, None)
    attributes.update(theirs)
    scope = span.instrumentation_scope
    if scope is not None:
        attributes[semconv.SCOPE_NAME_ATTRIBUTE] = scope.name
        if scope.version:
            attributes[semconv.SCOPE_VERSION_ATTRIBUTE] = scope.version
    kind = _KIND_NAMES.get(span.kind)
    if kind is not None:
        attributes[semconv.BROKLE_OTEL_KIND] = kind
    # What the SDK's span limits dropped before the span reached us is counted with ours.
    # At most max_items too: capture would cut a longer list itself, uncounted.
    most = min(MAX_EVENTS, settings.max_items)
    events = _events(span)
    if events:
        attributes[semconv.BROKLE_OTEL_EVENTS] = events[:most]
    dropped = max(0, len(events) - most) + _sdk_dropped(span, "dropped_events")
    if dropped:
        attributes[semconv.BROKLE_OTEL_EVENTS_DROPPED] = dropped
    links = _links(span)
    if links:
        attributes[semconv.BROKLE_OTEL_LINKS] = links[:most]
    dropped = max(0, len(links) - most) + _sdk_dropped(span, "dropped_links")
    if dropped:
        attributes[semconv.BROKLE_OTEL_LINKS_DROPPED] = dropped
    dropped = _sdk_dropped(span, "dropped_attributes")
    if dropped:
        attributes[semconv.BROKLE_OTEL_ATTRIBUTES_DROPPED] = dropped
    trace_state = span.context.trace_state
    if trace_state:  # vendors' entries (W3C tracestate): redacted with the attributes
        attributes[semconv.BROKLE_OTEL_TRACE_STATE] = _whole_members(
            trace_state.to_header(), settings.max_string_length
        )
    parent = span.parent
    if parent is not None and parent.is_remote:
        attributes[semconv.BROKLE_REMOTE_PARENT] = True
    status, status_message, error = _error(span, settings)
    inp = _io(raw, "input", plan)
    out = _io(raw, "output", plan)
    # Priced before the cut: the cost attributes are added at the end, where it would take
    # them from a span over max_items.
    if request is None:
        attributes = _priced(attributes)
    else:
        (_finish_request or _load_finish_request())(attributes, request)
    if len(attributes) > settings.max_items:
        # The cut keeps the first max_items: the structure (scope, kind, events, links,
        # trace state, counts: the OTLP fields, and what makes this a third-party span),
        # then ours (cost included), then theirs, which are the ones cut. Only the order
        # changes: each value is the one ``attributes`` holds (an instrumentor's attribute
        # named like a structure key, "brokle.otel.kind", must not replace the real one
        # here when it cannot below max_items).
        structure = [k for k in _STRUCTURE_KEYS if k in attributes]
        ours = [k for k in attributes if k not in theirs]
        attributes = {k: attributes[k] for k in chain(structure, ours, theirs)}
    redacted = capture.redact_value(attributes, settings, field="attributes")
    if not isinstance(redacted, dict):
        redacted = {"value": redacted}
    final_in = None if inp is None else capture.finalize(inp, settings, field="input")
    final_out = None if out is None else capture.finalize(out, settings, field="output")
    _relabel(redacted, semconv.INPUT_MIME_TYPE, inp, final_in)
    _relabel(redacted, semconv.OUTPUT_MIME_TYPE, out, final_out)
    service, environment, release = _resource_fields(span, resource)
    fields: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "trace_id": record[1].to_bytes(16, "big").hex(),
        "span_id": record[2].to_bytes(8, "big").hex(),
        "parent_span_id": record[3].to_bytes(8, "big").hex() if record[3] else None,
        "type": span_type,
        "start_time_ns": record[4],
        "end_time_ns": record[5],
        "status": status,
        "status_message": status_message,
        "level": "error" if status == "error" else "default",
        "error": error,
        "input": final_in,
        "output": final_out,
        "metadata": {},
        "tags": [],
        "user_id": None,
        "session_id": None,
        "attributes": redacted,
        "service": service,
        "environment": environment,
        "release": release,
    }
    if trace_attrs is not None:
        _trace_fields(fields, trace_attrs, settings)
    return fast_span_data(fields)


def _trace_fields(
    fields: dict[str, Any], trace_attrs: tuple[Any, ...], settings: capture.CaptureSettings
) -> None:
    """The trace's user, session, tags and metadata (from trace_context and friends)."""
    user_id, session_id, tags, metadata = trace_attrs
    if user_id is not None:
        fields["user_id"] = _text(str(user_id), settings, "trace")
    if session_id is not None:
        fields["session_id"] = _text(str(session_id), settings, "trace")
    if tags:
        redacted = capture.redact_value(list(tags), settings, field="tags")
        fields["tags"] = [str(t) for t in redacted] if isinstance(redacted, list) else []
    if metadata:
        md = capture.redact_value(dict(metadata), settings, field="metadata")
        fields["metadata"] = md if isinstance(md, dict) else {"value": md}
