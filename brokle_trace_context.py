"""brokle_trace's OpenTelemetry runtime context, for ``OTEL_PYTHON_CONTEXT=brokle_trace``.

OpenTelemetry chooses its runtime context through the ``opentelemetry_context`` entry
point named by ``OTEL_PYTHON_CONTEXT``. With ``brokle_trace`` it loads this one: the
contextvars runtime plus a hook through which ``get_current_span()`` sees the innermost
``@observe`` span. Then brokle_trace never replaces OpenTelemetry's runtime object (the
default, for every other value of the variable, is to wrap the loaded runtime at the first
span). The same object either way: nothing is created per call.

This module is deliberately outside the ``brokle_trace`` package: OpenTelemetry loads it
while ``opentelemetry.context`` is still being imported, so it imports nothing of ours.

Example:
    >>> BrokleRuntimeContext().get_current() is not None
    True
"""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry.context.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext

__all__ = ["BrokleRuntimeContext"]


class BrokleRuntimeContext(ContextVarsRuntimeContext):
    """The contextvars runtime, with brokle_trace's span overlaid on ``get_current``."""

    def __init__(self) -> None:
        super().__init__()
        #: Set by brokle_trace at its first span (on OpenTelemetry's instance, found by
        #: type): the context with our innermost span in it.
        self.overlay: Callable[[Context], Context] | None = None

    def get_current(self) -> Context:
        """The current context; with brokle_trace's innermost span when it is newer."""
        ctx = self._current_context.get()
        overlay = self.overlay
        return ctx if overlay is None else overlay(ctx)
