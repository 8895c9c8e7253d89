"""Text made safe to encode: what UTF-8 cannot carry becomes U+FFFD, once.

A lone surrogate is a legal Python ``str`` but no UTF-8 encoder takes it: ``os.environ``,
``os.listdir`` and ``sys.argv`` hold undecodable bytes that way (``surrogateescape``). One
such character in a span name must not fail a batch: the exporters encode as usual and,
only for a span that failed, retry with ``clean_span`` (the happy path pays nothing).
"""

from __future__ import annotations

from typing import Any

from brokle_trace._model import ErrorInfo, SpanData, fast_span_data

__all__ = ["clean_span", "clean_text", "clean_value"]


def clean_text(value: str) -> str:
    """``value`` with what cannot be encoded as UTF-8 replaced by U+FFFD.

    Undecodable bytes held as ``surrogateescape`` surrogates become one U+FFFD each, as
    decoding the original bytes with ``errors="replace"`` would have made them.

    Example:
        >>> clean_text("caf\\udce9") == "caf\\ufffd"
        True
    """
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # surrogates that are not escaped bytes
        raw = value.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def clean_value(value: Any) -> Any:
    """``value`` (a JSON-like value) with every string, key included, ``clean_text``-ed.

    Example:
        >>> clean_value({"k\\udce9": ["v\\udce9", 1]}) == {"k\\ufffd": ["v\\ufffd", 1]}
        True
    """
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_value(v) for v in value]
    return value


def clean_span(span: SpanData) -> SpanData:
    """A copy of ``span`` whose every string encodes (see ``clean_text``).

    Example:
        >>> s = SpanData(name="x\\udce9", trace_id="1" * 32, span_id="2" * 16,
        ...              start_time_ns=1, end_time_ns=2)
        >>> clean_span(s).name == "x\\ufffd"
        True
    """
    fields = {name: clean_value(value) for name, value in span.__dict__.items()}
    if span.error is not None:
        fields["error"] = ErrorInfo(**{k: clean_value(v) for k, v in span.error.__dict__.items()})
    # Every field is there, of the right type, as the pipeline built it: no validation.
    return fast_span_data(fields)
