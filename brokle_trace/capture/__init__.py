"""Capture: turn live arguments and results into bounded, redacted JSON values.

Two stages, split by thread:

* ``snapshot`` runs on the caller's thread, sees the live object, and copies what the limits
  and the hot-path budget allow (cost bounded by the limits, never by the input);
* ``finalize`` runs in the export worker on the snapshot: completes what was left by
  reference, redacts, then truncates to the final limits (redaction first, so a cut never
  leaves part of a secret), applies the user's mask, and fits the byte budget.

Nothing un-redacted is written or sent: exporters only see ``finalize``, ``redact_value``
and ``redact_text`` output, and the library's own log lines pass ``RedactingFilter``. See
``docs/capture.md`` for the rules and the limits.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from brokle_trace.capture._counters import COUNTER_NAMES, counters, reset_counters
from brokle_trace.capture._finalize import finalize_value, redact_text_value
from brokle_trace.capture._logs import RedactingFilter
from brokle_trace.capture._rules import BUILTIN_RULE_NAMES
from brokle_trace.capture._settings import CaptureSettings
from brokle_trace.capture._snapshot import snapshot_value
from brokle_trace.typing import JSONValue, Serializer

__all__ = [
    "BUILTIN_RULE_NAMES",
    "COUNTER_NAMES",
    "CaptureSettings",
    "RedactingFilter",
    "counters",
    "finalize",
    "redact_text",
    "redact_value",
    "reset_counters",
    "snapshot",
]


# Capture's own warnings never quote values, but they pass the same filter as the rest.
logging.getLogger("brokle_trace.capture").addFilter(RedactingFilter())


def snapshot(
    value: object,
    settings: CaptureSettings,
    *,
    max_string_length: int | None = None,
    serializer: Serializer | None = None,
) -> object:
    """Copy ``value`` into a bounded snapshot on the caller's thread. Never raises.

    The result is opaque: hand it to ``finalize`` (on any thread). ``max_string_length``
    is the decorator's limit (``max_input_length``), ``serializer`` its override.

    Example:
        >>> s = CaptureSettings()
        >>> snap = snapshot({"text": "x" * 100_000}, s, max_string_length=100)
        >>> finalize(snap, s, max_string_length=100)["text"][-30:]
        'xx...[TRUNCATED: 100000 chars]'
    """
    return snapshot_value(value, settings, max_string_length, serializer)


def finalize(
    snap: object,
    settings: CaptureSettings,
    *,
    max_string_length: int | None = None,
    field: str = "input",
    span_name: str = "",
) -> JSONValue:
    """Complete, redact, truncate, mask and bound ``snap``, in the export worker.

    Returns a JSON value whose ``orjson`` encoding is at most ``settings.max_bytes`` bytes.
    Never raises: an internal failure yields ``"[CAPTURE_ERROR]"``, never the raw value.

    Example:
        >>> s = CaptureSettings()
        >>> finalize(snapshot({"api_key": "abc", "max_tokens": 5}, s), s)
        {'api_key': '[REDACTED:api_key]', 'max_tokens': 5}
    """
    return finalize_value(snap, settings, max_string_length, field, span_name)


def redact_text(
    text: str,
    settings: CaptureSettings,
    *,
    field: str = "text",
    max_length: int | None = None,
    keep: Literal["head", "tail"] = "head",
) -> str:
    """Redact secrets inside free text (span names, exception messages, stack traces,
    status messages, log lines): the one function every free-text field goes through.

    The result is at most ``max_length`` characters (default ``settings.max_bytes``),
    including a truncation marker. ``keep="tail"`` keeps the end instead (a stack trace's
    innermost frames); the text is redacted *whole* before it is cut either way, so a
    secret straddling the cut is replaced whole. Never raises.

    Example:
        >>> redact_text("login failed: password=hunter2", CaptureSettings())
        'login failed: password=[REDACTED:secret_param]'
        >>> redact_text("x" * 100 + " sk-proj-" + "Ab3" * 10, CaptureSettings(),
        ...             max_length=64, keep="tail")
        '[TRUNCATED: 139 chars]...\\nxxxxxxxxxxxxxxxx [REDACTED:openai_key]'
    """
    return redact_text_value(text, settings, field, max_length, keep)


def redact_value(value: Any, settings: CaptureSettings, *, field: str = "metadata") -> JSONValue:
    """Capture a value built outside the decorators (metadata, attributes, tags, user ids).

    Same walk, rules, limits and mask as ``finalize``, in one step (call it in the worker).

    Example:
        >>> redact_value({"Authorization": "Bearer abc", "user": "u1"}, CaptureSettings())
        {'Authorization': '[REDACTED:authorization]', 'user': 'u1'}
    """
    return finalize_value(value, settings, None, field, "")
