"""The OTLP exporter's settings as OpenTelemetry spells them: endpoint, headers, timeout.

Every check names where a value came from (an argument or an ``OTEL_EXPORTER_OTLP_*``
variable) and what the user typed there, and never shows a header's value or a key: a
configuration mistake must be fixable from the message alone, without leaking a secret.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from brokle_trace._runtime import errors as _errors
from brokle_trace.exporters._http import redacted_url

__all__ = [
    "CONTROL",
    "DEFAULT_ENDPOINT",
    "check_endpoint",
    "check_header",
    "env_timeout",
    "parse_headers",
    "resolve",
    "resolve_endpoint",
]

DEFAULT_ENDPOINT = "http://localhost:4318/v1/traces"
_TRACES_PATH = "/v1/traces"
#: RFC 9110 field names, and what no field value may contain (CR, LF, NUL, other controls).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def parse_headers(
    value: str | None, *, strict: bool = False, source: str = "headers"
) -> dict[str, str]:
    """Parse ``OTEL_EXPORTER_OTLP_HEADERS`` syntax: ``k1=v1,k2=v2`` (values URL-encoded).

    Entries without ``=`` are skipped, unless ``strict``: then they raise ``ValueError``
    naming ``source`` and the entry's position (never its text: it may be a secret).

    Example:
        >>> parse_headers("x-team=ml,Authorization=Basic%20abc")
        {'x-team': 'ml', 'Authorization': 'Basic abc'}
    """
    headers: dict[str, str] = {}
    items = (value or "").split(",")
    for position, item in enumerate(items, 1):
        key, sep, val = item.partition("=")
        if sep and key.strip():
            headers[unquote(key.strip())] = unquote(val.strip())
        elif strict and item.strip():
            raise ValueError(
                f"{source}: entry {position} of {len(items)} is not key=value "
                f"({len(item.strip())} characters, not shown)"
            )
    return headers


def check_header(name: str, value: str, source: str = "headers") -> str:
    """``value`` ready for the wire; ``ValueError`` for what no HTTP request can carry.

    A line break or control character would end (or inject) a header: refused, naming the
    header but never showing its value. Characters outside Latin-1 cannot be sent at all
    (``http.client`` raises on every request): they are replaced by ``?`` once, here.

    Example:
        >>> check_header("x-team", "ml \u2014 nlp")
        'ml ? nlp'
    """
    if not name or not _TOKEN.fullmatch(name):
        raise ValueError(f"{source}: {name!r} is not a valid header name")
    if CONTROL.search(value):
        raise ValueError(
            f"{source}: the value of header {name!r} contains a line break or control "
            "character (not shown)"
        )
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        value = value.encode("latin-1", "replace").decode("latin-1")
        _errors.logger.warning(
            "brokle_trace: %s: header %r has characters outside Latin-1; replaced by '?'",
            source,
            name,
        )
    return value


def _with_traces_path(base: str) -> str:
    base = base.rstrip("/")
    return base if base.endswith(_TRACES_PATH) else base + _TRACES_PATH


def resolve(explicit: str | None, environ: Mapping[str, str]) -> tuple[str, str, str]:
    """(traces URL, where it came from, what the user typed there)."""
    if explicit:
        return _with_traces_path(explicit), "otlp_endpoint", explicit
    for var in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        typed = environ.get(var)
        if typed:
            url = typed if var == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" else _with_traces_path(typed)
            return url, var, typed
    return DEFAULT_ENDPOINT, "default", DEFAULT_ENDPOINT


def check_endpoint(url: str, source: str = "otlp_endpoint", typed: str | None = None) -> str:
    """``url`` if it is an ``http(s)://host...`` URL; ``ValueError`` naming ``source`` if not.

    Example:
        >>> try:
        ...     check_endpoint("localhost:4318", "OTEL_EXPORTER_OTLP_ENDPOINT")
        ... except ValueError as exc:
        ...     print(str(exc).split(" is ")[0])
        OTEL_EXPORTER_OTLP_ENDPOINT='localhost:4318'
    """
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        if ok:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        ok = False
    if not ok:
        shown = redacted_url(typed or url) if "@" in (typed or url) else (typed or url)
        raise ValueError(
            f"{source}={shown!r} is not an http(s) URL with a host, e.g. http://localhost:4318"
        )
    return url


def resolve_endpoint(explicit: str | None, environ: Mapping[str, str]) -> str:
    """The traces URL: ours (``BROKLE_OTLP_ENDPOINT``) first, then the standard variables.

    A base URL (ours or ``OTEL_EXPORTER_OTLP_ENDPOINT``) gets ``/v1/traces`` appended;
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is used as given.

    Example:
        >>> resolve_endpoint(None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
        'http://collector:4318/v1/traces'
    """
    return resolve(explicit, environ)[0]


def env_timeout(environ: Mapping[str, str]) -> float | None:
    # The spec gives OTEL_EXPORTER_OTLP_*TIMEOUT in milliseconds.
    for var in ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"):
        raw = environ.get(var)
        if raw:
            try:
                value = float(raw) / 1000.0
            except ValueError:
                value = math.nan
            if value > 0:  # inf included: "no timeout" (nan and <= 0 are not timeouts)
                return max(0.001, value)
            _errors.logger.warning(
                "brokle_trace: ignoring %s=%r (not a positive number of milliseconds)", var, raw
            )
    return None
