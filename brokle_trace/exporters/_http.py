"""One HTTP POST with the OTLP/HTTP retry rules, on the standard library's ``http.client``.

Why not ``requests``: one keep-alive connection and a deadline are all we need, and a
dependency-free transport cannot be instrumented by accident by the user's HTTP tracing.

The rules (OTLP spec, "Retryable response codes"): retry 429, 502, 503, 504 and connection
errors, with exponential backoff and jitter, honouring ``Retry-After`` (seconds or an
HTTP-date); never retry another status; never go past the caller's deadline. A retry that
could not finish before the deadline is not attempted: the batch fails at once, counted.

The deadline covers the whole exchange, not each socket operation: a socket timeout applies
per read, so a server that drips its response a byte at a time would keep an export going
forever. Responses are read through ``_DeadlineReader``, which sets the socket's timeout to
what is left before each read.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from brokle_trace._runtime.timeouts import wait_time

__all__ = [
    "RETRYABLE_STATUS",
    "HttpSender",
    "SendResult",
    "backoff_delay",
    "explain",
    "parse_retry_after",
]

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
_MAX_RESPONSE_BYTES = 1 << 20


@dataclass
class SendResult:
    """What happened to one request, after all its attempts."""

    ok: bool
    status: int | None
    attempts: int
    body: bytes = b""
    reason: str = ""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header; None when absent or unparseable.

    Example:
        >>> parse_retry_after("3"), parse_retry_after("soon")
        (3.0, None)
        >>> parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", now=4.0)
        6.0
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, float(when.timestamp()) - current)


def backoff_delay(
    attempt: int, initial: float, maximum: float, rand: Callable[[], float] = random.random
) -> float:
    """Exponential backoff with +-20 % jitter: ``initial * 2**attempt``, capped at ``maximum``.

    Example:
        >>> backoff_delay(3, 1.0, 32.0, rand=lambda: 0.5)
        8.0
    """
    base: float = min(maximum, initial * 2.0**attempt)
    return base * (0.8 + 0.4 * rand())


def redacted_url(url: str) -> str:
    """``url`` without user info or query: safe to put in a log line.

    Example:
        >>> redacted_url("https://user:pw@host:4318/v1/traces?key=1")
        'https://host:4318/v1/traces'
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


class _DeadlineReader(io.RawIOBase):
    """A socket's reading side that gives up at ``deadline`` (monotonic), whatever the pace."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no complete response within the export timeout")
        self._sock.settimeout(wait_time(left))
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """What ``HTTPResponse`` reads from: ``makefile`` over a ``_DeadlineReader``."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


class _Deadlined:
    """Mixed into ``HTTPConnection``: the response is read within ``deadline``."""

    deadline = float("inf")

    def response_class(self, sock: socket.socket, *args: object, **kwargs: object) -> object:
        return http.client.HTTPResponse(
            _DeadlineSocket(sock, self.deadline),  # type: ignore[arg-type]
            *args,  # type: ignore[arg-type]
            **kwargs,  # type: ignore[arg-type]
        )


# ``response_class`` is a class there and a method here: both are called the same way.
class _Connection(_Deadlined, http.client.HTTPConnection):  # type: ignore[misc]
    pass


class _TLSConnection(_Deadlined, http.client.HTTPSConnection):  # type: ignore[misc]
    pass


def explain(exc: BaseException) -> str:
    """A failed connection in words a log reader acts on ("connection refused").

    Example:
        >>> explain(ConnectionRefusedError(111, "Connection refused"))
        'connection refused'
    """
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return "connection reset by the collector"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "connection closed by the collector without a response"
    if isinstance(exc, socket.gaierror):
        return f"host name not resolved ({exc.strerror})"
    if isinstance(exc, TimeoutError):
        return "no response within the export timeout"
    if isinstance(exc, OSError) and exc.strerror:
        return f"connection error ({exc.strerror})"
    return f"connection error ({type(exc).__name__})"


