"""Live span -> SpanData, in the export worker: ids to hex, capture finalised and redacted."""

from __future__ import annotations

from asyncio import CancelledError
from dataclasses import dataclass
from typing import Any

from brokle_trace import capture
from brokle_trace._export.foreign import FOREIGN
from brokle_trace._export.foreign import to_span_data as foreign_span_data
from brokle_trace._export.record import Record
from brokle_trace._model import (
    FORMAT_VERSION,
    MAX_STACKTRACE_CHARS,
    ErrorInfo,
    SpanData,
    fast_span_data,
)
from brokle_trace._runtime.state import RAW_ARGS, UNSET
from brokle_trace._trace.context import TRACE_METADATA
from brokle_trace._trace.facts import VIEW_ATTRIBUTES, ExportView
from brokle_trace._trace.inputs import name_inputs
from brokle_trace.capture._fast import NOT_LEAF, clean_names, leaf, leaf_args
from brokle_trace.capture._finalize import finalize_value
from brokle_trace.capture._settings import Compiled

__all__ = ["Resource", "input_value", "output_value", "template", "to_span_data"]

#: The key ``brokle_trace.llm._deferred.DEFERRED`` (spelled here: importing the LLM package
#: from the export path would be an import cycle; a test holds the two equal).
_DEFERRED = "brokle.cost.deferred"


@dataclass(frozen=True)
class Resource:
    """Process-wide facts stamped on every span."""

    service: str | None = None
    environment: str | None = None
    release: str | None = None


def _error_info(
    error: tuple[type[BaseException], Any, Any], settings: capture.CaptureSettings
) -> tuple[str, str | None, ErrorInfo | None]:
    """(status, status_message, error) for a span that ended by an exception."""
    etype, summary, exit_code = error
    if etype is GeneratorExit:
        # close() on an unfinished generator: the consumer stopped early, not a failure.
        return "ok", None, None
    if etype is SystemExit and exit_code in (0, None):
        return "ok", None, None
    message = f"<{etype.__name__}: message unavailable>"
    stack = None
    if summary is not None:
        # TracebackException keeps str(exc) as `_str` (3.10-3.13); fall back to its format.
        text = getattr(summary, "_str", None)
        if not isinstance(text, str):
            only = "".join(summary.format_exception_only()).strip()
            text = only.split(": ", 1)[1] if ": " in only else ""
        message = text
        try:
            stack = "".join(summary.format())
        except Exception:
            stack = None
    message = capture.redact_text(message, settings)
    if stack is not None:
        # Redacted whole, then cut to the innermost frames (the tail): a secret straddling
        # the cut is replaced whole instead of exporting its end.
        stack = capture.redact_text(
            stack, settings, field="stacktrace", max_length=MAX_STACKTRACE_CHARS, keep="tail"
        )
    status_message = "cancelled" if issubclass(etype, CancelledError) else message
    return (
        "error",
        status_message,
        ErrorInfo(type=etype.__name__, message=message, stacktrace=stack),
    )


def to_span_data(record: Record, settings: capture.CaptureSettings, resource: Resource) -> SpanData:
    """Build the exported record for a sealed span. Redaction happens here, before any
    exporter sees it."""
    if record[0] is FOREIGN:  # a third-party span (see _export.foreign)
        return foreign_span_data(record, settings, resource)
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
    # Everything a function's spans share (name, type, resource, redacted static attributes)
    # comes from a per-function template: one C-level copy instead of 24 dict stores.
    base, args_ok, output_ok, c = template(view, settings, resource)
    fields = base.copy()
    last = _last_trace
    if last[0] == trace_id:  # the spans of a trace arrive together
        fields["trace_id"] = last[1]
    else:
        fields["trace_id"] = _remember_trace(trace_id)
    fields["span_id"] = span_id.to_bytes(8, "big").hex()
    if parent_id:
        fields["parent_span_id"] = parent_id.to_bytes(8, "big").hex()
    fields["start_time_ns"] = start_ns
    fields["end_time_ns"] = end_ns
    if inp is not UNSET:
        fields["input"] = input_value(view, inp, raw_args, raw_kwargs, settings, args_ok, c)
    if out is not UNSET:
        fields["output"] = output_value(view, out, settings, output_ok, c)
    # Fresh containers per span: an exporter (or a test) may mutate what it receives.
    fields["metadata"] = {}
    fields["tags"] = []
    attributes = fields["attributes"]
    fields["attributes"] = dict(attributes) if attributes else {}
    if error is not None or updated is not None or trace_attrs is not None:
        _rare_fields(fields, view, error, trace_attrs, updated, settings)
    return fast_span_data(fields)


