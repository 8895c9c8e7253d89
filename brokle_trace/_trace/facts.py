"""What is static about a traced function, computed once at decoration time."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from brokle_trace._trace.span import Span
    from brokle_trace.typing import Serializer

__all__ = ["KINDS", "VIEW_ATTRIBUTES", "ExportView", "SpanFacts", "SpanKind"]

#: The span types a decorator or ``start_span`` accepts.
SpanKind = Literal[
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
KINDS: frozenset[str] = frozenset(get_args(SpanKind))

#: What the export worker needs of a function's facts, as a tuple of atoms shared by every
#: record of that function (a class instance would keep records tracked by the GC; see
#: _export/record.py). Readers unpack it whole, by name, in this order (_export/convert.py):
#: (name, type, param_names, plain_args, max_input_length, max_output_length, skip_first,
#: varargs, ignore, attributes).
ExportView = tuple[Any, ...]
#: The one field read alone (``update()``d attributes merge with the static ones).
VIEW_ATTRIBUTES = 9


class SpanFacts:
    """What is static about a traced function, computed once at decoration time."""

    __slots__ = (
        "_unsampled",
        "attributes",
        "binder",
        "capture_inputs",
        "capture_outputs",
        "export_view",
        "extras",
        "flush_on_end",
        "handled",
        "ignore",
        "item_hook",
        "level",
        "max_input_length",
        "max_output_length",
        "metadata",
        "name",
        "name_fn",
        "new_trace",
        "param_names",
        "plain_args",
        "process_chunk",
        "process_input",
        "process_output",
        "reduce",
        "result_hook",
        "sampled_out",
        "serializer",
        "session_id",
        "skip_first",
        "stream_end_hook",
        "tags",
        "trace_attrs",
        "trace_name",
        "type",
        "user_id",
        "varargs",
        "zip_args",
    )

    def __init__(
        self,
        name: str,
        type: str = "span",
        *,
        capture_inputs: bool | None = None,
        capture_outputs: bool | None = None,
        max_input_length: int | None = None,
        max_output_length: int | None = None,
        tags: Sequence[str] | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        attributes: Mapping[str, Any] | None = None,
        param_names: tuple[str, ...] = (),
        skip_first: bool = False,
        varargs: str | None = None,
        ignore: frozenset[str] = frozenset(),
        serializer: Serializer | None = None,
        flush_on_end: bool = False,
        result_hook: Callable[[Span, Any], None] | None = None,
        item_hook: Callable[[Span, Any], None] | None = None,
        stream_end_hook: Callable[[Span], None] | None = None,
        process_input: Callable[[Any], Any] | None = None,
        process_output: Callable[[Any], Any] | None = None,
        process_chunk: Callable[[Any], Any] | None = None,
        reduce: Callable[[list[Any]], Any] | None = None,
        handled: tuple[type[BaseException], ...] = (),
        name_fn: Callable[..., Any] | None = None,
        level: str | None = None,
        new_trace: bool = False,
        trace_name: str | None = None,
        binder: Callable[..., Any] | None = None,
    ) -> None:
        self.name = name
        self.type = type
        # Normalised to None/True/False: the keys of state.inputs_on / outputs_on.
        self.capture_inputs = None if capture_inputs is None else bool(capture_inputs)
        self.capture_outputs = None if capture_outputs is None else bool(capture_outputs)
        self.max_input_length = max_input_length
        self.max_output_length = max_output_length
        self.tags = tuple(tags or ())
        self.user_id = user_id
        self.session_id = session_id
        self.metadata = dict(metadata) if metadata else None
        self.attributes = dict(attributes) if attributes else None
        self.param_names = param_names
        self.skip_first = skip_first
        self.varargs = varargs
        self.ignore = ignore
        self.serializer = serializer
        self.flush_on_end = flush_on_end
        #: Positional arguments (``self`` skipped) name themselves by ``zip`` with the names.
        self.zip_args = varargs is None and not ignore
        #: ... and map one to one onto ``param_names`` (the worker's fast path).
        self.plain_args = not skip_first and self.zip_args
        self.export_view: ExportView = (
            name,
            type,
            param_names,
            self.plain_args,
            max_input_length,
            max_output_length,
            skip_first,
            varargs,
            tuple(sorted(ignore)),
            self.attributes,
        )
        # Type-specific behaviour (LLM usage, retrieval documents, streaming), chosen once at
        # decoration time so plain spans pay nothing: called with the live return value,
        # with each yielded item, and when a generator span ends.
        self.result_hook = result_hook
        self.item_hook = item_hook
        self.stream_end_hook = stream_end_hook
        # The user's shaping of what is recorded (capture/_process.py), and of the status.
        self.process_input = process_input
        self.process_output = process_output
        self.process_chunk = process_chunk
        self.reduce = reduce
        #: Exceptions recorded on the span without marking it failed (``exceptions_to_handle``).
        self.handled = handled
        self.name_fn = name_fn
        self.level = level
        self.new_trace = new_trace
        self.trace_name = trace_name
        #: Names the inputs when the wrapper's parameters are not the signature's (codegen).
        self.binder = binder
        #: Per-call work beyond the common steps: the wrapper calls ``start_with_extras``.
        self.extras = bool(binder or name_fn or level or process_input)
        # Trace attributes given on the decorator are inherited by the subtree; only build
        # a merged TraceAttrs per call when there are any (or a new trace to start).
        self.trace_attrs = bool(
            self.tags or user_id or session_id or self.metadata or new_trace or trace_name
        )
        # Head sampling: spans of a dropped trace swap in a twin of these facts that captures
        # nothing and runs no hooks; the export queue skips and counts them.
        self.sampled_out = False
        self._unsampled: SpanFacts | None = None

    def unsampled(self) -> SpanFacts:
        """The twin used by spans of a sampled-out trace (built once, then cached)."""
        twin = self._unsampled
        if twin is None:
            twin = copy.copy(self)
            twin.capture_inputs = twin.capture_outputs = False
            twin.result_hook = twin.item_hook = twin.stream_end_hook = None
            twin.process_input = twin.process_output = twin.process_chunk = twin.reduce = None
            twin.name_fn = None
            twin.flush_on_end = False
            twin.sampled_out = True
            twin._unsampled = twin
            self._unsampled = twin
        return twin
