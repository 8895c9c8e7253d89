"""Exporter names accepted by ``configure(exporter=...)`` / ``BROKLE_EXPORTER``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from brokle_trace.typing import Exporter

if TYPE_CHECKING:
    from brokle_trace._config import Settings

__all__ = ["build", "register"]

_FACTORIES: dict[str, Callable[[Settings], Exporter]] = {}


def register(name: str, factory: Callable[[Settings], Exporter]) -> None:
    """Make ``name`` usable in ``exporter=...``."""
    _FACTORIES[name] = factory


def build(name: str, settings: Settings) -> Exporter:
    """Build the exporter called ``name`` from ``settings``."""
    _load_builtins()
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown exporter {name!r}; known: {sorted(_FACTORIES)}") from None
    return factory(settings)


def _load_builtins() -> None:
    if _FACTORIES:
        return
    from brokle_trace.exporters.console import ConsoleExporter
    from brokle_trace.exporters.jsonl import JsonlExporter

    register("jsonl", lambda s: JsonlExporter(s.traces_file))
    register("console", lambda s: ConsoleExporter())
