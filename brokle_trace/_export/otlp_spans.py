"""Record -> OTLP ``Span`` bytes, straight: for OTLP exporters, without a SpanData in between.

An ordinary span (no error, no trace attributes, no ``update()``) of one function differs
from its siblings only in its ids, its two times and its captured input and output. So each
function gets a template made once from its span template (``convert.template``) through
the reference mapping (``semconv.to_otel_attributes``, ``_encode``): the bytes of its
constant fields (name, kind, the attributes around ``input.value``/``output.value``, the
dropped count, the status). A span then costs one small ``Span`` message with the variable
fields set on OpenTelemetry's own class, serialised, between the template's two halves:
protobuf merges concatenated messages and keeps repeated fields in wire order, so the
result decodes to exactly the message ``_encode`` fills (a hypothesis test compares them).
Third-party spans take their own direct route (``_export.foreign_otlp``). Other spans
(failed, updated, with trace attributes, LLM and retrieval spans
whose OpenInference attributes are derived from their input) take the reference way, still
encoded once here.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import orjson
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import SpanFlags

from brokle_trace import capture, semconv
from brokle_trace._export.convert import (
    Resource,
    input_value,
    output_value,
    template,
    to_span_data,
)
from brokle_trace._export.foreign import FOREIGN
from brokle_trace._export.foreign_otlp import encode_foreign
from brokle_trace._export.record import Record
from brokle_trace._model import SpanData, fast_span_data
from brokle_trace._runtime.state import UNSET
from brokle_trace.capture._encoded import Encoded
from brokle_trace.capture._passthrough import passthrough
from brokle_trace.exporters._encode import add_span_data, fill_attributes
from brokle_trace.exporters._frame import (
    ATTRIBUTE,
    END,
    PARENT_ID,
    SMALL,
    SPAN_ID,
    SPANS,
    START,
    STRING,
    STRING_LEN,
    TRACE_ID,
    VALUE,
    VALUE_LEN,
    EncodedSpans,
    flags_field,
    key_field,
    string_attribute,
    varint,
)
from brokle_trace.exporters._readable import CLIENT_TYPES, SCOPE
from brokle_trace.exporters._structure import STRUCTURE_KEYS

__all__ = ["add_record", "encode_record", "encoded_spans"]

_OURS = (SCOPE.name, SCOPE.version or "")
_HAS_IS_REMOTE = int(SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
_IS_REMOTE = int(SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
_INTERNAL = PbSpan.SpanKind.SPAN_KIND_INTERNAL
_CLIENT = PbSpan.SpanKind.SPAN_KIND_CLIENT
_IO = (
    semconv.INPUT_VALUE,
    semconv.INPUT_MIME_TYPE,
    semconv.OUTPUT_VALUE,
    semconv.OUTPUT_MIME_TYPE,
)
#: Stand-ins for the captured values while a template is made (found again by identity).
_IN = "\x00brokle-template-input\x00"
_OUT = "\x00brokle-template-output\x00"
_dumps = orjson.dumps
_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def _json(value: Any) -> bytes:
    """``semconv._json(value)`` as UTF-8, without decoding orjson's bytes and encoding them
    again."""
    try:
        return _dumps(value, default=str, option=_JSON_OPTIONS)
    except (TypeError, ValueError):
        return str(value).encode()


_INPUT_KEY = key_field(semconv.INPUT_VALUE)
_OUTPUT_KEY = key_field(semconv.OUTPUT_VALUE)
#: The mime-type attribute after a text value, after a JSON value.
_INPUT_MIMES = tuple(
    string_attribute(key_field(semconv.INPUT_MIME_TYPE), m)
    for m in (b"text/plain", b"application/json")
)
_OUTPUT_MIMES = tuple(
    string_attribute(key_field(semconv.OUTPUT_MIME_TYPE), m)
    for m in (b"text/plain", b"application/json")
)
assert len(START) == len(END) == 1  # one-byte tags: the two times are one struct call
_TIMES = struct.Struct("<BQBQ")
_TIMES_LEN = _TIMES.size
_times = _TIMES.pack
_START, _END = START[0], END[0]


class _Template:
    """The constant bytes of one function's ordinary spans (``has_in``/``has_out`` fixed)."""

    __slots__ = ("child_flags", "head", "key", "root_flags", "tail")

    def __init__(self, head: bytes, tail: bytes, key: tuple[Any, ...], remote: bool) -> None:
        self.head = head
        self.tail = tail
        self.key = key
        self.root_flags = flags_field(_HAS_IS_REMOTE)
        self.child_flags = flags_field(_HAS_IS_REMOTE | _IS_REMOTE if remote else _HAS_IS_REMOTE)


