"""Following a file as it grows, like ``tail -F``: complete lines only, across rotations.

The JSONL exporter rotates by renaming the file (``x.jsonl`` → ``x.jsonl.1``) and creating a
new one. A :class:`Tail` keeps the old file open, so it reads the old file's last lines
before it moves on to the new one at its start; a file cut short (truncated) is read again
from its start. A line is handed over only once its newline is there: the exporter writes
whole lines, but a reader can still look between two ``write`` calls.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

import orjson

from brokle_trace.cli._read import BadLines, check

__all__ = ["Tail", "complete_end", "parse_lines"]

#: Read at most this much per call, so one call stays short when a file grows by gigabytes.
MAX_READ = 16 * 1024 * 1024


def complete_end(path: Path) -> int:
    """Byte offset just past the last complete line of ``path`` (0 when missing or empty).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.jsonl"
        >>> _ = p.write_bytes(b'{"a": 1}\\n{"b"')
        >>> complete_end(p)
        9
    """
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            pos = size
            while pos > 0:
                step = min(65536, pos)
                fh.seek(pos - step)
                chunk = fh.read(step)
                cut = chunk.rfind(b"\n")
                if cut >= 0:
                    return pos - step + cut + 1
                pos -= step
            return 0
    except OSError:
        return 0


class Tail:
    """The complete lines appended to ``path`` since the last :meth:`read`.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.jsonl"
        >>> _ = p.write_bytes(b"old\\n")
        >>> tail = Tail(p)  # from the end
        >>> with p.open("ab") as fh:
        ...     _ = fh.write(b"new\\nhalf")
        >>> tail.read()
        [b'new\\n']
    """

    def __init__(self, path: Path, offset: int | None = None) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None
        self._id: tuple[int, int] | None = None
        self._rest = b""
        self.rotations = 0
        self._open(complete_end(path) if offset is None else offset)

    def _open(self, offset: int) -> bool:
        try:
            fh = self.path.open("rb")
        except OSError:
            return False
        info = os.fstat(fh.fileno())
        self._id = (info.st_dev, info.st_ino)
        fh.seek(min(offset, info.st_size))
        self._fh = fh
        self._rest = b""
        return True

    def _drain(self, budget: int) -> list[bytes]:
        assert self._fh is not None
        data = self._fh.read(budget)
        if not data:
            return []
        data = self._rest + data
        cut = data.rfind(b"\n") + 1
        self._rest = data[cut:]
        return data[:cut].splitlines(keepends=True)

    def read(self, budget: int = MAX_READ) -> list[bytes]:
        """The new complete lines (each with its newline), at most about ``budget`` bytes."""
        if self._fh is None and not self._open(0):
            return []
        lines = self._drain(budget)
        if sum(map(len, lines)) + len(self._rest) >= budget:
            return lines  # more to come: the caller reads again soon
        try:
            info = os.stat(self.path)
            now: tuple[int, int] | None = (info.st_dev, info.st_ino)
        except OSError:
            info, now = None, None
        if now != self._id:  # rotated (renamed away) or deleted: finish the old file first
            lines += self._drain(budget)
            self.close()
            self.rotations += 1
            if now is not None and self._open(0):
                lines += self._drain(budget)
        elif info is not None and self._fh is not None and info.st_size < self._fh.tell():
            self._fh.seek(0)  # truncated: what is there now is new
            self._rest = b""
            lines += self._drain(budget)
        return lines

    def close(self) -> None:
        """Close the file (a later :meth:`read` opens the file at its start)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def parse_lines(lines: list[bytes], bad: BadLines, where: str = "line") -> list[dict[str, Any]]:
    """The spans among ``lines``; the others counted in ``bad`` (numbered from 1 per call)."""
    spans = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            span = orjson.loads(line)
        except orjson.JSONDecodeError:
            bad.add(n, "invalid JSON", where)
            continue
        reason = check(span)
        if reason is not None:
            bad.add(n, reason, where)
            continue
        spans.append(span)
    return spans
