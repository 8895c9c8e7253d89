"""The decorators' options, written once: typed for the checker, checked at decoration time.

Each decorator takes ``**options: Unpack[...]`` of one of these ``TypedDict``s, so a type
checker rejects ``observe_llm(modle="x")`` and an IDE completes the names; at run time
:func:`check` rejects unknown names with a suggestion and values of the wrong kind
(``tags="prod"``, ``metadata="x"``), when decorating (never per call).
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from typing_extensions import TypedDict

from brokle_trace._trace.facts import KINDS, SpanKind
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
_LEVELS = frozenset({"debug", "default", "warning", "error"})


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


# -- value checks, by option name -----------------------------------------------------------------


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_opt_bool(v: Any) -> bool:
    return v is None or isinstance(v, bool)


def _is_opt_str(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _is_opt_callable(v: Any) -> bool:
    return v is None or callable(v)


def _is_strings(v: Any) -> bool:
    # A str is a sequence of strings too: "prod" would become ['p', 'r', 'o', 'd'].
    return v is None or (
        isinstance(v, (list, tuple, set, frozenset)) and all(isinstance(s, str) for s in v)
    )


def _is_opt_mapping(v: Any) -> bool:
    return v is None or isinstance(v, Mapping)


def _is_length(v: Any) -> bool:
    return v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)


def _is_top_k(v: Any) -> bool:
    return v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)


def _is_exceptions(v: Any) -> bool:
    items = v if isinstance(v, tuple) else (v,)
    return all(isinstance(e, type) and issubclass(e, BaseException) for e in items)


#: (check, what the value must be). A ValueError for values of the right type but out of
#: range, a TypeError otherwise.
_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (
        lambda v: v is None or isinstance(v, str) or callable(v),
        "a string, or a function of the arguments returning one",
    ),
    "capture_inputs": (_is_opt_bool, "True, False or None"),
    "capture_outputs": (_is_opt_bool, "True, False or None"),
    "capture_content": (_is_opt_bool, "True, False or None"),
    "max_input_length": (_is_length, "a positive int or None"),
    "max_output_length": (_is_length, "a positive int or None"),
    "tags": (_is_strings, "a list of strings (not one string)"),
    "ignore_args": (_is_strings, "a list of argument names (not one string)"),
    "user_id": (_is_opt_str, "a string or None"),
    "session_id": (_is_opt_str, "a string or None"),
    "trace_name": (_is_opt_str, "a string or None"),
    "model": (_is_opt_str, "a string or None"),
    "provider": (_is_opt_str, "a string or None"),
    "index_name": (_is_opt_str, "a string or None"),
    "metadata": (_is_opt_mapping, "a mapping (a dict) or None"),
    "attributes": (_is_opt_mapping, "a mapping (a dict) or None"),
    "serializer": (_is_opt_callable, "a function (value, context) -> value, or None"),
    "process_inputs": (_is_opt_callable, "a function of the captured inputs, or None"),
    "process_outputs": (_is_opt_callable, "a function of the captured output, or None"),
    "process_chunk": (_is_opt_callable, "a function of one yielded item, or None"),
    "reduce": (_is_opt_callable, "a function of the list of yielded items, or None"),
    "reducer": (_is_opt_callable, "a function of the list of yielded items, or None"),
    "flush": (_is_bool, "True or False"),
    "new_trace": (_is_bool, "True or False"),
    "enabled": (
        lambda v: isinstance(v, bool) or callable(v),
        "True, False, or a function with no arguments returning one",
    ),
    "exceptions_to_handle": (_is_exceptions, "an exception class or a tuple of them"),
    "top_k": (_is_top_k, "an int >= 0 or None"),
}
_VALUES: dict[str, tuple[frozenset[str], str]] = {
    "type": (KINDS, "span type"),
    "level": (_LEVELS, "level"),
}
_RANGED = frozenset({"max_input_length", "max_output_length", "top_k"})


#: Callbacks and how many positional arguments each is called with: one that cannot take
#: them would fail on every call (counted, never raised), so it is refused when decorating.
_ARITY = {
    "enabled": 0,
    "process_inputs": 1,
    "process_outputs": 1,
    "process_chunk": 1,
    "reduce": 1,
    "reducer": 1,
    "serializer": 2,
}


def _callable_with(fn: Any, n: int) -> bool:
    """False only when ``fn``'s signature surely refuses ``n`` positional arguments."""
    if isinstance(fn, bool) or fn is None:
        return True
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: the call will tell
        return True
    try:
        signature.bind(*([None] * n))
    except TypeError:
        return False
    return True


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


def check_values(caller: str, options: Mapping[str, Any]) -> None:
    """``TypeError`` / ``ValueError`` naming the option for a value it cannot take (the
    decorators' options, and the same names on ``start_span`` / ``trace_context``)."""
    for key, value in options.items():
        if key in _VALUES:
            values, what = _VALUES[key]
            if value is None and key == "level":
                continue
            try:
                known = value in values
            except TypeError:  # unhashable: a list, a dict
                known = False
            if not known:
                raise ValueError(
                    f"{caller}({key}={value!r:.60}): the {what} must be one of {sorted(values)}"
                )
            continue
        if key == "name" and value == "":
            raise ValueError(f"{caller}(name=''): a span name cannot be empty")
        rule = _CHECKS.get(key)
        if rule is not None and not rule[0](value):
            ranged = key in _RANGED and isinstance(value, int) and not isinstance(value, bool)
            error = ValueError if ranged else TypeError
            raise error(
                f"{caller}({key}=...) must be {rule[1]}, got {type(value).__name__} {value!r:.60}"
            )
        arity = _ARITY.get(key)
        if arity is not None and callable(value) and not _callable_with(value, arity):
            takes = "no arguments" if arity == 0 else f"{arity} positional argument(s)"
            raise TypeError(
                f"{caller}({key}={value!r:.60}): it is called with {takes}, which its "
                "signature does not accept"
            )


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
