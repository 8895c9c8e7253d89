"""A third-party span's OTLP ``Span`` bytes, written straight: no protobuf objects filled.

The reference route for a third-party span is ``SpanData`` -> ``exporters._encode`` (upb
messages filled field by field: ~2 us per attribute, a third-party LLM span has ~25). Here
the same ``SpanData`` (``_export.foreign.to_span_data``: redaction and capture limits are
unchanged, and done once) is written as protobuf wire bytes directly: the attributes come
from the same mapping (``semconv.to_otel_attributes``), each ``KeyValue`` is a few byte
joins, and the ones that repeat from span to span (``llm.system = "openai"``, the model
name, ``openinference.span.kind``) are cached whole. The result decodes to exactly the
message the reference fills (``tests/parity/test_foreign_otlp.py``, a Hypothesis property).

A value the wire cannot carry as given (a lone surrogate, an int outside int64) makes the
span take the reference route instead, which cleans it or counts it lost: nothing is
written here first.
"""

from __future__ import annotations

import struct
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import SpanFlags, Status

from brokle_trace import capture, semconv
from brokle_trace._export.convert import Resource
from brokle_trace._export.foreign import to_span_data
from brokle_trace._export.record import Record
from brokle_trace._model import SpanData
from brokle_trace.exporters._encode import add_span_data
from brokle_trace.exporters._frame import SMALL, EncodedSpans, varint
from brokle_trace.exporters._readable import SCOPE
from brokle_trace.exporters._structure import Structure, dropped_counts, structure_of

__all__ = ["encode_foreign", "foreign_span_bytes"]