def _make(base: dict[str, Any], has_in: bool, has_out: bool) -> _Template | None:
    """The template of ``base`` (``convert.template``'s fields); None if its spans' attributes
    depend on more than their input/output values (then they take the reference way)."""
    attributes = dict(base["attributes"] or {})
    if base["type"] in ("llm", "retrieval") or STRUCTURE_KEYS & attributes.keys():
        return None  # OpenInference attributes derived from the input; structure fields
    fields = {
        **base,
        "trace_id": "0" * 32,
        "span_id": "0" * 16,
        "input": _IN if has_in else None,
        "output": _OUT if has_out else None,
        "metadata": {},
        "tags": [],
        "attributes": attributes,
    }
    mapped, dropped = semconv.to_otel_attributes(fast_span_data(fields))
    keys = list(mapped)
    # The variable attributes must be one run (input's pair, then output's), in that order.
    wanted = [k for k, on in zip(_IO, (has_in, has_in, has_out, has_out), strict=True) if on]
    run = [i for i, k in enumerate(keys) if k in _IO]
    if [keys[i] for i in run] != wanted or (run and run != list(range(run[0], run[0] + len(run)))):
        return None
    first = run[0] if run else len(keys)
    items = list(mapped.items())
    before, after = dict(items[:first]), dict(items[first + len(run) :])
    for value in (*before.values(), *after.values()):
        if isinstance(value, str) and (_IN in value or _OUT in value):
            return None
    head = PbSpan()
    head.name = base["name"]
    head.kind = _CLIENT if base["type"] in CLIENT_TYPES else _INTERNAL
    fill_attributes(head.attributes, before)
    tail = PbSpan()
    fill_attributes(tail.attributes, after)
    tail.dropped_attributes_count = dropped
    tail.status.SetInParent()
    key = (base["service"], base["environment"], base["release"], *_OURS)
    return _Template(
        head.SerializeToString(),
        tail.SerializeToString(),
        key,
        bool(attributes.get(semconv.BROKLE_REMOTE_PARENT)),
    )


#: id(base) -> (base, {(has_in, has_out): template or None}); base held so the id stays valid.
_templates: dict[int, tuple[dict[str, Any], dict[tuple[bool, bool], _Template | None]]] = {}
_TEMPLATES_MAX = 4096


def _template_of(base: dict[str, Any], has_in: bool, has_out: bool) -> _Template | None:
    hit = _templates.get(id(base))
    if hit is None or hit[0] is not base:
        if len(_templates) >= _TEMPLATES_MAX:
            _templates.clear()
        hit = _templates[id(base)] = (base, {})
    variants = hit[1]
    which = (has_in, has_out)
    if which in variants:
        return variants[which]
    try:
        made = _make(base, has_in, has_out)
    except Exception:  # e.g. a name that cannot be encoded: the reference way cleans it
        made = None
    variants[which] = made
    return made


_UNMADE: Any = object()
#: id(view) -> (view, settings, resource, convert.template's entry, the four variants by
#: has_input * 2 + has_output): one lookup a span (the objects held keep the ids valid).
_views: dict[int, tuple[Any, Any, Any, Any, list[Any]]] = {}


def _remember(
    view: Any, settings: capture.CaptureSettings, resource: Resource
) -> tuple[Any, Any, Any, Any, list[Any]]:
    if len(_views) >= _TEMPLATES_MAX:
        _views.clear()
    entry = (view, settings, resource, template(view, settings, resource), [_UNMADE] * 4)
    _views[id(view)] = entry
    return entry


