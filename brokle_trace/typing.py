"""The extension points: small Protocols, one place.

Each is a single call so a plain function or a tiny class fits, in the spirit of
OpenTelemetry's ``SpanExporter`` and structlog's processors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, Protocol, Union, runtime_checkable

from brokle_trace._model import SpanData

__all__ = ["ExportResult", "Exporter", "JSONValue", "MaskFn", "Serializer"]

# A recursive alias: Union[...] because the `|` form cannot hold forward references.
JSONValue = Union[None, bool, int, float, str, list["JSONValue"], dict[str, "JSONValue"]]  # noqa: UP007


class ExportResult(Enum):
    """What an exporter reports for one batch."""

    SUCCESS = "success"
    FAILURE = "failure"


@runtime_checkable
class Exporter(Protocol):
    """Receives finished spans in batches, from the one export worker thread.

    ``export`` is never called concurrently with itself or with another exporter.
    Returning ``FAILURE`` (or raising) counts the batch as ``export_failed``.

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


@runtime_checkable
class Serializer(Protocol):
    """Turns one live object into a JSON-safe snapshot at call time.

    Called on the caller's thread with the object itself; must be cheap and must not keep a
    reference to mutable user data. Return ``NotImplemented`` to fall back to the default.

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
