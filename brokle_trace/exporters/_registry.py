"""Exporter names accepted by ``configure(exporter=...)`` / ``BROKLE_EXPORTER``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from brokle_trace.typing import Exporter

if TYPE_CHECKING:
    from brokle_trace._runtime.config import Settings

__all__ = ["adapt", "build", "register"]

_FACTORIES: dict[str, Callable[[Settings], Exporter]] = {}
_builtins_loaded = False


def register(name: str, factory: Callable[[Settings], Exporter]) -> None:
    """Make ``name`` usable in ``exporter=...``.

    Example:
        >>> from brokle_trace.exporters import InMemoryExporter
        >>> register("memory", lambda settings: InMemoryExporter())
    """
    _FACTORIES[name] = factory


def build(name: str, settings: Settings) -> Exporter:
    """Build the exporter called ``name`` from ``settings``."""
    _load_builtins()
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown exporter {name!r}; known: {sorted(_FACTORIES)}") from None
    return factory(settings)


def adapt(item: Any) -> Exporter:
    """An OpenTelemetry SDK ``SpanExporter`` wrapped to take our spans; anything else as is."""
    try:
        from opentelemetry.sdk.trace.export import SpanExporter
    except ImportError:  # pragma: no cover - the SDK is a dependency
        return item  # type: ignore[no-any-return]
    if isinstance(item, SpanExporter):
        from brokle_trace.exporters.otel import OTelSpanExporterAdapter

        return OTelSpanExporterAdapter(item)
    return item  # type: ignore[no-any-return]


def _otlp(settings: Settings) -> Exporter:
    from brokle_trace.exporters.otlp import OTLPExporter

    return OTLPExporter(
        settings.otlp_endpoint,
        headers=settings.otlp_headers,
        api_key=settings.api_key.get_secret_value() if settings.api_key else None,
        timeout=settings.otlp_timeout,
        compression=settings.otlp_compression,
        max_request_bytes=settings.otlp_max_request_bytes,
    )


def _load_builtins() -> None:
    # A flag, not "is the table empty": a user's register() before the first build must not
    # hide the built-in names.
    global _builtins_loaded
    if _builtins_loaded:
        return
    from brokle_trace.exporters.console import ConsoleExporter
    from brokle_trace.exporters.jsonl import JsonlExporter

    _FACTORIES.setdefault(
        "jsonl",
        lambda s: JsonlExporter(
            s.traces_file, max_bytes=s.traces_file_max_bytes, backups=s.traces_file_backups
        ),
    )
    _FACTORIES.setdefault("console", lambda s: ConsoleExporter())
    _FACTORIES.setdefault("otlp", _otlp)
    _builtins_loaded = True