def encode_record(
    record: Record, settings: capture.CaptureSettings, resource: Resource, into: EncodedSpans
) -> bool:
    """Write an ordinary span's ``Span`` bytes into ``into``; False (nothing written) for
    any other span, which takes the reference way (``add_record``)."""
    (
        view,
        trace_id,
        span_id,
        parent_id,
        start_ns,
        end_ns,
        inp,
        out,
        error,
        trace_attrs,
        updated,
        raw_args,
        raw_kwargs,
    ) = record
    if view is FOREIGN:  # a third-party span: its own direct route (always written)
        return encode_foreign(record, settings, resource, into)
    if error is not None or updated is not None or trace_attrs is not None:
        return False
    hit = _views.get(id(view))
    if hit is None or hit[0] is not view or hit[1] is not settings or hit[2] is not resource:
        hit = _remember(view, settings, resource)
    base, args_ok, output_ok, c = hit[3]
    # An encoded snapshot with nothing to redact or cut is its own JSON (``_passthrough``):
    # its bytes are the attribute's string as they are.
    input_: Any = None
    if inp is not UNSET and (
        type(inp) is not Encoded or (input_ := passthrough(inp, c, view[4])) is None
    ):
        input_ = input_value(view, inp, raw_args, raw_kwargs, settings, args_ok, c)
    output: Any = None
    if out is not UNSET and (
        type(out) is not Encoded or (output := passthrough(out, c, view[5])) is None
    ):
        output = output_value(view, out, settings, output_ok, c)
    which = (input_ is not None) * 2 + (output is not None)
    made = hit[4][which]
    if made is _UNMADE:
        made = hit[4][which] = _template_of(base, input_ is not None, output is not None)
    if made is None:
        return False
    ids = _ids(trace_id, span_id)
    if parent_id:
        ids = b"".join((ids, PARENT_ID, parent_id.to_bytes(8, "big"), made.child_flags))
    else:
        ids += made.root_flags
    times = _times(_START, start_ns, _END, end_ns)
    pieces = []
    for value, key, mimes in (
        (input_, _INPUT_KEY, _INPUT_MIMES),
        (output, _OUTPUT_KEY, _OUTPUT_MIMES),
    ):
        if value is None:
            continue
        if type(value) is bytes:  # a snapshot's own JSON
            data = value
            mime = mimes[1]
        elif isinstance(value, str):
            # strict UTF-8: a lone surrogate raises here as in upb (the reference way cleans)
            data = value.encode()
            mime = mimes[0]
        else:
            data = _json(value)
            mime = mimes[1]
        # string_attribute(key, data), inlined (two calls a span)
        n = len(data)
        size = SMALL[n] if n < 0x80 else varint(n)
        inner = STRING_LEN + len(size) + n
        inner_size = SMALL[inner] if inner < 0x80 else varint(inner)
        entry = len(key) + VALUE_LEN + len(inner_size) + inner
        pieces.append(
            b"".join(
                (
                    ATTRIBUTE,
                    SMALL[entry] if entry < 0x80 else varint(entry),
                    key,
                    VALUE,
                    inner_size,
                    STRING,
                    size,
                    data,
                    mime,
                )
            )
        )
    head, tail = made.head, made.tail
    total = len(head) + len(ids) + _TIMES_LEN + len(tail)
    for piece in pieces:
        total += len(piece)
    # EncodedSpans.add, inlined: the group of the last span is nearly always this one's.
    last = into._last
    group = last[1] if last[0] is made.key else into.group(made.key)
    buf = group[0]
    buf += SPANS
    buf += SMALL[total] if total < 0x80 else varint(total)
    buf += head
    buf += ids
    buf += times
    for piece in pieces:
        buf += piece
    buf += tail
    group[1].append(len(buf))
    into.n += 1
    into.nbytes += total
    return True


def add_record(
    record: Record, settings: capture.CaptureSettings, resource: Resource, into: EncodedSpans
) -> None:
    """Any record into ``into``: the shortcut, else through SpanData and the reference
    encoder (which cleans text it cannot encode, or counts the span lost)."""
    if not encode_record(record, settings, resource, into):
        add_span_data(into, to_span_data(record, settings, resource))


def _ids(trace_id: int, span_id: int) -> bytes:
    global _last_trace
    last = _last_trace
    if last[0] != trace_id:  # the spans of a trace arrive together
        last = _last_trace = (trace_id, TRACE_ID + trace_id.to_bytes(16, "big") + SPAN_ID)
    return last[1] + span_id.to_bytes(8, "big")


#: (trace id, its framed field and the span id's tag): the worker's last trace.
_last_trace: tuple[int, bytes] = (-1, b"")


def encoded_spans() -> tuple[
    EncodedSpans, Callable[[Record, Any, Any], None], Callable[[SpanData], None]
]:
    """An empty batch, the converter the worker calls for each record of it (which writes
    into the batch), and how a SpanData is added (the reference encoder: for a record the
    converter failed on; nothing of it was written)."""
    encoded = EncodedSpans()

    def convert(record: Record, settings: capture.CaptureSettings, resource: Resource) -> None:
        if not encode_record(record, settings, resource, encoded):
            add_span_data(encoded, to_span_data(record, settings, resource))

    def add(span: SpanData) -> None:
        add_span_data(encoded, span)

    return encoded, convert, add
