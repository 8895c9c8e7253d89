"""A batch of records converted once, in the form every exporter of the pipeline takes.

JSONL lines when every exporter takes lines (``lines.to_line``), OTLP span bytes when every
exporter is OTLP (``otlp_spans``, imported on first use), otherwise ``SpanData``
(``convert.to_span_data``), which any exporter takes. A record whose conversion fails (a
lone surrogate in its name) goes through ``SpanData`` with its text cleaned; one that fails
even so is handed to ``lost``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from brokle_trace import capture
from brokle_trace._export.convert import Resource, to_span_data
from brokle_trace._export.lines import to_line
from brokle_trace._export.record import Record
from brokle_trace._model import EncodedLines, span_json
from brokle_trace._runtime.text import clean_span
from brokle_trace.typing import takes_lines

__all__ = ["convert", "form_of", "takes_span_bytes"]


def takes_span_bytes(exporter: object) -> bool:
    """Whether the worker may hand ``exporter`` an OTLP ``EncodedSpans`` batch: an OTLP
    exporter (``accepts_encoded_spans``) whose ``export`` was not replaced
    (``prepares_batches``).

    Example:
        >>> takes_span_bytes(object())
        False
    """
    return (
        getattr(exporter, "accepts_encoded_spans", False) is True
        and getattr(exporter, "prepares_batches", False) is True
    )


def form_of(exporters: Sequence[object]) -> str:
    """``"lines"``, ``"otlp"`` or ``"data"``: what the worker converts a batch to.

    Example:
        >>> form_of([])
        'data'
    """
    if exporters and all(takes_lines(exporter) for exporter in exporters):
        return "lines"
    if exporters and all(takes_span_bytes(exporter) for exporter in exporters):
        return "otlp"
    return "data"


def convert(
    batch: list[Record],
    form: str,
    settings: capture.CaptureSettings,
    resource: Resource,
    lost: Callable[[BaseException], None],
) -> Any:
    """``batch`` as ``form`` (see ``form_of``). Each record is let go once converted: what
    it kept alive (the user's objects behind a snapshot) is freed as the batch goes."""
    records: Any
    convert_one: Any
    add: Any
    if form == "otlp":  # its own loop: the converter writes into the batch itself
        # Imported here: the protobuf classes (and the OTel SDK they come with) are not
        # loaded, nor walked by every garbage collection, in a process that never uses OTLP.
        from brokle_trace._export.otlp_batch import encode_batch

        def failed(record: Record, exc: Exception, clean_add: Callable[[Any], None]) -> None:
            if not _converted_clean(record, form, clean_add, settings, resource):
                lost(exc)

        return encode_batch(batch, settings, resource, failed)
    if form == "lines":
        records = EncodedLines()
        add = clean_add = records.add
        convert_one = to_line
    else:
        records = []
        add = clean_add = records.append
        convert_one = to_span_data
    for i, record in enumerate(batch):
        batch[i] = None  # type: ignore[call-overload]
        try:
            add(convert_one(record, settings, resource))
        except Exception as exc:
            if not _converted_clean(record, form, clean_add, settings, resource):
                lost(exc)
    return records


def _converted_clean(
    record: Record,
    form: str,
    add: Callable[[Any], None],
    settings: capture.CaptureSettings,
    resource: Resource,
) -> bool:
    """A span whose line or bytes could not be encoded, through ``SpanData`` with its text
    cleaned (OTLP's reference encoder, ``add`` there, cleans it itself); False if even that
    fails."""
    try:
        span = to_span_data(record, settings, resource)
        if form != "otlp":
            span = clean_span(span)
        add(span_json(span) if form == "lines" else span)
    except Exception:
        return False
    return True
