"""``brokle-trace serve``: the HTML report on 127.0.0.1, updated as the file grows.

Standard library only (``http.server``). ``GET /`` is the same page ``brokle-trace html``
writes, built from the files at that moment; the page then asks ``GET /api/updates?since=N``
about once a second and merges the spans that arrived since (the page drops a span it
already has, so the overlap between a page and its first update is harmless).

The server keeps one small summary per trace (for the totals) and the newest span records,
encoded, up to ``LOG_BYTES``; a page further behind than that reloads. Files are read when a
page asks, so an idle server reads nothing. Only 127.0.0.1 is bound, and only requests for
``127.0.0.1:PORT`` or ``localhost:PORT`` are answered: the traces hold inputs and outputs,
and neither another machine nor another web site in the same browser should read them.
"""

from __future__ import annotations

import argparse
import errno
import sys
import threading
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson

from brokle_trace.cli import _read, _sources, _traces
from brokle_trace.cli._html import span_record, trace_record, write_report
from brokle_trace.cli._read import BadLines
from brokle_trace.cli._tail import Tail, complete_end, parse_lines
from brokle_trace.cli._viewer_commands import SERVE_PORT

__all__ = ["LiveReport", "make_server", "run_serve"]

#: Encoded span records kept for pages that poll (a page further behind reloads).
LOG_BYTES = 64 * 1024 * 1024
#: Span records per update answer; the page asks again at once when there are more.
MAX_PER_UPDATE = 5_000
POLL_MS = 1000


class LiveReport:
    """What the server knows: every trace's summary, and the span records of late arrivals.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.jsonl"
        >>> args = argparse.Namespace(files=[p], no_rotated=False, trace=None, errors=False,
        ...     session=None, user=None, name=None, last=None, all=False, progress=False,
        ...     max_field_chars=100, title=None)
        >>> live = LiveReport(args)
        >>> _ = p.write_text('{"name": "a", "trace_id": "t", "span_id": "s", '
        ...                  '"start_time_ns": 1, "end_time_ns": 2}\\n')
        >>> [s["name"] for s in orjson.loads(live.updates(0))["spans"]]
        ['a']
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        found = _sources.sources_from_args(args, "serve", keep_missing=True)
        assert not isinstance(found, int)  # keep_missing: a file not there yet is waited for
        self.actives = found.actives
        self.rotated = not args.no_rotated
        self.filters = _traces.filters_from_args(args)
        self.lock = threading.Lock()
        self.bad = BadLines()
        stops = {a: complete_end(a) for a in found.actives}
        self.scanner = _traces.Scanner(keep_names=args.name is not None)
        for span in _read.iter_spans(
            _sources.Sources(found.paths, found.actives, stops),
            self.bad,
            progress_label="scanning",
            force_progress=args.progress,
        ):
            self.scanner.add(span)
        self.tails = [Tail(a, stops[a]) for a in found.actives]
        self.seq = 0  # number of span records ever logged
        self.base = 0  # seq of log[0] minus one
        self.log: list[tuple[str, bytes]] = []  # (trace id, encoded span record)
        self.log_bytes = 0

    def _poll(self) -> None:
        """Read what the files gained (caller holds the lock)."""
        limit = self.args.max_field_chars
        for tail in self.tails:
            for span in parse_lines(tail.read(), self.bad, "new line"):
                self.scanner.add(span)
                record = orjson.dumps(span_record(span, span["trace_id"], limit))
                self.log.append((span["trace_id"], record))
                self.log_bytes += len(record)
                self.seq += 1
        if self.log_bytes > LOG_BYTES:
            drop = 0
            while self.log_bytes > LOG_BYTES // 2:
                self.log_bytes -= len(self.log[drop][1])
                drop += 1
            del self.log[:drop]
            self.base += drop

    def page(self) -> bytes:
        """The report page as it stands now, with the sequence number updates start from."""
        with self.lock:
            self._poll()
            seq = self.seq
            last = _traces.last_from_args(self.args, 500)
            selected = _traces.select_traces(self.scanner.traces, self.filters, last)
            selected = [_copy(t) for t in selected]
        paths, _ = _sources.expand(self.actives, rotated=self.rotated)
        out = BytesIO()
        title = self.args.title or f"brokle-trace: {self.actives[0].name}"
        write_report(
            out,
            _read.iter_spans(_sources.Sources(tuple(paths)), BadLines()),
            selected,
            title=title,
            max_field_chars=self.args.max_field_chars,
            live={
                "url": "/api/updates",
                "seq": seq,
                "interval_ms": POLL_MS,
                "errors": bool(self.args.errors),
            },
        )
        return out.getvalue()

    def updates(self, since: int) -> bytes:
        """JSON: the span records after ``since``, their traces' records, the new ``seq``."""
        with self.lock:
            self._poll()
            if since > self.seq or since < self.base:
                return orjson.dumps({"reset": True, "seq": self.seq})
            start = since - self.base
            chunk = self.log[start : start + MAX_PER_UPDATE]
            traces = {tid: self.scanner.traces[tid] for tid, _ in chunk}
            more = start + len(chunk) < len(self.log)
            seq = since + len(chunk)
            head = orjson.dumps(
                {"seq": seq, "more": more, "traces": [trace_record(t) for t in traces.values()]}
            )
        return head[:-1] + b',"spans":[' + b",".join(r for _, r in chunk) + b"]}"


