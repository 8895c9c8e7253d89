"""Record -> OTLP ``Span`` bytes, straight: for OTLP exporters, without a SpanData in between.

An ordinary span (no error, no trace attributes, no ``update()``) of one function differs
from its siblings only in its ids, its two times and its captured input and output. So each
function gets a template made once from its span template (``convert.template``) through
the reference mapping (``semconv.to_otel_attributes``, ``_encode``): the bytes of its
constant fields (name, kind, flags, the attributes around ``input.value``/``output.value``,
the dropped count, the status), serialised by OpenTelemetry's own classes. A span then
costs one ``struct`` call for its ids (tags and lengths from ``_frame``, which derives them
from those classes), one for its two times, each value's attribute header (remembered by
the value's length) and one join: a protobuf decoder takes fields in any order and keeps
repeated fields in wire order, so the result decodes to exactly the message ``_encode``
fills (hypothesis tests compare them, over real spans and over edge ids, times and value
lengths). Third-party spans take their own direct route (``_export.foreign_otlp``). Other
spans (failed, updated, with trace attributes, LLM and retrieval spans whose OpenInference
attributes are derived from their input) take the reference way, still encoded once here.
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
from brokle_trace.capture._fast import NOT_LEAF, leaf
from brokle_trace.capture._passthrough import passthrough
from brokle_trace.exporters._encode import add_span_data, fill_attributes
from brokle_trace.exporters._frame import (
    END,
    PARENT_ID,
    SPAN_ID,
    SPANS,
    START,
    TRACE_ID,
    EncodedSpans,
    flags_field,
    key_field,
    string_attribute,
    string_attribute_head,
    varint,
)
from brokle_trace.exporters._readable import CLIENT_TYPES, SCOPE
from brokle_trace.exporters._structure import STRUCTURE_KEYS, cut_attributes

__all__ = ["add_record", "encode_batch", "encode_record"]

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
_INPUT_TEXT, _INPUT_JSON = (
    string_attribute(key_field(semconv.INPUT_MIME_TYPE), m)
    for m in (b"text/plain", b"application/json")
)
_OUTPUT_TEXT, _OUTPUT_JSON = (
    string_attribute(key_field(semconv.OUTPUT_MIME_TYPE), m)
    for m in (b"text/plain", b"application/json")
)
# The ids are one struct call, the two times another: each field's tag (and length) as a
# prefix, then the trace id's 16 bytes and the span ids' 8 big-endian (as
# ``int.to_bytes(n, "big")`` writes them), the times fixed64 little-endian (one-byte tags;
# _frame checks their layout).
assert len(START) == len(END) == 1
_TIMES = struct.Struct("<BQBQ")
_times = _TIMES.pack
_START, _END = START[0], END[0]
_ROOT_IDS = struct.Struct(f">{len(TRACE_ID)}sQQ{len(SPAN_ID)}sQ")
_CHILD_IDS = struct.Struct(f">{len(TRACE_ID)}sQQ{len(SPAN_ID)}sQ{len(PARENT_ID)}sQ")
_root_ids = _ROOT_IDS.pack
_child_ids = _CHILD_IDS.pack
_LOW = (1 << 64) - 1


class _Template:
    """The constant bytes of one function's ordinary spans (``has_in``/``has_out`` fixed)."""

    __slots__ = ("child_head", "key", "root_head", "tail")

    def __init__(self, head: bytes, tail: bytes, key: tuple[Any, ...], remote: bool) -> None:
        # The flags (field 16) ride with the head: a decoder takes fields in any order.
        self.root_head = head + flags_field(_HAS_IS_REMOTE)
        self.child_head = head + flags_field(
            _HAS_IS_REMOTE | _IS_REMOTE if remote else _HAS_IS_REMOTE
        )
        self.tail = tail
        self.key = key


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
    tail.dropped_attributes_count = dropped + cut_attributes(attributes)
    tail.status.SetInParent()
    key = (base["service"], base["environment"], base["release"], *_OURS)
    # One object per group: the batch loop tells a span's group from the last by identity.
    if len(_keys) >= _TEMPLATES_MAX:
        _keys.clear()
    key = _keys.setdefault(key, key)
    return _Template(
        head.SerializeToString(),
        tail.SerializeToString(),
        key,
        bool(attributes.get(semconv.BROKLE_REMOTE_PARENT)),
    )