_OURS = (SCOPE.name, SCOPE.version or "")
_HAS_IS_REMOTE = int(SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
_IS_REMOTE = int(SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
_ERROR = int(Status.StatusCode.STATUS_CODE_ERROR)
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _tag(message: Any, field: str) -> bytes:
    """The tag of ``field`` of ``message`` (a class), with its wire type, from its descriptor:
    the numbers are the schema's, never spelled here."""
    fd = message.DESCRIPTOR.fields_by_name[field]
    # (No repeated scalar field is written here: a repeated message is length-delimited.)
    if fd.type in (fd.TYPE_STRING, fd.TYPE_BYTES, fd.TYPE_MESSAGE):
        wire = 2
    elif fd.type in (fd.TYPE_FIXED64, fd.TYPE_DOUBLE, fd.TYPE_SFIXED64):
        wire = 1
    elif fd.type in (fd.TYPE_FIXED32, fd.TYPE_FLOAT, fd.TYPE_SFIXED32):
        wire = 5
    else:
        wire = 0
    return varint(fd.number << 3 | wire)


_S_TRACE_ID = _tag(PbSpan, "trace_id")
_S_SPAN_ID = _tag(PbSpan, "span_id")
_S_PARENT = _tag(PbSpan, "parent_span_id")
_S_TRACE_STATE = _tag(PbSpan, "trace_state")
_S_FLAGS = _tag(PbSpan, "flags")
_S_NAME = _tag(PbSpan, "name")
_S_KIND = _tag(PbSpan, "kind")
_S_START = _tag(PbSpan, "start_time_unix_nano")
_S_END = _tag(PbSpan, "end_time_unix_nano")
_S_ATTRIBUTE = _tag(PbSpan, "attributes")
_S_DROPPED = _tag(PbSpan, "dropped_attributes_count")
_S_DROPPED_EVENTS = _tag(PbSpan, "dropped_events_count")
_S_DROPPED_LINKS = _tag(PbSpan, "dropped_links_count")
_S_EVENT = _tag(PbSpan, "events")
_S_LINK = _tag(PbSpan, "links")
_S_STATUS = _tag(PbSpan, "status")
_E_TIME = _tag(PbSpan.Event, "time_unix_nano")
_E_NAME = _tag(PbSpan.Event, "name")
_E_ATTRIBUTE = _tag(PbSpan.Event, "attributes")
_L_TRACE_ID = _tag(PbSpan.Link, "trace_id")
_L_SPAN_ID = _tag(PbSpan.Link, "span_id")
_L_ATTRIBUTE = _tag(PbSpan.Link, "attributes")
_L_FLAGS = _tag(PbSpan.Link, "flags")
_ST_MESSAGE = _tag(Status, "message")
_ST_CODE = _tag(Status, "code")
_KV_KEY = _tag(KeyValue, "key")
_KV_VALUE = _tag(KeyValue, "value")
_V_STRING = _tag(AnyValue, "string_value")
_V_BOOL = _tag(AnyValue, "bool_value")
_V_INT = _tag(AnyValue, "int_value")
_V_DOUBLE = _tag(AnyValue, "double_value")
_V_BYTES = _tag(AnyValue, "bytes_value")
_V_ARRAY = _tag(AnyValue, "array_value")
_A_VALUES = _tag(ArrayValue, "values")
_FIXED64 = struct.Struct("<Q").pack
_FIXED32 = struct.Struct("<I").pack
_DOUBLE = struct.Struct("<d").pack
_TRUE = _V_BOOL + b"\x01"
_FALSE = _V_BOOL + b"\x00"


class Unencodable(ValueError):
    """A value the wire cannot carry as given: the reference route cleans or counts it."""


def _len(data: bytes) -> bytes:
    n = len(data)
    return SMALL[n] if n < 0x80 else varint(n)


def _signed(n: int) -> bytes:
    """An int64 as protobuf writes it: two's complement, ten bytes when negative."""
    if n < 0:
        if n < _INT64_MIN:
            raise Unencodable("int below int64")
        return varint(n + (1 << 64))
    if n > _INT64_MAX:
        raise Unencodable("int above int64")
    return SMALL[n] if n < 0x80 else varint(n)


def _any_value(value: Any) -> bytes:
    """The bytes of an ``AnyValue`` holding ``value`` (the types ``_encode._set_value``
    takes: a scalar, or a list of them)."""
    kind = type(value)
    if kind is str:
        try:
            data = value.encode()
        except UnicodeEncodeError as exc:  # a lone surrogate: upb refuses it too
            raise Unencodable("text is not UTF-8") from exc
        return b"".join((_V_STRING, _len(data), data))
    if kind is bool:
        return _TRUE if value else _FALSE
    if kind is int:
        return _V_INT + _signed(value)
    if kind is float:
        return _V_DOUBLE + _DOUBLE(value)
    if kind is bytes:
        return b"".join((_V_BYTES, _len(value), value))
    if kind is list or kind is tuple:
        parts: list[bytes] = []
        for item in value:
            inner = _any_value(item)
            parts += (_A_VALUES, _len(inner), inner)
        if not parts:
            return b""  # upb leaves an empty array unset: the AnyValue is empty
        array = b"".join(parts)
        return b"".join((_V_ARRAY, _len(array), array))
    raise Unencodable(f"attribute value of type {kind.__name__}")


#: key -> its serialised ``key`` field.
_keys: dict[str, bytes] = {}
#: (key, value) -> the ``KeyValue`` entry (length and bytes), for the short scalars that
#: repeat on every span (names, kinds, models, flags, small counts); one table per type,
#: since ``True == 1`` and ``1 == 1.0`` would share a key.
_pairs: dict[type, dict[tuple[str, Any], bytes]] = {str: {}, bool: {}, int: {}}
_CACHE_MAX = 8192
_SHORT = 64


def _key_field(key: str) -> bytes:
    hit = _keys.get(key)
    if hit is None:
        if len(_keys) >= _CACHE_MAX:
            _keys.clear()
        try:
            data = key.encode()
        except UnicodeEncodeError as exc:
            raise Unencodable("key is not UTF-8") from exc
        hit = _keys[key] = b"".join((_KV_KEY, _len(data), data)) if data else b""
    return hit


def _key_value(key: str, value: Any) -> bytes:
    """A ``KeyValue`` message's length and bytes (what follows its field tag)."""
    value_bytes = _any_value(value)
    body = b"".join((_key_field(key), _KV_VALUE, _len(value_bytes), value_bytes))
    return _len(body) + body


def _attributes(tag: bytes, attributes: dict[str, Any]) -> list[bytes]:
    """``attributes`` as repeated ``KeyValue`` fields ``tag``, in their order."""
    out: list[bytes] = []
    pairs = _pairs
    for key, value in attributes.items():
        table = pairs.get(type(value))
        if table is None:
            out += (tag, _key_value(key, value))
            continue
        if table is _STR_PAIRS and len(value) > _SHORT:
            # A long text (a prompt, a response): unique, so written, not cached; inlined
            # (_key_value, _any_value), as these are most of a span's bytes.
            try:
                data = value.encode()
            except UnicodeEncodeError as exc:
                raise Unencodable("text is not UTF-8") from exc
            n = len(data)
            size = varint(n)
            key_bytes = _keys.get(key) or _key_field(key)
            inner = len(_V_STRING) + len(size) + n
            inner_size = varint(inner)
            body = len(key_bytes) + len(_KV_VALUE) + len(inner_size) + inner
            out += (tag, varint(body), key_bytes, _KV_VALUE, inner_size, _V_STRING, size, data)
            continue
        ident = (key, value)
        entry = table.get(ident)
        if entry is None:
            entry = _key_value(key, value)
            if len(table) >= _CACHE_MAX:
                table.clear()
            table[ident] = entry
        out += (tag, entry)
    return out


_STR_PAIRS = _pairs[str]


def _string_field(tag: bytes, text: str) -> bytes:
    try:
        data = text.encode()
    except UnicodeEncodeError as exc:
        raise Unencodable("text is not UTF-8") from exc
    return b"".join((tag, _len(data), data)) if data else b""


def _framed(tag: bytes, parts: list[bytes]) -> list[bytes]:
    body = b"".join(parts)
    return [tag, _len(body), body]


def foreign_span_bytes(span: SpanData) -> bytes:
    """The serialised OTLP ``Span`` of a third-party ``span``, equal once decoded to what
    ``exporters._encode.span_bytes`` writes for it; raises ``Unencodable`` for a value the
    wire cannot carry as given (the caller takes the reference route then).

    Example:
        >>> s = SpanData(name="chat", trace_id="1" * 32, span_id="2" * 16,
        ...              start_time_ns=1, end_time_ns=2, type="llm",
        ...              attributes={"otel.scope.name": "openinference.instrumentation.openai"})
        >>> PbSpan.FromString(foreign_span_bytes(s)).attributes[0].value.string_value
        'LLM'
    """
    return _span_bytes(span, structure_of(span.attributes))


def _span_bytes(span: SpanData, structure: Structure) -> bytes:
    attributes = span.attributes
    kind = structure.kind
    if kind is None:  # no scope: not a third-party span as the reference reads it
        raise Unencodable("not a third-party span")
    flags = _HAS_IS_REMOTE
    parts = [_S_TRACE_ID, b"\x10", bytes.fromhex(span.trace_id)]
    parts += (_S_SPAN_ID, b"\x08", bytes.fromhex(span.span_id))
    if structure.trace_state:
        parts.append(_string_field(_S_TRACE_STATE, structure.trace_state))
    if span.parent_span_id is not None:
        parts += (_S_PARENT, b"\x08", bytes.fromhex(span.parent_span_id))
        if attributes.get(semconv.BROKLE_REMOTE_PARENT):
            flags |= _IS_REMOTE
    parts.append(_string_field(_S_NAME, span.name))
    parts += (_S_KIND, SMALL[kind + 1])  # protobuf counts UNSPECIFIED as 0, the SDK not
    parts += (_S_START, _FIXED64(span.start_time_ns), _S_END, _FIXED64(span.end_time_ns))
    mapped, dropped = semconv.to_otel_attributes(span)
    parts += _attributes(_S_ATTRIBUTE, mapped)
    lost_attributes, lost_events, lost_links = dropped_counts(attributes)
    dropped += lost_attributes
    if dropped:
        parts += (_S_DROPPED, varint(dropped))
    if lost_events:
        parts += (_S_DROPPED_EVENTS, varint(lost_events))
    if lost_links:
        parts += (_S_DROPPED_LINKS, varint(lost_links))
    for name, when, event_attributes in structure.events:
        event = [_E_TIME, _FIXED64(when), _string_field(_E_NAME, name)]
        event += _attributes(_E_ATTRIBUTE, event_attributes)
        parts += _framed(_S_EVENT, event)
    status: list[bytes] = []
    if span.status == "error":
        if span.status_message:
            status.append(_string_field(_ST_MESSAGE, span.status_message))
        status += (_ST_CODE, SMALL[_ERROR])
        error = span.error
        if error is not None:
            exc = {"exception.type": error.type, "exception.message": error.message}
            if error.stacktrace:
                exc["exception.stacktrace"] = error.stacktrace
            event = [_E_TIME, _FIXED64(span.end_time_ns), _string_field(_E_NAME, "exception")]
            event += _attributes(_E_ATTRIBUTE, exc)
            parts += _framed(_S_EVENT, event)
    for trace_id, span_id, link_attributes, remote in structure.links:
        link = [_L_TRACE_ID, b"\x10", trace_id.to_bytes(16, "big")]
        link += (_L_SPAN_ID, b"\x08", span_id.to_bytes(8, "big"))
        link += _attributes(_L_ATTRIBUTE, link_attributes)
        link += (_L_FLAGS, _FIXED32(_HAS_IS_REMOTE | _IS_REMOTE if remote else _HAS_IS_REMOTE))
        parts += _framed(_S_LINK, link)
    parts += _framed(_S_STATUS, status)
    parts += (_S_FLAGS, _FIXED32(flags))
    return b"".join(parts)


def encode_foreign(
    record: Record, settings: capture.CaptureSettings, resource: Resource, into: EncodedSpans
) -> bool:
    """A third-party record's ``Span`` bytes into ``into``: converted once
    (``foreign.to_span_data``), then written directly, or by the reference encoder when a
    value needs its cleaning. Always True (the span is in ``into``, or counted lost there).
    """
    span = to_span_data(record, settings, resource)
    structure = structure_of(span.attributes)
    try:
        data = _span_bytes(span, structure)
    except Unencodable:
        add_span_data(into, span)
        return True
    into.add((span.service, span.environment, span.release, *(structure.scope or _OURS)), data)
    return True