def _copy(t: _traces.TraceSummary) -> _traces.TraceSummary:
    # A snapshot: the page is written outside the lock while new spans update the original.
    return _traces.TraceSummary(
        t.trace_id,
        t.start_ns,
        t.end_ns,
        t.spans,
        t.errors,
        t.root_name,
        t.user_id,
        t.session_id,
        None,
        t.llm_calls,
        t.input_tokens,
        t.output_tokens,
        t.cost_usd,
        t.tags,
    )


def _handler(live: LiveReport) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "brokle-trace"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a request log on the terminal would bury the URL line

        def _send(self, body: bytes, content_type: str, status: HTTPStatus = HTTPStatus.OK) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            port = getattr(self.server, "server_port", None)  # HTTPServer sets it on bind
            # A web page elsewhere can point a name of its own at 127.0.0.1 (DNS rebinding);
            # only requests that name this server may read the traces.
            if self.headers.get("Host") not in (f"127.0.0.1:{port}", f"localhost:{port}"):
                self._send(b"unknown host", "text/plain", HTTPStatus.FORBIDDEN)
                return
            try:
                if url.path in ("/", "/index.html"):
                    self._send(live.page(), "text/html; charset=utf-8")
                elif url.path == "/api/updates":
                    since = parse_qs(url.query).get("since", ["0"])[0]
                    self._send(
                        live.updates(int(since) if since.isdigit() else 0), "application/json"
                    )
                else:
                    self._send(b"not found", "text/plain", HTTPStatus.NOT_FOUND)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the page went away mid-answer

    return Handler


def make_server(live: LiveReport, port: int | None) -> ThreadingHTTPServer:
    """A server on 127.0.0.1: ``port``, or the default one (any free port when it is taken).

    Example:
        >>> import tempfile, pathlib
        >>> args = argparse.Namespace(files=[pathlib.Path(tempfile.mkdtemp()) / "t.jsonl"],
        ...     no_rotated=False, trace=None, errors=False, session=None, user=None, name=None,
        ...     last=None, all=False, progress=False, max_field_chars=100, title=None)
        >>> server = make_server(LiveReport(args), 0)
        >>> server.server_address[0]
        '127.0.0.1'
        >>> server.server_close()
    """
    handler = _handler(live)
    try:
        server = ThreadingHTTPServer(("127.0.0.1", SERVE_PORT if port is None else port), handler)
    except OSError as exc:
        if port is not None or exc.errno != errno.EADDRINUSE:
            raise
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    return server


def run_serve(args: argparse.Namespace) -> int:
    """Run ``brokle-trace serve``; returns 0 once stopped with Ctrl-C."""
    live = LiveReport(args)
    try:
        server = make_server(live, args.port)
    except OSError as exc:
        print(
            f"brokle-trace serve: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 2
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    files = ", ".join(str(a) for a in live.actives)
    print(
        f"brokle-trace serve: {url}  ({files}: {len(live.scanner.traces)} traces so far; "
        "the page updates as spans arrive; Ctrl-C stops)",
        flush=True,
    )
    if args.open:
        webbrowser.open(url)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        for tail in live.tails:
            tail.close()
    print("brokle-trace serve: stopped", flush=True)
    return 0
