"""The decorators' options, written once: typed for the checker, checked at decoration time.

Each decorator takes ``**options: Unpack[...]`` of one of these ``TypedDict``s, so a type
checker rejects ``observe_llm(modle="x")`` and an IDE completes the names; at run time
:func:`check` rejects unknown names with a suggestion and values of the wrong kind
(``tags="prod"``, ``metadata="x"``), when decorating (never per call).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from typing_extensions import TypedDict

from brokle_trace._trace.facts import SpanKind
from brokle_trace._trace.option_values import check_values
from brokle_trace.typing import Serializer

__all__ = [
    "LLMOptions",
    "ObserveOptions",
    "RetrievalOptions",
    "check",
    "check_values",
    "to_facts_options",
]

Level = Literal["debug", "default", "warning", "error"]


class _SpanOptions(TypedDict, total=False):
    """Options every decorator takes (see :func:`brokle_trace.observe`)."""

    #: The span name (default: the function's ``__name__``), or a function called with the
    #: call's arguments (as the decorated function is) that returns the name.
    name: str | Callable[..., str] | None
    #: Capture the arguments / the result (None: the configured default).
    capture_inputs: bool | None
    capture_outputs: bool | None
    #: Characters kept per captured string (None: the configured ``max_string_length``).
    max_input_length: int | None
    max_output_length: int | None
    #: Trace attributes, inherited by every span below this one.
    tags: Sequence[str] | None
    user_id: str | None
    session_id: str | None
    metadata: Mapping[str, Any] | None
    #: Argument names never captured.
    ignore_args: Sequence[str] | None
    #: Turns this function's arguments and result into JSON-safe values.
    serializer: Serializer | None
    #: Static OpenTelemetry attributes set on every span of this function.
    attributes: Mapping[str, Any] | None
    #: Flush when a root span of this function ends (serverless handlers).
    flush: bool
    #: False: not traced at all (the function is returned as is); a function: asked before
    #: every call (no arguments), False means this call is not traced.
    enabled: bool | Callable[[], bool]
    #: Shape what is recorded: called on the export worker with the captured arguments /
    #: result (bounded and redacted); what they return is bounded and redacted again.
    process_inputs: Callable[[Any], Any] | None
    process_outputs: Callable[[Any], Any] | None
    #: Generators: called with each yielded item (on the caller's thread); what it returns
    #: is recorded for that item.
    process_chunk: Callable[[Any], Any] | None
    #: Generators: turns the list of (processed) yielded items into the span's output.
    reduce: Callable[[list[Any]], Any] | None
    #: Exceptions that are expected: recorded on the span, which is not marked failed.
    exceptions_to_handle: type[BaseException] | tuple[type[BaseException], ...]
    #: The level of every span of this function (``"error"`` also sets the status).
    level: Level | None
    #: Start a new trace even inside another one (linked to the span it started under).
    new_trace: bool
    #: The trace's name when this function's span is the root (exported on the root span).
    trace_name: str | None


class ObserveOptions(_SpanOptions, total=False):
    """The options of :func:`brokle_trace.observe`."""

    #: span, llm, retrieval, tool, embedding, agent, chain, reranker, guardrail, evaluator.
    type: SpanKind


class LLMOptions(_SpanOptions, total=False):
    """The options of :func:`brokle_trace.observe_llm`."""

    model: str | None
    provider: str | None
    #: False: record no prompt or completion text (None: the input/output capture default).
    capture_content: bool | None
    #: For generators: turns the yielded chunks into the span's output (same as ``reduce``).
    reducer: Callable[[Sequence[Any]], Any] | None


class RetrievalOptions(_SpanOptions, total=False):
    """The options of :func:`brokle_trace.observe_retrieval`."""

    index_name: str | None
    top_k: int | None


def check(decorator: str, options: Mapping[str, Any], allowed: type[Any]) -> None:
    """Raise ``TypeError`` for an option ``allowed`` (a TypedDict) does not name, and
    ``TypeError`` / ``ValueError`` for a value that option cannot take, naming it."""
    known = allowed.__annotations__
    for key in options:
        if key not in known:
            hint = difflib.get_close_matches(key, sorted(known), n=1)
            did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
            raise TypeError(f"{decorator}() got an unknown option {key!r}{did_you_mean}")
    check_values(decorator, options)


def to_facts_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The checked span options, as keyword arguments of the decoration step."""
    renames = {
        "flush": "flush_on_end",
        "process_inputs": "process_input",
        "process_outputs": "process_output",
        "exceptions_to_handle": "handled",
    }
    out = {renames.get(key, key): value for key, value in options.items()}
    out.setdefault("name", None)
    out.setdefault("type", "span")
    out.setdefault("ignore_args", None)
    out.setdefault("attributes", None)
    out["flush_on_end"] = bool(options.get("flush", False))
    handled = options.get("exceptions_to_handle", ())
    out["handled"] = handled if isinstance(handled, tuple) else (handled,)
    return out
