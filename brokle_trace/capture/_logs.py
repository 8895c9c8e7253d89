"""The library's own log lines, redacted like everything it exports.

A warning may quote what the user gave: a mistyped endpoint with its password, an invalid
``level=`` holding a key, an exception message. The filter formats the record once, redacts
the text and leaves no arguments behind, so no handler can format the raw values again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from brokle_trace.capture._finalize import redact_text_value
from brokle_trace.capture._settings import CaptureSettings

__all__ = ["RedactingFilter"]

_DEFAULT = CaptureSettings()


class RedactingFilter(logging.Filter):
    """A ``logging.Filter`` that redacts each record's message (and its exception text).

    ``settings`` returns the capture settings in force (the user's extra rules apply to
    log lines too). The filter never drops a record and never raises.

    Example:
        >>> import logging
        >>> log = logging.getLogger("example.redacted")
        >>> log.addFilter(RedactingFilter())
        >>> record = log.makeRecord("x", logging.WARNING, "f", 1, "bad %s", ("password=pw",),
        ...                         None)
        >>> RedactingFilter().filter(record), record.getMessage()
        (True, 'bad password=[REDACTED:secret_param]')
    """

    def __init__(self, settings: Callable[[], CaptureSettings] | None = None) -> None:
        super().__init__()
        self._settings = settings

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            settings = self._settings() if self._settings is not None else _DEFAULT
            record.msg = redact_text_value(record.getMessage(), settings, "log", None)
            record.args = None
            if record.exc_info is not None and record.exc_text is None:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact_text_value(record.exc_text, settings, "log", None, "tail")
        except Exception:  # a log line is never worth an exception in the caller
            record.msg, record.args = "brokle_trace: log line withheld (redaction failed)", None
        return True
