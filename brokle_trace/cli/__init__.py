"""The ``brokle-trace`` command: ``demo`` now; ``view``, ``html`` and ``stats`` read JSONL files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

__all__ = ["main"]

#: name -> (help, add_arguments, run); subcommand modules register themselves here.
Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]


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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``brokle-trace`` console script."""
    parser = argparse.ArgumentParser(
        prog="brokle-trace", description="Trace LLM applications and look at the traces."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    commands = _commands()
    for name, (help_text, add_arguments, _run) in commands.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    return commands[args.command][2](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
