"""The user's own shaping of what is recorded: ``process_inputs``, ``process_outputs``,
``process_chunk`` and ``reduce``, run so that they can neither leak nor break anything.

* Failing closed: a processor that raises (anything, ``BaseException`` included) records a
  marker, never the unprocessed value, and is counted (``callback_errors``).
* Same limits and rules: ``process_inputs``/``process_outputs`` run on the export worker on
  the captured value *after* it was bounded and redacted, and what they return is bounded
  and redacted again (``finalize``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from brokle_trace.capture._counters import report
from brokle_trace.capture._nodes import Processed
from brokle_trace.capture._redact import marker
from brokle_trace.capture._settings import CaptureSettings
from brokle_trace.typing import JSONValue

__all__ = ["apply", "finalize_processed", "processed"]


def apply(fn: Callable[[Any], Any], value: Any, what: str) -> Any:
    """``fn(value)``, or a marker naming ``what`` if it raised (never re-raised)."""
    try:
        return fn(value)
    except BaseException as exc:  # user code: whatever it raises is its failure, not ours
        report("callback_errors", exc, f"{what} raised")
        return marker(f"{what}_error")


def processed(value: object, fn: Callable[[Any], Any] | None) -> object:
    """``value`` marked to be shaped by ``fn`` on the worker (as is when ``fn`` is None)."""
    if fn is None or type(value) is Processed:
        return value
    return Processed(value, fn)


def finalize_processed(
    value: Processed,
    settings: CaptureSettings,
    max_string_length: int | None,
    field: str,
    span_name: str,
) -> JSONValue:
    """Finalise the captured value, hand it to the processor, finalise what it returns."""
    from brokle_trace.capture._finalize import finalize_value

    captured = finalize_value(value.value, settings, max_string_length, field, span_name)
    shaped = apply(value.fn, captured, f"process_{field}s")
    return finalize_value(shaped, settings, max_string_length, field, span_name)
