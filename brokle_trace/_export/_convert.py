"""Live span -> SpanData, in the export worker: ids to hex, capture finalised and redacted."""

from __future__ import annotations

from asyncio import CancelledError
from dataclasses import dataclass
from typing import Any

from brokle_trace import capture
from brokle_trace._calls import RAW_ARGS, name_inputs
from brokle_trace._facts import ExportView
from brokle_trace._model import ErrorInfo, SpanData, fast_span_data
from brokle_trace._record import Record
from brokle_trace._state import UNSET
from brokle_trace.capture._finalize import finalize_value

__all__ = ["Resource", "to_span_data"]

_MAX_STACK_CHARS = 16_000


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
    if stack is not None and len(stack) > _MAX_STACK_CHARS:
        # The innermost frames are the useful ones: keep the tail.
        stack = "...[truncated]\n" + stack[-_MAX_STACK_CHARS:]
    message = capture.redact_text(message, settings)
    if stack is not None:
        stack = capture.redact_text(stack, settings)
    status_message = "cancelled" if issubclass(etype, CancelledError) else message
    return (
        "error",
        status_message,
        ErrorInfo(type=etype.__name__, message=message, stacktrace=stack),
    )


def to_span_data(
    record: Record, settings: capture.CaptureSettings, resource: Resource
) -> SpanData:
    """Build the exported record for a sealed span. Redaction happens here, before any
    exporter sees it."""
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
    (
        name,
        span_type,
        param_names,
        plain_args,
        max_input_length,
        max_output_length,
        skip_first,
        varargs,
        ignore,
        static_attributes,
    ) = view
    attributes: dict[str, Any] | None = None  # only built when update() added some
    metadata: dict[str, Any] = (
        dict(trace_attrs[3]) if trace_attrs is not None and trace_attrs[3] else {}
    )
    if error is not None:
        status, status_message, error_info = _error_info(error, settings)
    else:
        status, status_message, error_info = "ok", None, None
    level = "error" if status == "error" else "default"
    if updated is not None:
        name = updated.get("_name", name)
        level = updated.get("_level", level)
        explicit_message = updated.get("_status_message")
        if explicit_message is not None:
            status_message = capture.redact_text(explicit_message, settings)
        span_md = updated.get("_metadata")
        if span_md:
            metadata.update(span_md)
        span_attrs = updated.get("_attributes")
        if span_attrs:
            attributes = {**static_attributes, **span_attrs} if static_attributes else span_attrs
    if inp is RAW_ARGS:
        # Immutable arguments kept by reference at call time: name them now.
        if plain_args and raw_kwargs is None:
            inp = dict(zip(param_names, raw_args, strict=False))
        else:
            inp = name_inputs(param_names, skip_first, varargs, ignore, raw_args, raw_kwargs)
    tags, user_id, session_id = (
        _NO_TRACE_FIELDS if trace_attrs is None else _trace_fields(trace_attrs, settings)
    )
    return fast_span_data(
        {
            "format_version": 1,
            "name": name,
            # int.to_bytes().hex() is twice as fast as an f-string for these widths.
            "trace_id": trace_id.to_bytes(16, "big").hex(),
            "span_id": span_id.to_bytes(8, "big").hex(),
            "parent_span_id": parent_id.to_bytes(8, "big").hex() if parent_id else None,
            "type": span_type,
            "start_time_ns": start_ns,
            "end_time_ns": end_ns,
            "status": status,
            "status_message": status_message,
            "level": level,
            "error": error_info,
            "input": None
            if inp is UNSET
            else finalize_value(inp, settings, max_input_length, "input", name),
            "output": None
            if out is UNSET
            else finalize_value(out, settings, max_output_length, "output", name),
            "metadata": _as_dict(capture.redact_value(metadata, settings, field="metadata"))
            if metadata
            else {},
            "tags": list(tags),
            "user_id": user_id,
            "session_id": session_id,
            "attributes": _as_dict(capture.redact_value(attributes, settings, field="attributes"))
            if attributes
            else _static_attributes(view, static_attributes, settings),
            "service": resource.service,
            "environment": resource.environment,
            "release": resource.release,
        }
    )


_NO_TRACE_FIELDS: tuple[tuple[str, ...], None, None] = ((), None, None)


def _as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"value": value}


def _static_attributes(
    view: ExportView, attributes: dict[str, Any] | None, settings: capture.CaptureSettings
) -> dict[str, Any]:
    """The decorator's own attributes, redacted once per function (a fresh dict per span).

    Cached by the identity of the function's export view, which the cache holds so the
    identity stays valid.
    """
    if not attributes:
        return {}
    hit = _static_cache.get(id(view))
    if hit is None or hit[0] is not view or hit[1] is not settings:
        redacted = _as_dict(capture.redact_value(attributes, settings, field="attributes"))
        if len(_static_cache) >= _STATIC_CACHE_MAX:
            _static_cache.clear()
        hit = _static_cache[id(view)] = (view, settings, redacted)
    return dict(hit[2])


_STATIC_CACHE_MAX = 4096
_static_cache: dict[int, tuple[Any, Any, dict[str, Any]]] = {}


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
