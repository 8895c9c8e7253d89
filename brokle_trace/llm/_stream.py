"""Streams: time to first chunk, chunk count, the joined text, and usage from the last chunks.

The same two steps serve a decorated generator (``@observe_llm`` on a generator: the core
calls :func:`on_item` per yielded item and :func:`on_end` when it ends) and the client
wrappers (which feed the SDK's stream events through the same functions).

Per chunk we do a few attribute reads: the text delta (OpenAI chat/completions chunks,
Responses ``response.output_text.delta`` events, Anthropic ``content_block_delta`` events,
plain strings) and a ``usage`` field when one is present (OpenAI's final chunk with
``stream_options={"include_usage": True}``, Anthropic ``message_start``/``message_delta``,
Responses ``response.completed``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from brokle_trace import capture, semconv
from brokle_trace._runtime import state as _state
from brokle_trace.llm._record import attrs_of, extra, now_ns, record, set_ttft
from brokle_trace.llm._usage import extract_usage, read

if TYPE_CHECKING:
    from brokle_trace._trace.span import Span

__all__ = ["Reducer", "StreamState", "chunk_text", "on_end", "on_item", "set_output"]

#: Turns the list of yielded items into the span's output.
Reducer = Callable[[Sequence[Any]], Any]

#: Characters of streamed text kept for the output (capture truncates further).
_MAX_TEXT = 100_000
_CONTAINER_EVENTS = frozenset(
    {"message_start", "response.created", "response.completed", "response.incomplete"}
)


class StreamState:
    """What a stream has shown so far."""

    __slots__ = ("chunks", "items", "reducer", "text", "text_len")

    def __init__(self, reducer: Reducer | None) -> None:
        self.chunks = 0
        self.text: list[str] = []
        self.text_len = 0
        self.reducer = reducer
        self.items: list[Any] | None = [] if reducer is not None else None


def chunk_text(item: Any) -> str | None:
    """The text a stream chunk adds, or None. Never raises.

    Example:
        >>> chunk_text({"choices": [{"delta": {"content": "Hel"}}]})
        'Hel'
        >>> chunk_text({"type": "content_block_delta", "delta": {"text": "lo"}})
        'lo'
    """
    if type(item) is str:
        return item
    try:
        choices = read(item, "choices")
        if choices:
            first = choices[0]
            delta = read(first, "delta")
            text = read(delta, "content") if delta is not None else read(first, "text")
            return text if isinstance(text, str) else None
        kind = read(item, "type")
        if kind == "content_block_delta":
            text = read(read(item, "delta"), "text")
        elif kind == "response.output_text.delta":
            text = read(item, "delta")
        elif kind is None and isinstance(item, dict):
            text = item.get("content", item.get("text"))
        else:
            return None
        return text if isinstance(text, str) else None
    except Exception:
        return None


def _chunk_facts(item: Any) -> tuple[Any, str | None]:
    """(usage object or None, model or None) carried by one chunk."""
    usage = read(item, "usage")
    model = read(item, "model")
    if usage is None and read(item, "type") in _CONTAINER_EVENTS:
        inner = read(item, "message")
        if inner is None:
            inner = read(item, "response")
        usage = read(inner, "usage")
        model = read(inner, "model")
    return usage, model if isinstance(model, str) else None


def state(span: Span, reducer: Reducer | None = None) -> StreamState:
    """The span's stream state, created on the first chunk."""
    ext = extra(span)
    st = ext.get("stream")
    if st is None:
        ext["stream"] = st = StreamState(reducer)
    return st


def on_item(span: Span, item: Any, reducer: Reducer | None = None) -> None:
    """Account for one chunk: TTFT on the first, text and usage as they come."""
    ext = getattr(span, "_extra", None)
    st = ext.get("stream") if type(ext) is dict else None
    first = st is None
    if st is None:
        set_ttft(span, now_ns())
        st = state(span, reducer)
    st.chunks += 1
    if st.items is not None:
        st.items.append(item)
    if type(item) is str:
        if st.text_len < _MAX_TEXT:
            st.text.append(item)
            st.text_len += len(item)
        return
    text = chunk_text(item)
    if text and st.text_len < _MAX_TEXT:
        st.text.append(text)
        st.text_len += len(text)
    usage, model = _chunk_facts(item)
    if usage is not None or (first and model):
        record(span, model=model, usage=extract_usage(usage) if usage is not None else None)


def output_allowed(span: Span) -> bool:
    """Whether this span captures outputs (its own switch, else the global one)."""
    return _state.outputs_on[span._facts.capture_outputs]


def set_output(span: Span, value: Any) -> None:
    """Replace the span's output with ``value`` (bounded like any captured output)."""
    if output_allowed(span):
        facts = span._facts
        span._output = capture.snapshot(
            value,
            _state.capture_settings,
            max_string_length=facts.max_output_length,
            serializer=facts.serializer,
        )


def on_end(span: Span) -> None:
    """Close the stream's record: chunk count, and the joined text (or reducer result) as output."""
    ext = getattr(span, "_extra", None)
    st: StreamState | None = ext.get("stream") if type(ext) is dict else None
    attrs_of(span)[semconv.BROKLE_STREAM_CHUNKS] = st.chunks if st is not None else 0
    if st is None:
        return
    if st.reducer is not None and st.items is not None:
        set_output(span, st.reducer(st.items))
    elif st.text:
        set_output(span, "".join(st.text))
