"""Which files a viewer command reads: the FILE arguments and their rotated older parts.

The JSONL exporter rotates ``brokle_traces.jsonl`` into ``brokle_traces.jsonl.1`` (the newest
old part) … ``.N`` (the oldest). A trace that straddles a rotation has spans in two files, so
every reader takes a file together with its rotated parts, oldest first, unless told
``--no-rotated``. Several FILE arguments are read one after another, each file once.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Sources", "default_file", "expand", "rotated_parts", "sources_from_args"]


def default_file() -> Path:
    """Where the library writes by default: ``$BROKLE_TRACES_FILE`` or ``./brokle_traces.jsonl``."""
    return Path(os.environ.get("BROKLE_TRACES_FILE", "brokle_traces.jsonl"))


def rotated_parts(path: Path) -> list[Path]:
    """``path.N`` … ``path.1`` that exist, oldest (highest number) first.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> for name in ("t.jsonl", "t.jsonl.1", "t.jsonl.2", "t.jsonl.bak"):
        ...     _ = (d / name).write_text("")
        >>> [p.name for p in rotated_parts(d / "t.jsonl")]
        ['t.jsonl.2', 't.jsonl.1']
    """
    suffix = re.compile(re.escape(path.name) + r"\.([0-9]+)")
    found: list[tuple[int, Path]] = []
    try:
        entries = list(os.scandir(path.parent if str(path.parent) else "."))
    except OSError:
        return []
    for entry in entries:
        m = suffix.fullmatch(entry.name)
        if m and entry.is_file():
            found.append((int(m.group(1)), path.parent / entry.name))
    return [p for _, p in sorted(found, reverse=True)]


def expand(
    files: Sequence[Path], *, rotated: bool = True, keep_missing: bool = False
) -> tuple[list[Path], list[Path]]:
    """(files to read in order, FILE arguments of which nothing exists).

    Each FILE comes after its rotated parts; a file named twice (a shell glob that also
    matched the rotated parts) is read once. ``keep_missing`` keeps a FILE that does not
    exist yet in the list (to be followed until the application creates it).
    """
    paths: list[Path] = []
    seen: set[str] = set()
    missing: list[Path] = []
    for f in files:
        group = [*rotated_parts(f), f] if rotated else [f]
        group = [p for p in group if p.is_file() or (keep_missing and p is f)]
        if not any(p.is_file() for p in group):
            missing.append(f)
        for p in group:
            key = os.path.realpath(p)
            if key not in seen:
                seen.add(key)
                paths.append(p)
    return paths, missing


@dataclass(frozen=True)
class Sources:
    """The files to read, in order, and (for ``--follow``/``serve``) where to stop in each.

    Example:
        >>> Sources((Path("a.jsonl.1"), Path("a.jsonl"))).label(Path("a.jsonl"))
        'a.jsonl'
    """

    paths: tuple[Path, ...]
    #: The FILE arguments themselves: the files being written to (``--follow`` tails them).
    actives: tuple[Path, ...] = ()
    #: Read a path only up to this byte offset (its size when a tail started following it).
    stops: Mapping[Path, int] = field(default_factory=dict)

    def total_bytes(self) -> int:
        """Bytes to read, for the progress line."""
        total = 0
        for p in self.paths:
            try:
                size = p.stat().st_size
            except OSError:
                continue
            total += min(size, self.stops.get(p, size))
        return total

    def label(self, path: Path) -> str:
        """How a message names ``path``: its name, or its full path when names repeat."""
        names = [p.name for p in self.paths]
        return path.name if names.count(path.name) == 1 else str(path)

    def describe(self) -> str:
        """The files for a message: ``a.jsonl`` or ``a.jsonl (+2 rotated)``."""
        if len(self.paths) == 1:
            return str(self.paths[0])
        return f"{self.paths[-1]} (+{len(self.paths) - 1} more files)"


def sources_from_args(args: Any, command: str, *, keep_missing: bool = False) -> Sources | int:
    """The sources named by ``args.files`` / ``args.no_rotated``; 2 (after saying why on
    stderr) when one of them does not exist (unless ``keep_missing``: it is followed)."""
    files: list[Path] = list(args.files) or [default_file()]
    paths, missing = expand(
        files, rotated=not getattr(args, "no_rotated", False), keep_missing=keep_missing
    )
    if missing and not keep_missing:
        for f in missing:
            print(f"brokle-trace {command}: no such file: {f}", file=sys.stderr)
        return 2
    return Sources(tuple(paths), actives=tuple(files))
