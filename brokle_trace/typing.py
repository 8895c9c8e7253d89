"""The extension points: small Protocols, one place.

Each is a single call so a plain function or a tiny class fits, in the spirit of
OpenTelemetry's ``SpanExporter`` and structlog's processors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, Protocol, Union, runtime_checkable

from brokle_trace._model import EncodedLines, SpanData

__all__ = [
    "ExportResult",
    "Exporter",
    "JSONValue",
    "LinesExporter",
    "MaskFn",
    "Serializer",
    "exports_inline",
    "takes_lines",
]

# A recursive alias: Union[...] because the `|` form cannot hold forward references.
JSONValue = Union[None, bool, int, float, str, list["JSONValue"], dict[str, "JSONValue"]]  # noqa: UP007


class ExportResult(Enum):
    """What an exporter reports for one batch."""

    SUCCESS = "success"
    FAILURE = "failure"


@runtime_checkable
class Exporter(Protocol):
    """Receives finished spans in batches, already redacted, off the caller's thread.

    Each exporter runs on a thread of its own behind ``exporter_timeout``: ``export`` is
    never called concurrently with itself, but a slow exporter may still be running while
    the others receive later batches. Returning ``FAILURE`` (or raising, or timing out)
    counts the batch as ``export_failed``. An optional ``after_fork()`` returns the object to
    use in a forked child. An exporter that can never block (memory, a regular file) may set
    ``export_inline = True``: the export worker then calls it directly, without the hop to a
    thread of its own and without the timeout (cheaper when the application runs an event
    loop, whose every ``select()`` wakes a thread waiting for the GIL).

    Example:
        >>> class PrintNames:
        ...     def export(self, spans):
        ...         print([s.name for s in spans])
        ...         return ExportResult.SUCCESS
        ...     def shutdown(self):
        ...         pass
    """

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        """Deliver one batch; return SUCCESS or FAILURE."""
        ...

    def shutdown(self) -> None:
        """Release files, sockets and threads; called once."""
        ...


class LinesExporter(Exporter, Protocol):
    """An exporter that also takes spans already encoded as JSONL lines (a capability).

    The export worker encodes the file format straight from its records, skipping
    ``SpanData``, when every configured exporter takes lines. ``accepts_lines`` must be
    defined on the class (a property may say no for an instance whose ``export`` was
    replaced): a wrapper that forwards attributes to an inner exporter through
    ``__getattr__`` has an ``export()`` of its own to call and must not be bypassed.
    """

    @property
    def accepts_lines(self) -> bool:
        """True when ``export_lines`` writes exactly what ``export`` would."""
        ...

    def export_lines(self, lines: EncodedLines) -> ExportResult:
        """Deliver one batch of encoded lines; return SUCCESS or FAILURE."""
        ...


def takes_lines(exporter: object) -> bool:
    """Whether the worker may hand ``exporter`` encoded lines (see :class:`LinesExporter`).

    Example:
        >>> takes_lines(object())
        False
    """
    return getattr(type(exporter), "accepts_lines", None) is not None and (
        getattr(exporter, "accepts_lines", False) is True
    )


def exports_inline(exporter: object) -> bool:
    """Whether ``exporter`` never blocks (``export_inline = True``; see :class:`Exporter`).

    Example:
        >>> exports_inline(object())
        False
    """
    return getattr(exporter, "export_inline", False) is True


@runtime_checkable
class Serializer(Protocol):
    """Turns one object (never a str, number, bool or None) into a JSON-safe value.

    Usually called on the caller's thread at call time; parts of a large value that the
    snapshot budget left for later are serialised by the export worker instead, so it must
    be thread-safe, cheap, and must not block. Return ``NotImplemented`` to fall back to the
    default handling. Its result goes through the same limits and redaction.

    Example:
        >>> def money(value, context):
        ...     return {"amount": str(value.amount)} if hasattr(value, "amount") else NotImplemented
    """

    def __call__(self, value: Any, context: Mapping[str, Any]) -> Any:
        """Return a JSON-safe value for ``value``, or ``NotImplemented``."""
        ...


class MaskFn(Protocol):
    """A user's last word on a captured value: gets the redacted value, returns the one sent.

    ``context`` says where the value sits (``{"field": "input", "span": "name"}``). A mask
    that raises fails closed: the whole field is replaced by a redaction marker.

    Example:
        >>> def drop_emails(value, context):
        ...     return value
    """

    def __call__(self, value: JSONValue, context: Mapping[str, Any]) -> JSONValue:
        """Return the value to export in place of ``value``."""
        ...
