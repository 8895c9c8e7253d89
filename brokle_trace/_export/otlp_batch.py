"""A batch of records -> one ``EncodedSpans``, the commonest spans written in the loop itself.

``otlp_spans.encode_record`` writes an ordinary span's bytes in one call, but that call
makes four more (the input's naming, two ``leaf`` checks, the JSON) and looks the
function's template up again for every span: about 560 bytecodes a small span, the
largest share of the OTLP worker's cost. Here the loop keeps one plan per function for
the batch and writes, without a call, the spans whose input is plain arguments and whose
output is a leaf (a number, a text seen clean, None) — what ``encode_record`` would
decide for them, checked in the same order; everything else (a captured snapshot, keyword
arguments, a failed or updated span, a third-party span, redaction off) is handed to
``encode_record`` as before. The parity test (``tests/parity/test_otlp_records.py``) holds
the bytes equal to ``encode_record``'s, span by span, and counts the spans written here
(``written_inline``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from brokle_trace import capture
from brokle_trace._export import otlp_spans as _spans
from brokle_trace._export.convert import Resource, to_span_data
from brokle_trace._export.foreign import FOREIGN
from brokle_trace._export.record import Record
from brokle_trace._model import SpanData
from brokle_trace._runtime.state import RAW_ARGS, UNSET
from brokle_trace.capture._fast import INT_MAX, INT_MIN, JSON_BYTES_PER_CHAR
from brokle_trace.capture._redact import CACHE_TEXT_MAX, SHORT
from brokle_trace.exporters._encode import add_span_data
from brokle_trace.exporters._frame import PARENT_ID as _PARENT_ID
from brokle_trace.exporters._frame import SPAN_ID as _SPAN_ID
from brokle_trace.exporters._frame import TRACE_ID as _TRACE_ID
from brokle_trace.exporters._frame import EncodedSpans

__all__ = ["encode_batch", "written_inline"]

#: Spans written by the loop itself since the process started (the parity test reads it).
written_inline = [0]

_UNMADE = _spans._UNMADE
_INPUT_JSON, _OUTPUT_JSON, _OUTPUT_TEXT = (
    _spans._INPUT_JSON,
    _spans._OUTPUT_JSON,
    _spans._OUTPUT_TEXT,
)
_INPUT_KEY, _OUTPUT_KEY = _spans._INPUT_KEY, _spans._OUTPUT_KEY
_input_heads, _output_heads, _prefixes = (
    _spans._input_heads,
    _spans._output_heads,
    _spans._prefixes,
)
_head, _prefix, _template_of = _spans._head, _spans._prefix, _spans._template_of
_root_ids, _child_ids, _times = _spans._root_ids, _spans._child_ids, _spans._times
_START, _END, _LOW = _spans._START, _spans._END, _spans._LOW
_encode_record = _spans.encode_record
_dumps, _JSON_OPTIONS = _spans._dumps, _spans._JSON_OPTIONS
#: ``leaf_args``' upper bound on an argument's JSON entry around its text.
_PER_ARG = SHORT + 30


def _plan(view: Any, settings: capture.CaptureSettings, resource: Resource) -> Any:
    """What the loop needs of a function for the batch, or None (every span of it takes
    ``encode_record``): the view (held, so its id stays valid for the batch), its
    argument names (None unless its plain arguments may be ``leaf_args``'d), how many
    arguments may be leaves, the JSON before a lone argument's value, the clean-text cache,
    the limits, the template entry and its variants."""
    if view is FOREIGN:
        return None
    hit = _spans._views.get(id(view))
    if hit is None or hit[0] is not view or hit[1] is not settings or hit[2] is not resource:
        hit = _spans._remember(view, settings, resource)
    base, args_ok, output_ok, c = hit[3]
    red = c.redactor
    if not output_ok or red is None:
        return None  # ``leaf`` never passes a text without a redactor's cache
    # ``input_value``: plain arguments without keywords and clean names may be leaves.
    names = view[2] if view[3] and args_ok else None
    max_args = min(len(names), c.max_items) if names is not None else -1
    # ``{"name":`` as orjson writes a one-entry dict: its value's JSON and ``}`` follow.
    first = _dumps({names[0]: 0}, option=_JSON_OPTIONS)[:-2] if names else b""
    max_chars = c.max_bytes // JSON_BYTES_PER_CHAR
    # ``leaf``'s bounds on an output text, in one: cached, within the limit and the bytes.
    text_max = min(CACHE_TEXT_MAX, c.limit, max_chars - 2)
    return (
        view,
        names,
        max_args,
        first,
        red.short_cache,
        c.limit,
        max_chars,
        text_max,
        base,
        hit[4],
    )


def encode_batch(
    batch: list[Record],
    settings: capture.CaptureSettings,
    resource: Resource,
    failed: Callable[[Record, Exception, Callable[[SpanData], None]], None],
) -> EncodedSpans:
    """``batch`` as one ``EncodedSpans`` (``batches.convert``'s loop for OTLP). A record that
    raised is handed to ``failed`` with how a SpanData is added (the reference encoder,
    which cleans its text; nothing of it was written). Each record is let go once
    written, as in ``batches.convert``.

    Example:
        >>> from brokle_trace import capture
        >>> encode_batch([], capture.CaptureSettings(), Resource(), None).n
        0
    """
    encoded = EncodedSpans()

    def add(span: SpanData) -> None:
        add_span_data(encoded, span)

    plans: dict[int, Any] = {}
    inline = nbytes = 0
    last_view: Any = _UNMADE
    plan: Any = None
    # The current plan's fields (set whenever ``plan`` is, read only when it is not None).
    names: Any = None
    max_args = limit = max_chars = text_max = 0
    first = b""
    short: Any = None
    base: Any = None
    variants: Any = None
    last_key: Any = _UNMADE
    buf = bytearray()
    ends: list[int] = []
    for i, record in enumerate(batch):
        batch[i] = None  # type: ignore[call-overload]
        try:
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
            if view is not last_view:  # the spans of a function mostly come together
                plan = plans.get(id(view), _UNMADE)
                if plan is _UNMADE:
                    plan = plans[id(view)] = _plan(view, settings, resource)
                last_view = view
                if plan is not None:
                    (
                        _,
                        names,
                        max_args,
                        first,
                        short,
                        limit,
                        max_chars,
                        text_max,
                        base,
                        variants,
                    ) = plan
            if plan is None or error is not None or updated is not None or trace_attrs is not None:
                _general(record, settings, resource, encoded)
                continue
            # The input: ``input_value`` -> ``leaf_args``, the same checks.
            if inp is UNSET:
                in_a = in_b = in_c = b""
                which = 0
            elif inp is RAW_ARGS and raw_kwargs is None and len(raw_args) <= max_args:
                chars = 2 + len(raw_args) * _PER_ARG
                which = -1  # stays so unless every argument is a leaf within the bytes
                for value in raw_args:
                    t = type(value)
                    if t is str:
                        hit = short.get(value)
                        if hit is None or hit[1] or len(value) > limit or not value.isascii():
                            break
                        chars += len(value)
                    elif t is int:
                        if not INT_MIN <= value <= INT_MAX:
                            break
                    elif t is float:
                        if value - value != 0.0:
                            break
                    elif t is not bool and value is not None:
                        break
                else:
                    if chars <= max_chars:
                        # dict(zip(names, raw_args)) in JSON, without the dict for one or none
                        if len(raw_args) == 1:
                            in_a, in_c = first, b"}"
                            in_b = _dumps(raw_args[0], default=str, option=_JSON_OPTIONS)
                        elif raw_args:
                            in_b = in_c = b""
                            in_a = _dumps(
                                dict(zip(names, raw_args)),  # noqa: B905 - lengths checked
                                default=str,
                                option=_JSON_OPTIONS,
                            )
                        else:
                            in_a, in_b, in_c = b"{}", b"", b""
                        which = 2
                if which != 2:  # not leaves: the whole span the general way
                    _general(record, settings, resource, encoded)
                    continue
            else:
                _general(record, settings, resource, encoded)
                continue
            # The output: ``leaf``'s checks; None is no output at all, as there.
            t = type(out)
            if out is UNSET or out is None:
                out_data = out_head = out_mime = b""
            else:
                if t is str:
                    if len(out) > text_max or not out.isascii():
                        _general(record, settings, resource, encoded)
                        continue
                    hit = short.get(out)
                    if hit is None or hit[1]:
                        _general(record, settings, resource, encoded)
                        continue
                    out_data = out.encode()
                    out_mime = _OUTPUT_TEXT
                elif (
                    (t is int and INT_MIN <= out <= INT_MAX)
                    or (t is float and out - out == 0.0)
                    or t is bool
                ):
                    out_data = _dumps(out, default=str, option=_JSON_OPTIONS)
                    out_mime = _OUTPUT_JSON
                else:
                    _general(record, settings, resource, encoded)
                    continue
                n = len(out_data)
                out_head = _output_heads.get(n) or _head(_output_heads, _OUTPUT_KEY, n)
                which += 1
            made = variants[which]
            if made is _UNMADE:
                made = variants[which] = _template_of(base, which >= 2, bool(which & 1))
            if made is None:
                add_span_data(encoded, to_span_data(record, settings, resource))
                continue
            if which >= 2:
                n = len(in_a) + len(in_b) + len(in_c)
                in_head = _input_heads.get(n) or _head(_input_heads, _INPUT_KEY, n)
                in_mime = _INPUT_JSON
            else:
                in_head = in_mime = b""
            if parent_id:
                head = made.child_head
                ids = _child_ids(
                    _TRACE_ID,
                    trace_id >> 64,
                    trace_id & _LOW,
                    _SPAN_ID,
                    span_id,
                    _PARENT_ID,
                    parent_id,
                )
            else:
                head = made.root_head
                ids = _root_ids(_TRACE_ID, trace_id >> 64, trace_id & _LOW, _SPAN_ID, span_id)
            span = b"".join(
                (
                    head,
                    ids,
                    _times(_START, start_ns, _END, end_ns),
                    in_head,
                    in_a,
                    in_b,
                    in_c,
                    in_mime,
                    out_head,
                    out_data,
                    out_mime,
                    made.tail,
                )
            )
            n = len(span)
            key = made.key
            if key is not last_key:
                buf, ends = encoded.group(key)
                last_key = key
            buf += _prefixes.get(n) or _prefix(n)
            buf += span
            ends.append(len(buf))
            inline += 1
            nbytes += n
        except Exception as exc:
            failed(record, exc, add)
    encoded.n += inline
    encoded.nbytes += nbytes
    written_inline[0] += inline
    return encoded


def _general(
    record: Record, settings: capture.CaptureSettings, resource: Resource, into: EncodedSpans
) -> None:
    """Any other span: ``encode_record``'s way, else the reference encoder (``add_record``)."""
    if not _encode_record(record, settings, resource, into):
        add_span_data(into, to_span_data(record, settings, resource))