def input_value(  # noqa: PLR0917 - the parts of a record, unpacked once by the caller
    view: ExportView,
    inp: object,
    raw_args: Any,
    raw_kwargs: Any,
    settings: capture.CaptureSettings,
    args_ok: bool,
    c: Compiled,
) -> Any:
    """The exported ``input`` of a record whose input was captured (``inp`` not UNSET)."""
    name, _, names, plain_args, max_input, _, skip_first, varargs, ignore, _ = view
    if inp is not RAW_ARGS:
        return finalize_value(inp, settings, max_input, "input", name)
    # Immutable arguments kept by reference at call time: name them now. Numbers and texts
    # already known clean need no finaliser at all (the commonest spans).
    plain = plain_args and raw_kwargs is None
    named = leaf_args(names, raw_args, c) if plain and args_ok else NOT_LEAF
    if named is not NOT_LEAF:
        return named
    inputs = (
        dict(zip(names, raw_args, strict=False))
        if plain
        else name_inputs(names, skip_first, varargs, ignore, raw_args, raw_kwargs)
    )
    return finalize_value(inputs, settings, max_input, "input", name)


def output_value(
    view: ExportView, out: object, settings: capture.CaptureSettings, output_ok: bool, c: Compiled
) -> Any:
    """The exported ``output`` of a record whose output was captured (``out`` not UNSET)."""
    done = leaf(out, c) if output_ok else NOT_LEAF
    if done is NOT_LEAF:
        name, _, _, _, _, max_output, _, _, _, _ = view
        return finalize_value(out, settings, max_output, "output", name)
    return done


def _rare_fields(  # noqa: PLR0917 - the parts of a record the common path skips
    fields: dict[str, Any],
    view: ExportView,
    error: tuple[type[BaseException], Any, Any] | None,
    trace_attrs: tuple[Any, ...] | None,
    updated: dict[str, Any] | None,
    settings: capture.CaptureSettings,
) -> None:
    """Status of a failed span, trace attributes and ``update()``d fields, in place."""
    trace_metadata = trace_attrs[TRACE_METADATA] if trace_attrs is not None else None
    metadata: dict[str, Any] = dict(trace_metadata) if trace_metadata else {}
    if error is not None:
        status, status_message, error_info = _error_info(error, settings)
        fields["status"] = status
        fields["status_message"] = status_message
        fields["error"] = error_info
        if status == "error":
            fields["level"] = "error"
    if updated is not None:
        name = updated.get("_name")
        if name is not None:
            fields["name"] = capture.redact_text(name, settings, field="name")
        fields["level"] = updated.get("_level", fields["level"])
        # An explicit status wins; else level="error" set by hand marks the span failed.
        explicit_status = updated.get("_status")
        if explicit_status is not None:
            fields["status"] = explicit_status
        elif updated.get("_level") == "error":
            fields["status"] = "error"
        explicit_message = updated.get("_status_message")
        if explicit_message is not None:
            fields["status_message"] = capture.redact_text(explicit_message, settings)
        span_md = updated.get("_metadata")
        if span_md:
            metadata.update(span_md)
        span_attrs = updated.get("_attributes")
        if span_attrs and _DEFERRED in span_attrs:
            # LLM costs are priced here, on the worker, never on the caller's thread.
            from brokle_trace.llm._deferred import finish

            priced = finish(span_attrs)
            if len(priced) > settings.max_items:
                # The cost is added last, where capture's cut at max_items would take it:
                # first instead (the user's own attributes are the ones cut).
                priced = {k: v for k, v in priced.items() if k not in span_attrs} | priced
            span_attrs = priced
        if span_attrs:
            static_attributes = view[VIEW_ATTRIBUTES]
            attributes = {**static_attributes, **span_attrs} if static_attributes else span_attrs
            fields["attributes"] = _as_dict(
                capture.redact_value(attributes, settings, field="attributes")
            )
    if metadata:
        fields["metadata"] = _as_dict(capture.redact_value(metadata, settings, field="metadata"))
    if trace_attrs is not None:
        tags, fields["user_id"], fields["session_id"] = _trace_fields(trace_attrs, settings)
        fields["tags"] = list(tags)