#: id(base) -> (base, {(has_in, has_out): template or None}); base held so the id stays valid.
_templates: dict[int, tuple[dict[str, Any], dict[tuple[bool, bool], _Template | None]]] = {}
_TEMPLATES_MAX = 4096
#: The group keys of the templates made, each once (``_make``).
_keys: dict[tuple[Any, ...], tuple[Any, ...]] = {}


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
        # output_value's own first step, here: a value it would return as it is (most
        # results) costs no call.
        output = leaf(out, c) if output_ok else NOT_LEAF
        if output is NOT_LEAF:
            output = output_value(view, out, settings, output_ok, c)
    made = hit[4][(input_ is not None) * 2 + (output is not None)]
    if made is _UNMADE:
        made = hit[4][(input_ is not None) * 2 + (output is not None)] = _template_of(
            base, input_ is not None, output is not None
        )
    if made is None:
        return False
    if parent_id:
        head = made.child_head
        ids = _child_ids(
            TRACE_ID, trace_id >> 64, trace_id & _LOW, SPAN_ID, span_id, PARENT_ID, parent_id
        )
    else:
        head = made.root_head
        ids = _root_ids(TRACE_ID, trace_id >> 64, trace_id & _LOW, SPAN_ID, span_id)
    # The two values' bytes and mime types, then each one's attribute header from the
    # cache by length (the same few lengths recur: one lookup instead of three varints).
    # Unrolled for the two values: a loop over a tuple built per span costs more.
    in_head = in_data = in_mime = out_head = out_data = out_mime = b""
    if input_ is not None:
        t = type(input_)
        if t is bytes:  # a snapshot's own JSON
            in_data, in_mime = input_, _INPUT_JSON
        elif t is str or isinstance(input_, str):
            # strict UTF-8: a lone surrogate raises here as in upb (the reference way cleans)
            in_data, in_mime = input_.encode(), _INPUT_TEXT
        else:
            in_data, in_mime = _json(input_), _INPUT_JSON
        n = len(in_data)
        in_head = _input_heads.get(n) or _head(_input_heads, _INPUT_KEY, n)
    if output is not None:
        t = type(output)
        if t is bytes:
            out_data, out_mime = output, _OUTPUT_JSON
        elif t is str or isinstance(output, str):
            out_data, out_mime = output.encode(), _OUTPUT_TEXT
        else:
            out_data, out_mime = _json(output), _OUTPUT_JSON
        n = len(out_data)
        out_head = _output_heads.get(n) or _head(_output_heads, _OUTPUT_KEY, n)
    span = b"".join(
        (
            head,
            ids,
            _times(_START, start_ns, _END, end_ns),
            in_head,
            in_data,
            in_mime,
            out_head,
            out_data,
            out_mime,
            made.tail,
        )
    )
    n = len(span)
    # EncodedSpans.add, inlined: the group of the last span is nearly always this one's.
    last = into._last
    group: tuple[bytearray, list[int]] = last[1] if last[0] is made.key else into.group(made.key)
    buf = group[0]
    buf += _prefixes.get(n) or _prefix(n)
    buf += span
    group[1].append(len(buf))
    into.n += 1
    into.nbytes += n
    return True


def _head(heads: dict[int, bytes], key: bytes, n: int) -> bytes:
    """``string_attribute_head(key, n)``, remembered by length (for lengths that recur)."""
    head = string_attribute_head(key, n)
    if n < _HEADS_MAX_LEN:  # a long value's header is cheap next to its copy
        if len(heads) >= _TEMPLATES_MAX:
            heads.clear()
        heads[n] = head
    return head


def _prefix(size: int) -> bytes:
    """The spans field's tag and the length of a ``size``-byte span, remembered (a
    function's spans mostly share a few sizes)."""
    prefix = SPANS + varint(size)
    if len(_prefixes) >= _TEMPLATES_MAX:
        _prefixes.clear()
    _prefixes[size] = prefix
    return prefix


#: span size -> ``_prefix(size)``
_prefixes: dict[int, bytes] = {}
_HEADS_MAX_LEN = 1 << 16
#: data length -> the attribute header of input.value / output.value of that length
_input_heads: dict[int, bytes] = {}
_output_heads: dict[int, bytes] = {}


def add_record(
    record: Record, settings: capture.CaptureSettings, resource: Resource, into: EncodedSpans
) -> None:
    """Any record into ``into``: the shortcut, else through SpanData and the reference
    encoder (which cleans text it cannot encode, or counts the span lost)."""
    if not encode_record(record, settings, resource, into):
        add_span_data(into, to_span_data(record, settings, resource))


def encode_batch(
    batch: list[Record],
    settings: capture.CaptureSettings,
    resource: Resource,
    failed: Callable[[Record, Exception, Callable[[SpanData], None]], None],
) -> EncodedSpans:
    """``batch`` as one ``EncodedSpans`` (``batches.convert``'s loop for OTLP, here so that
    a span costs one call). A record that raised is handed to ``failed`` with how a SpanData
    is added (the reference encoder, which cleans its text; nothing of it was written).
    Each record is let go once written, as in ``batches.convert``."""
    encoded = EncodedSpans()

    def add(span: SpanData) -> None:
        add_span_data(encoded, span)

    for i, record in enumerate(batch):
        batch[i] = None  # type: ignore[call-overload]
        try:
            if not encode_record(record, settings, resource, encoded):
                add_span_data(encoded, to_span_data(record, settings, resource))
        except Exception as exc:
            failed(record, exc, add)
    return encoded
