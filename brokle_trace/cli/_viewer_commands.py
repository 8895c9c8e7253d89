"""Registers ``view``, ``html``, ``stats`` and ``serve`` with the ``brokle-trace`` command.

``brokle_trace.cli`` imports this module when present and merges :data:`COMMANDS`. The
command modules are imported only when their command runs, so ``brokle-trace demo`` does not
pay for them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["COMMANDS", "SERVE_PORT"]

#: ``brokle-trace serve``'s default port on 127.0.0.1 (a free one is taken when it is busy).
SERVE_PORT = 7717

_FILES_HELP = (
    "JSONL traces files (default: $BROKLE_TRACES_FILE or ./brokle_traces.jsonl, where the "
    "library writes by default); each is read with its rotated parts FILE.N ... FILE.1"
)


def _files(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", type=Path, metavar="FILE", nargs="*", help=_FILES_HELP)
    parser.add_argument(
        "--no-rotated",
        action="store_true",
        help="read only the files named, not their rotated parts FILE.1 ...",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress on stderr (default: for files over 32 MB on a terminal)",
    )


def _file_and_filters(parser: argparse.ArgumentParser, default_last: int) -> None:
    _files(parser)
    group = parser.add_argument_group("filters (combine with AND)")
    group.add_argument("--trace", metavar="ID", help="only this trace (an id or its prefix)")
    group.add_argument(
        "--last", type=int, metavar="N", help=f"the N newest traces (default {default_last})"
    )
    group.add_argument("--all", action="store_true", help="every trace (overrides --last)")
    group.add_argument("--errors", action="store_true", help="only traces with a failed span")
    group.add_argument("--session", metavar="ID", help="only traces of this session id")
    group.add_argument("--user", metavar="ID", help="only traces of this user id")
    group.add_argument(
        "--name", metavar="TEXT", help="only traces with a span whose name contains TEXT (any case)"
    )


def _view_arguments(parser: argparse.ArgumentParser) -> None:
    _file_and_filters(parser, 20)
    parser.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="keep reading: show each new trace as its spans arrive (Ctrl-C stops)",
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colours (needs `brokle-trace[view]`); auto: only on a terminal",
    )
    parser.add_argument(
        "--preview-chars",
        type=int,
        default=60,
        metavar="N",
        help="length of the input/output previews (default 60)",
    )
    parser.add_argument("--no-preview", action="store_true", help="no input/output previews")
    parser.add_argument(
        "--max-spans",
        type=int,
        default=500,
        metavar="N",
        help="spans shown per trace (default 500; 0 for no limit)",
    )


def _run_view(args: argparse.Namespace) -> int:
    if args.follow:
        from brokle_trace.cli._follow import run_follow

        return run_follow(args)
    from brokle_trace.cli._view import run_view

    return run_view(args)


def _report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-field-chars",
        type=int,
        default=20_000,
        metavar="N",
        help="cut each input/output/metadata value to N characters in the "
        "report (default 20000; 0 for no limit)",
    )
    parser.add_argument("--title", default=None, help="page title (default: the file name)")


def _html_arguments(parser: argparse.ArgumentParser) -> None:
    _file_and_filters(parser, 500)
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("brokle_report.html"),
        metavar="OUT",
        help="HTML file to write (default brokle_report.html)",
    )
    _report_options(parser)


def _run_html(args: argparse.Namespace) -> int:
    from brokle_trace.cli._html import run_html

    return run_html(args)


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    _file_and_filters(parser, 500)
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        metavar="N",
        help=f"port on 127.0.0.1 (default {SERVE_PORT}, or a free one when "
        "it is taken; 0: any free port)",
    )
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    _report_options(parser)


def _run_serve(args: argparse.Namespace) -> int:
    from brokle_trace.cli._serve import run_serve

    return run_serve(args)


def _stats_arguments(parser: argparse.ArgumentParser) -> None:
    _files(parser)
    parser.add_argument(
        "--top",
        type=int,
        default=10,
        metavar="N",
        help="rows per table and slowest traces shown (default 10; 0: all)",
    )
    parser.add_argument(
        "--by",
        action="append",
        choices=("user", "session", "tag"),
        default=[],
        help="also a table per user, session or tag (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable JSON output")
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="tables with rich (needs `brokle-trace[view]`); auto: on a terminal",
    )


def _run_stats(args: argparse.Namespace) -> int:
    from brokle_trace.cli._stats import run_stats

    return run_stats(args)


COMMANDS = {
    "view": (
        "show the traces of JSONL files as trees, newest first (--follow: as they come)",
        _view_arguments,
        _run_view,
    ),
    "html": (
        "write a self-contained HTML report (trace list and waterfall) of JSONL files",
        _html_arguments,
        _run_html,
    ),
    "serve": (
        "serve the HTML report on 127.0.0.1, updated live as the file grows",
        _serve_arguments,
        _run_serve,
    ),
    "stats": (
        "calls, errors, latency, tokens and cost per model and span name; slowest traces",
        _stats_arguments,
        _run_stats,
    ),
}