#: (trace id, its hex): the last trace seen by the worker (the only caller).
_last_trace: tuple[int, str] = (0, "0" * 32)


def _remember_trace(trace_id: int) -> str:
    global _last_trace
    # int.to_bytes().hex() is twice as fast as an f-string for these widths.
    text = trace_id.to_bytes(16, "big").hex()
    _last_trace = (trace_id, text)
    return text


def template(
    view: ExportView, settings: capture.CaptureSettings, resource: Resource
) -> tuple[dict[str, Any], bool, bool, Compiled]:
    """The fields every span of a function starts from (ok, no error, nothing captured),
    whether its plain arguments and its output may take the ``leaf`` shortcuts, and the
    compiled capture settings.

    Cached by the identity of the function's export view, which the cache holds so the
    identity stays valid; the static attributes are redacted once here.
    """
    hit = _templates.get(id(view))
    if hit is not None and hit[0] is view and hit[1] is settings and hit[2] is resource:
        return hit[3]
    c = settings._compiled
    name, type_, names, _, max_input, max_output, _, _, _, static = view
    text = capture.redact_text  # span names and resource fields are free text too
    fields: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "name": text(name, settings, field="name"),
        "trace_id": "",
        "span_id": "",
        "parent_span_id": None,
        "type": type_,
        "start_time_ns": 0,
        "end_time_ns": 0,
        "status": "ok",
        "status_message": None,
        "level": "default",
        "error": None,
        "input": None,
        "output": None,
        "metadata": None,
        "tags": None,
        "user_id": None,
        "session_id": None,
        "attributes": _as_dict(capture.redact_value(static, settings, field="attributes"))
        if static
        else None,
        "service": None if resource.service is None else text(resource.service, settings),
        "environment": None
        if resource.environment is None
        else text(resource.environment, settings),
        "release": None if resource.release is None else text(resource.release, settings),
    }
    entry = (
        fields,
        max_input is None and clean_names(names, c),
        max_output is None and c.mask is None,
        c,
    )
    if len(_templates) >= _TEMPLATES_MAX:
        _templates.clear()
    _templates[id(view)] = (view, settings, resource, entry)
    return entry


_TEMPLATES_MAX = 4096
_templates: dict[int, tuple[Any, Any, Any, tuple[dict[str, Any], bool, bool, Compiled]]] = {}


_NO_TRACE_FIELDS: tuple[tuple[str, ...], None, None] = ((), None, None)


def _as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"value": value}


def _trace_fields(
    sealed: tuple[Any, ...], settings: capture.CaptureSettings
) -> tuple[tuple[str, ...], str | None, str | None]:
    """Redacted (tags, user_id, session_id), computed once per trace-attributes tuple.

    The sealed tuple is shared by every span below where the attributes were set; the
    worker (the only caller) keeps the last few results by identity, holding the tuple so
    the identity stays valid.
    """
    hit = _trace_cache.get(id(sealed))
    if hit is not None and hit[0] is sealed and hit[1] is settings:
        return hit[2]
    user_id, session_id, tags, _ = sealed
    fields = (
        tuple(_tags(tags, settings)) if tags else (),
        _opt_str(user_id, settings),
        _opt_str(session_id, settings),
    )
    if len(_trace_cache) >= _TRACE_CACHE_MAX:
        _trace_cache.clear()
    _trace_cache[id(sealed)] = (sealed, settings, fields)
    return fields


_TRACE_CACHE_MAX = 1024
_trace_cache: dict[int, tuple[Any, Any, tuple[tuple[str, ...], str | None, str | None]]] = {}


def _tags(tags: tuple[str, ...], settings: capture.CaptureSettings) -> list[str]:
    redacted = capture.redact_value(list(tags), settings, field="tags")
    return [str(t) for t in redacted] if isinstance(redacted, list) else []


def _opt_str(value: str | None, settings: capture.CaptureSettings) -> str | None:
    if value is None:
        return None
    redacted = capture.redact_value(str(value), settings, field="trace")
    return redacted if isinstance(redacted, str) else str(redacted)
