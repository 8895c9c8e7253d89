"""Process-wide mutable state the hot path reads: one place, swapped whole by ``configure``.

Everything here is read with a single attribute load; nothing here allocates per call.
The logger and internal-error counting live in ``errors``; flush, shutdown and fork in
``lifecycle``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from brokle_trace._runtime.errors import logger
from brokle_trace.capture import CaptureSettings, RedactingFilter

if TYPE_CHECKING:
    from brokle_trace._trace.span import Span

__all__ = ["RAW_ARGS", "UNSET", "count_of", "enabled", "enqueue", "set_capture_settings"]


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


#: Marks "argument not given" where None is a meaningful value.
UNSET: Any = _Unset()
#: First item of ``span._input`` when it holds the raw (immutable) arguments.
RAW_ARGS: Any = object()

#: False turns every decorator into a plain call (a flag check and nothing else).
enabled: bool = True
capture_settings: CaptureSettings = CaptureSettings()
#: Strings up to this length are kept whole at call time (the limit plus the redaction
#: margin); the worker redacts, then truncates to the limit. Mirrors ``capture_settings``.
capture_cut: int = capture_settings._compiled.cut


# Every line the library logs is redacted with the settings in force (a warning may quote
# a mistyped endpoint's password or an invalid argument). Attached here, not in ``errors``:
# that module sits below capture in the import graph.
logger.addFilter(RedactingFilter(lambda: capture_settings))


def set_capture_settings(settings: CaptureSettings) -> None:
    """Swap the capture settings and what the hot path derives from them, together."""
    global capture_settings, capture_cut
    capture_settings = settings
    capture_cut = settings._compiled.cut


#: Whether a span captures its inputs / outputs, by its own setting (``None``: the configured
#: default). The one place that rule is written: a dict lookup on the hot path, swapped whole
#: by ``set_capture_defaults``.
inputs_on: dict[bool | None, bool] = {None: True, True: True, False: False}
outputs_on: dict[bool | None, bool] = {None: True, True: True, False: False}


def set_capture_defaults(inputs: bool, outputs: bool) -> None:
    """What spans without a ``capture_inputs`` / ``capture_outputs`` of their own do."""
    global inputs_on, outputs_on
    inputs_on = {None: inputs, True: True, False: False}
    outputs_on = {None: outputs, True: True, False: False}


#: Spans started in this process (itertools.count: atomic under threads, ~40 ns).
started = itertools.count()


def count_of(counter: itertools.count[int]) -> int:
    """How many times ``next()`` was called on ``counter`` (lock-free counters' value)."""
    # itertools.count exposes its next value only through repr: "count(N)".
    return int(repr(counter)[6:-1])


def _enqueue_before_import(span: Span) -> None:  # pragma: no cover - replaced at import
    raise RuntimeError("brokle_trace._runtime.lifecycle was not imported")


#: Hands an ended span to the export queue. The lifecycle module sets it at import to a
#: function that builds the default pipeline on the first span, then to the pipeline's own.
enqueue: Callable[[Span], None] = _enqueue_before_import


def _no_flush() -> None:  # pragma: no cover - replaced at import
    pass


#: ``flush=True`` decorators call this when their root span ends (set by ``lifecycle``).
flush_root: Callable[[], None] = _no_flush
#: Hands a finished third-party span's record to the export queue (set by ``lifecycle``,
#: like ``enqueue``: the first one builds the default pipeline).
enqueue_record: Callable[[tuple[object, ...]], None] = _enqueue_before_import  # type: ignore[assignment]
#: Counts a third-party span of a sampled-out trace as dropped (set by ``lifecycle``).
count_sampled_out: Callable[[], object] = _no_flush
#: ``brokle_trace.flush`` for layers below the lifecycle (an OTel processor's force_flush).
flush: Callable[[float], bool] = lambda timeout: True  # noqa: E731 - replaced at import
