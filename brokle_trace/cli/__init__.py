"""The ``brokle-trace`` command: ``demo``, and ``view``, ``html``, ``serve``, ``stats`` on JSONL
files."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

__all__ = ["main"]

#: name -> (help, add_arguments, run); subcommand modules register themselves here.
Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]

#: Exit status after the reader of our output went away (``| head``): 128 + SIGPIPE, as
#: ``git log | head`` or ``yes | head`` exit, so ``set -o pipefail`` scripts can tell.
EXIT_CLOSED_PIPE = 141
#: Exit status after Ctrl-C stopped a command that does not stop by itself otherwise.
EXIT_INTERRUPTED = 130


def _commands() -> dict[str, Command]:
    from brokle_trace.cli import _demo

    commands: dict[str, Command] = {"demo": _demo.COMMAND}
    try:
        from brokle_trace.cli import _viewer_commands
    except ImportError:
        pass
    else:
        commands.update(_viewer_commands.COMMANDS)
    return commands


def _version() -> str:
    from brokle_trace import __version__

    return f"brokle-trace {__version__}"


def _quiet_closed_stdout() -> None:
    # Python flushes stdout again at exit; pointing fd 1 at /dev/null keeps that flush (and
    # its "Exception ignored ... BrokenPipeError") from ever reaching the user.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``brokle-trace`` console script.

    Returns the exit status: 0 done, 1 nothing matched, 2 a file is missing, 141 the reader
    of the output went away (``brokle-trace stats | head``).

    Example:
        >>> main(["view", "no-such-file.jsonl"])
        2
    """
    parser = argparse.ArgumentParser(
        prog="brokle-trace", description="Trace LLM applications and look at the traces."
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)
    commands = _commands()
    for name, (help_text, add_arguments, _run) in commands.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    try:
        return commands[args.command][2](args)
    except BrokenPipeError:
        _quiet_closed_stdout()
        return EXIT_CLOSED_PIPE
    except KeyboardInterrupt:  # Ctrl-C while reading a big file: no traceback
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