class HttpSender:
    """POSTs bodies to one URL over a reused connection, retrying per the OTLP rules.

    Used from one thread at a time (the exporter's); ``abort`` may be called from another
    to stop a wait or a blocked read at shutdown.

    Example:
        >>> sender = HttpSender("http://127.0.0.1:4318/v1/traces", {}, backoff_initial=0.1)
        >>> sender.url
        'http://127.0.0.1:4318/v1/traces'
    """

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        cafile: str | None = None,
        backoff_initial: float = 1.0,
        backoff_max: float = 32.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OTLP endpoint must be an http(s) URL, got {redacted_url(url)!r}")
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = dict(headers)
        self._cafile = cafile
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._conn: http.client.HTTPConnection | None = None
        self._used = False
        self._stop = threading.Event()
        #: Why the latest attempt failed ("" after a success): read while a send retries.
        self.last_failure = ""

    def _connection(self, deadline: float) -> http.client.HTTPConnection:
        timeout = wait_time(deadline - time.monotonic())
        conn = self._conn
        if conn is None:
            if self._https:
                context = ssl.create_default_context(cafile=self._cafile)
                conn = _TLSConnection(self._host, self._port, timeout=timeout, context=context)
            else:
                conn = _Connection(self._host, self._port, timeout=timeout)
            self._conn = conn
            self._used = False
        else:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
        conn.deadline = deadline  # type: ignore[attr-defined]
        return conn

    def _attempt(self, body: bytes, deadline: float) -> tuple[int, Mapping[str, str], bytes]:
        conn = self._connection(deadline)
        try:
            conn.request("POST", self._path, body=body, headers=self._headers)
            response = conn.getresponse()
            data = response.read(_MAX_RESPONSE_BYTES)
            status = response.status
            headers = {k.lower(): v for k, v in response.getheaders()}
            if response.will_close or not response.isclosed():
                self.close()
            else:
                self._used = True
            return status, headers, data
        except BaseException:
            self.close()
            raise

    def send(self, body: bytes, deadline: float) -> SendResult:
        """POST ``body`` until it is accepted, refused for good, or ``deadline`` (monotonic)."""
        attempts = 0
        retry = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return SendResult(False, None, attempts, reason="export timeout")
            if self._stop.is_set():
                return SendResult(False, None, attempts, reason="shut down")
            reused = self._conn is not None and self._used
            attempts += 1
            try:
                status, headers, data = self._attempt(body, deadline)
            except (OSError, http.client.HTTPException) as exc:
                if self._stop.is_set():
                    # abort() closed the socket under us: that is not what went wrong.
                    return SendResult(False, None, attempts, reason="shut down")
                if isinstance(exc, TimeoutError):
                    self.last_failure = explain(exc)
                    return SendResult(False, None, attempts, reason=self.last_failure)
                if isinstance(exc, ssl.SSLCertVerificationError):
                    return SendResult(False, None, attempts, reason=f"TLS: {exc.reason}")
                if reused:
                    # A keep-alive connection the server had already closed: the request
                    # never reached it, so try once more at once on a fresh connection.
                    attempts -= 1
                    continue
                reason = explain(exc)
                delay = backoff_delay(retry, self._backoff_initial, self._backoff_max)
                status, headers, data = 0, {}, b""
            else:
                if 200 <= status < 300:
                    self.last_failure = ""
                    return SendResult(True, status, attempts, data)
                reason = f"HTTP {status}"
                if status not in RETRYABLE_STATUS:
                    return SendResult(False, status, attempts, data, reason + " (not retried)")
                after = parse_retry_after(headers.get("retry-after"))
                if after is not None:
                    delay = after
                else:
                    delay = backoff_delay(retry, self._backoff_initial, self._backoff_max)
            self.last_failure = reason
            if time.monotonic() + delay >= deadline:
                return SendResult(
                    False, status or None, attempts, data, reason + "; no time left to retry"
                )
            retry += 1
            if self._stop.wait(wait_time(delay)):
                return SendResult(False, status or None, attempts, data, reason + "; shut down")

    def close(self) -> None:
        """Drop the connection (the next send opens a new one)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):  # closing a broken socket
                conn.close()

    def abort(self) -> None:
        """From another thread: end any wait or blocked read now; later sends fail fast."""
        self._stop.set()
        conn = self._conn
        sock = getattr(conn, "sock", None) if conn is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed by the other side
                sock.shutdown(socket.SHUT_RDWR)
