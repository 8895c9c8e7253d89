"""The one public record: a finished span, as exporters receive it and JSONL stores it."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FORMAT_VERSION",
    "EncodedLines",
    "ErrorInfo",
    "PreparedBatch",
    "SpanData",
    "SpanType",
    "Status",
    "fast_span_data",
    "span_json",
]

#: Bumped only on an incompatible change of the JSONL line format.
FORMAT_VERSION = 1

SpanType = Literal[
    "span",
    "llm",
    "retrieval",
    "tool",
    "embedding",
    "agent",
    "chain",
    "reranker",
    "guardrail",
    "evaluator",
]
Status = Literal["ok", "error"]
Level = Literal["debug", "default", "warning", "error"]


#: An exported stack trace keeps its last (innermost) this many characters, redacted whole
#: before the cut, for our spans and third-party ones alike.
MAX_STACKTRACE_CHARS = 16_000


class ErrorInfo(BaseModel):
    """The exception that ended a span, already redacted.

    Example:
        >>> ErrorInfo(type="ValueError", message="bad input", stacktrace="...").type
        'ValueError'
    """

    model_config = ConfigDict(frozen=True)

    type: str
    message: str
    stacktrace: str | None = None


class SpanData(BaseModel):
    """A finished span: what every exporter receives and what one JSONL line holds.

    Ids are lowercase hex (32 chars for the trace, 16 for spans) so they match the W3C
    traceparent and the OpenTelemetry ids of the same span. ``input``/``output`` hold JSON
    values that already went through capture (bounded, redacted). ``attributes`` holds flat
    OpenTelemetry attributes, including the ``gen_ai.*`` ones of LLM spans.

    Example:
        >>> line = '{"name": "step", "trace_id": "' + "1" * 32 + '", "span_id": "' + "2" * 16 + \
'", "start_time_ns": 1, "end_time_ns": 2}'
        >>> SpanData.model_validate_json(line).duration_ns
        1
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    format_version: int = FORMAT_VERSION
    name: str
    trace_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    span_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    parent_span_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$")
    type: SpanType = "span"
    start_time_ns: int
    end_time_ns: int
    status: Status = "ok"
    status_message: str | None = None
    level: Level = "default"
    error: ErrorInfo | None = None
    input: Any = None
    output: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    user_id: str | None = None
    session_id: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    service: str | None = None
    environment: str | None = None
    release: str | None = None

    @property
    def duration_ns(self) -> int:
        """Wall-clock duration of the span in nanoseconds."""
        return self.end_time_ns - self.start_time_ns

    @property
    def is_root(self) -> bool:
        """True when the span has no parent (in this process or a remote one)."""
        return self.parent_span_id is None


_ALL_FIELDS = frozenset(SpanData.model_fields)
_new = object.__new__
_set = object.__setattr__
# BaseModel's own slot descriptors: setting through them skips the frozen __setattr__.
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def fast_span_data(fields: dict[str, Any]) -> SpanData:
    """Build a SpanData from values our own pipeline produced, skipping validation.

    The export worker builds one per span; validation would cost ~5 µs each, and
    ``model_construct`` ~30 µs. ``fields`` must hold every field with the right types
    (``error`` an ``ErrorInfo`` or None); a test compares the result with a validated twin.
    """
    inst = _new(SpanData)
    _set(inst, "__dict__", fields)
    _set_fields_set(inst, _ALL_FIELDS)
    _set_extra(inst, None)
    _set_private(inst, None)
    return inst


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    raise TypeError(type(value).__name__)


def span_json(span: SpanData) -> bytes:
    """One JSONL line (with its newline) for ``span``: the documented file format."""
    return orjson.dumps(span.__dict__, default=_json_default, option=orjson.OPT_APPEND_NEWLINE)


class EncodedLines:
    """A batch already in the JSONL format: one buffer of whole lines and, for each line,
    the offset just past it (so a short write knows which spans it lost).

    One growing buffer rather than a list of lines: holding thousands of freshly encoded
    bytes objects at once costs ~10x the encoding itself (allocator churn).
    """

    __slots__ = ("data", "ends")

    def __init__(self) -> None:
        self.data = bytearray()
        self.ends: list[int] = []

    def add(self, line: bytes) -> None:
        """Append one line (with its newline)."""
        self.data += line
        self.ends.append(len(self.data))

    def __len__(self) -> int:
        return len(self.ends)

    def sizes(self, every: int) -> list[int]:
        """The length of every ``every``-th line, for the queue's size estimate."""
        ends = self.ends
        return [ends[i] - (ends[i - 1] if i else 0) for i in range(0, len(ends), every)]


class PreparedBatch:
    """A batch already in an exporter's wire format (OTLP: gzipped protobuf request bodies).

    What the lane of an exporter that is behind holds instead of ``SpanData``: a few bytes
    objects, exactly measured, that the garbage collector never has to walk (thousands of
    queued pydantic models made full collections take ~100 ms on the callers' threads).
    ``chunks`` are ``(spans, body)`` pairs; ``drops`` the spans lost while encoding.
    """

    __slots__ = ("chunks", "drops", "n", "size")

    def __init__(self, chunks: list[tuple[int, bytes]], drops: dict[str, int], n: int) -> None:
        self.chunks = chunks
        self.drops = drops
        self.n = n
        self.size = sum(len(body) for _, body in chunks)

    def __len__(self) -> int:
        return self.n
