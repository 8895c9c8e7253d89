"""The zero-configuration default: one JSON line per span, appended to a local file."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Sequence
from pathlib import Path

from brokle_trace._model import EncodedLines, SpanData, span_json
from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime.text import clean_span
from brokle_trace.typing import ExportResult

__all__ = ["JsonlExporter"]

_LOG_EVERY_S = 60.0


def _regular_or_missing(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # created as a regular file on the first write


class JsonlExporter:
    """Append spans to ``path`` as JSON Lines (one ``SpanData`` per line).

    * Atomic lines: the file is opened with ``O_APPEND`` and each batch is one ``write`` of
      whole lines, so processes appending to the same file (forked workers) never interleave
      parts of lines.
    * Rotation: when the file would pass ``max_bytes`` it becomes ``<path>.1`` (older ones
      shift up to ``<path>.<backups>``); ``max_bytes=0`` never rotates.
    * Failures: an unwritable path or a full disk fails the batch with a warning naming the
      path and the error; the spans not fully written are counted as ``export_failed`` and a
      cut line is closed so every other line stays readable (if the disk is still full,
      the next write that succeeds starts with the missing newline: a cut line is never
      merged with the next one).
    * The file the user sees: before each batch the file at ``path`` is compared with the
      one open (inode and device); if another process deleted, moved or rotated it
      (logrotate), the exporter opens ``path`` anew instead of writing into a file that is
      gone or renamed.

    Example:
        >>> import tempfile, pathlib
        >>> from brokle_trace.exporters import JsonlExporter
        >>> exporter = JsonlExporter(pathlib.Path(tempfile.mkdtemp()) / "traces.jsonl",
        ...                          max_bytes=10_000_000, backups=3)
    """

    def __init__(
        self, path: str | os.PathLike[str], *, max_bytes: int = 0, backups: int = 5
    ) -> None:
        self.path = Path(path)
        #: A regular file never blocks a write for long: the export worker calls this
        #: exporter directly. A FIFO or a terminal may, so those get a thread of their own.
        self.export_inline = _regular_or_missing(self.path)
        self.max_bytes = max_bytes
        self.backups = backups
        self._fd: int | None = None
        #: The last write stopped inside a line and its newline could not be written.
        self._cut = False
        self._lock = threading.Lock()
        self._drops: dict[str, int] = {}
        self._warnings = _errors.RateLimiter(_LOG_EVERY_S)
        self.rotations = 0
        self.reopened = 0

    def open(self) -> None:
        """Open (or create) the file now instead of at the first batch; ``OSError`` if it
        cannot be written (``configure()`` turns that into a ``ConfigError``).

        Example:
            >>> import tempfile, pathlib
            >>> JsonlExporter(pathlib.Path(tempfile.mkdtemp()) / "t.jsonl").open()
        """
        with self._lock:
            self._open()

    def _open(self) -> int:
        if self._fd is None:
            if self.path.parent != Path():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return self._fd

    def _current(self, fd: int) -> int:
        """``fd``, or a new descriptor if the file at ``path`` is no longer the one open."""
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return fd  # a FIFO, a terminal, /dev/full: nothing to rotate or delete
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            on_disk = None
        if on_disk is not None and (on_disk.st_ino, on_disk.st_dev) == (
            info.st_ino,
            info.st_dev,
        ):
            return fd
        self._close()
        self.reopened += 1
        self._cut = False  # a new file starts clean
        return self._open()

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _maybe_rotate(self, fd: int, incoming: int) -> int:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
            return fd
        if info.st_size + incoming <= self.max_bytes:
            return fd
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            on_disk = None
        # Another process sharing the file may have rotated it already: then only reopen.
        if on_disk is not None and (on_disk.st_ino, on_disk.st_dev) == (
            info.st_ino,
            info.st_dev,
        ):
            if self.backups > 0:
                for i in range(self.backups - 1, 0, -1):
                    older = Path(f"{self.path}.{i}")
                    if older.exists():
                        os.replace(older, f"{self.path}.{i + 1}")
                os.replace(self.path, f"{self.path}.1")
            else:
                os.unlink(self.path)
            self.rotations += 1
        self._close()
        return self._open()

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        """Append ``spans`` as lines; FAILURE (and a counted loss) if the write fails."""
        lines = EncodedLines()
        unencodable = 0
        for span in spans:
            try:
                lines.add(span_json(span))
            except Exception:
                # A lone surrogate (a name from os.listdir): the span with its text cleaned;
                # failing that, the span alone is dropped.
                try:
                    lines.add(span_json(clean_span(span)))
                except Exception as exc:
                    unencodable += 1
                    self._log(
                        "brokle_trace: span %r cannot be encoded (%s); dropped",
                        span.name,
                        type(exc).__name__,
                    )
        if unencodable:
            with self._lock:
                self._drops["serialize_error"] = self._drops.get("serialize_error", 0) + unencodable
        return self.export_lines(lines)

    @property
    def accepts_lines(self) -> bool:
        """True unless ``export`` was replaced (see :class:`~brokle_trace.typing.LinesExporter`).

        Example:
            >>> JsonlExporter("traces.jsonl").accepts_lines
            True
        """
        # The export worker may hand over lines it encoded itself, skipping SpanData; not
        # when export() was replaced (a subclass, a patched instance): that one must keep
        # receiving SpanData.
        return type(self).export is JsonlExporter.export and "export" not in vars(self)

    def export_lines(self, lines: EncodedLines) -> ExportResult:
        """Append lines already in the file format (see ``export``)."""
        data, ends = lines.data, lines.ends
        written = 0
        with self._lock:
            prefix = 0
            try:
                fd = self._current(self._open())
                if self.max_bytes:
                    fd = self._maybe_rotate(fd, len(data))
                if self._cut:
                    # The last line written was cut and never closed: close it first.
                    data, prefix = bytearray(b"\n") + data, 1
                view = memoryview(data)
                while written < len(data):
                    written += os.write(fd, view[written:])
                    if written >= prefix:
                        self._cut = False
            except OSError as exc:
                lost = self._lost_lines(ends, written - prefix)
                if written > prefix and (written - prefix) not in ends:
                    self._cut = True
                    self._close_cut_line()
                self._drops["export_failed"] = self._drops.get("export_failed", 0) + lost
                self._log(
                    "brokle_trace: cannot write traces to %s (%s); %d span(s) lost",
                    self.path,
                    exc.strerror or exc,
                    lost,
                )
                return ExportResult.FAILURE
        return ExportResult.SUCCESS

    @staticmethod
    def _lost_lines(ends: list[int], written: int) -> int:
        # ends[i] is the offset just past line i: lines ending beyond `written` are lost.
        return sum(1 for end in ends if end > written)

    def _close_cut_line(self) -> None:
        # End the half-written line so readers can skip just that one; if the disk is still
        # full, the next successful write starts with this newline (``_cut`` stays set).
        try:
            if self._fd is not None and os.write(self._fd, b"\n") == 1:
                self._cut = False
        except OSError:
            pass

    def _log(self, message: str, *args: object) -> None:
        self._warnings.warn("", message, *args)

    def take_drops(self) -> dict[str, int]:
        """Spans of the last batch that did not reach the file, by reason (and reset)."""
        with self._lock:
            drops, self._drops = self._drops, {}
        return drops

    def stats(self) -> dict[str, object]:
        """The file and how often it rotated.

        Example:
            >>> JsonlExporter("traces.jsonl").stats()["rotations"]
            0
        """
        return {"path": str(self.path), "rotations": self.rotations, "reopened": self.reopened}

    def after_fork(self) -> JsonlExporter:
        """A forked child appends to the same file through its own descriptor."""
        return JsonlExporter(self.path, max_bytes=self.max_bytes, backups=self.backups)

    def shutdown(self) -> None:
        """Close the file."""
        with self._lock:
            self._close()
