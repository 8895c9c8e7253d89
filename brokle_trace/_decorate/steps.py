"""The per-call steps every wrapper shares: start a span, record inputs, finish, fail.

Each runs once per decorated call, so each is written for the hot path: no allocations
that can be avoided, no calls that can be inlined. Immutable arguments and results are kept
by reference (there is nothing to copy); anything else is snapshotted while the caller
still owns it.
"""

from __future__ import annotations

import types
from typing import Any

from brokle_trace._decorate import generators as _generators
from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime import state as _state
from brokle_trace._runtime.state import UNSET
from brokle_trace._trace import clock as _clock
from brokle_trace._trace.context import CURRENT, reset_context
from brokle_trace._trace.facts import SpanFacts
from brokle_trace._trace.inputs import inputs_dict, name_inputs
from brokle_trace._trace.span import Span, TracingOff, begin, fail
from brokle_trace.capture._counters import report
from brokle_trace.capture._process import processed
from brokle_trace.capture._snapshot import snapshot_inputs, snapshot_value

__all__ = ["fail_call", "finish_call", "output_processor", "start_call", "start_with_extras"]

_current_reset = CURRENT.reset
_snapshot = snapshot_value
_snapshot_inputs = snapshot_inputs
#: Types whose values cannot change after the call: captured by reference, copied never.
_IMMUTABLE = frozenset({int, float, bool, type(None)})
#: Lists of numbers up to this length are copied inline instead of through the snapshot walk.
_SMALL = 32
RAW_ARGS = _state.RAW_ARGS
_GeneratorType = types.GeneratorType
_AsyncGeneratorType = types.AsyncGeneratorType
#: Results that are neither a generator nor an object that may hold one: one set lookup.
_PLAIN = frozenset({str, int, float, bool, type(None), list, dict, tuple, bytes, set})
_stream_misses = _generators.misses
#: What a capture that failed records (the snapshot's own fail-closed marker).
CAPTURE_ERROR = "[CAPTURE_ERROR]"
_GIVE_UP = _generators.GIVE_UP


# -- per-call steps shared by every wrapper -------------------------------------------------------


def start_call(facts: SpanFacts, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Span | None:
    """Begin a span and record the inputs; None if tracing itself failed.

    When every argument is immutable (numbers, and strings within the capture cut) there
    is nothing to copy: the span keeps the argument tuple and the worker builds the input
    dict. Anything else is snapshotted here, while the caller still owns it.
    """
    try:
        span = begin(facts)
        facts = span._facts  # a sampled-out trace swaps in facts that capture nothing
        if _state.inputs_on[facts.capture_inputs]:
            try:
                cut = _state.capture_cut
                values = args[1:] if facts.skip_first else args
                for value in values:
                    t = type(value)
                    if t is str:
                        if len(value) > cut:
                            break
                    elif t not in _IMMUTABLE:
                        break
                else:
                    if kwargs:
                        for value in kwargs.values():
                            t = type(value)
                            if t is str:
                                if len(value) > cut:
                                    break
                            elif t not in _IMMUTABLE:
                                break
                        else:
                            span._input = (RAW_ARGS, args, kwargs)
                            return span
                    else:
                        span._input = (RAW_ARGS, args, None)
                        return span
                if kwargs or not facts.zip_args:
                    inputs = inputs_dict(facts, args, kwargs)
                else:  # ``name_inputs`` for the commonest case, minus two calls (~0.3 us)
                    inputs = dict(zip(facts.param_names, values, strict=False))
                span._input = _snapshot_inputs(
                    inputs,
                    _state.capture_settings,
                    facts.max_input_length,
                    facts.serializer,
                )
            except Exception as exc:  # a type whose metaclass __hash__ raises: keep the span
                if _errors.strict:  # the library's own tests: surface it
                    raise
                report("capture_errors", exc, "reading the arguments failed")
                span._input = CAPTURE_ERROR
        return span
    except TracingOff:  # tracing is off here (tracing_disabled(), OTel suppression)
        return None
    except Exception as exc:
        _errors.internal_error("span_start", exc)
        return None


def start_with_extras(
    facts: SpanFacts, args: tuple[Any, ...], kwargs: dict[str, Any] | None
) -> Span | None:
    """``start_call`` for functions with per-call options: a name computed from the
    arguments, a fixed level, ``process_inputs``, or inputs named through a binder (the
    wrapper's parameters are not the signature's). Chosen at decoration time, so the
    common wrapper never pays for it."""
    if facts.binder is not None:
        args, kwargs = _bound(facts.binder, args, kwargs)
    span = start_call(facts, args, kwargs)  # type: ignore[arg-type]
    if span is None:
        return None
    try:
        facts = span._facts
        if facts.name_fn is not None:
            name = _call_name(facts, args, kwargs)
            if name is not None:
                span._name = name
                span._updated = True
        if facts.level is not None:
            span._level = facts.level
            span._updated = True
        if facts.process_input is not None and span._input is not UNSET:
            inp = span._input
            if type(inp) is tuple and inp and inp[0] is RAW_ARGS:
                inp = inputs_dict(facts, inp[1], inp[2])
            span._input = processed(inp, facts.process_input)
    except Exception as exc:
        _errors.internal_error("span_start", exc)
    return span


def _bound(
    binder: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None
) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
    """The arguments as the signature names them, or as they came if the call does not fit
    it (the function itself decides whether that call is an error)."""
    try:
        bound: tuple[tuple[Any, ...], dict[str, Any] | None] = binder(*args, **(kwargs or {}))
    except TypeError:
        return args, kwargs
    return bound


def _call_name(
    facts: SpanFacts, args: tuple[Any, ...], kwargs: dict[str, Any] | None
) -> str | None:
    """``name=`` given as a function: called with the arguments by name (defaults included,
    ``self`` left out); None (the default name) if it raised or returned a non-string."""
    named = name_inputs(facts.param_names, facts.skip_first, facts.varargs, (), args, kwargs)
    try:
        name = facts.name_fn(**named)  # type: ignore[misc]
    except BaseException as exc:  # user code: its failure keeps the default name
        report("callback_errors", exc, "name raised")
        return None
    return name if type(name) is str else None


def finish_call(span: Span, token: Any, result: Any) -> Any:
    """Detach, record the output and end the span; returns what the caller gets.

    The steps of ``reset_context``, the output snapshot and ``end`` are written out here: this
    runs once per call and each saved function call is ~5 % of the hot path.
    """
    try:
        try:
            _current_reset(token)
        except ValueError:
            reset_context(token)
        facts = span._facts
        try:
            kind = type(result)
            if kind not in _PLAIN:
                if kind is _GeneratorType or kind is _AsyncGeneratorType:
                    # A plain function returned a generator: the span stays open over its
                    # iteration, and ends even if it is never iterated.
                    return _generators.traced(result, span)
                if _stream_misses.get(kind, 0) < _GIVE_UP:
                    key = _generators.stream_inside(result)
                    if key is not None:  # a streaming response: the span ends with its body
                        return _generators.keep_open(result, key, span)
            if facts.result_hook is not None:
                facts.result_hook(span, result)
            if _state.outputs_on[facts.capture_outputs] and span._output is UNSET:
                # Immutable results need no copy (what snapshot itself would return).
                if kind in _IMMUTABLE or (
                    kind is str
                    and len(result) <= _state.capture_cut
                    and facts.max_output_length is None
                ):
                    span._output = result
                elif (
                    (kind is list or kind is tuple)
                    and len(result) <= _SMALL
                    and all(type(item) in _IMMUTABLE for item in result)
                ):
                    span._output = list(result)  # a copy of numbers: done
                else:
                    span._output = _snapshot(
                        result, _state.capture_settings, facts.max_output_length, facts.serializer
                    )
        except Exception as exc:  # a type whose metaclass __hash__ raises: keep the span
            if _errors.strict:  # the library's own tests: surface it
                raise
            report("capture_errors", exc, "reading the result failed")
            span._output = CAPTURE_ERROR
        span._end_ns = _clock.time_ns()
        _state.enqueue(span)
        # release(span), inlined: a context copied during the call must not keep these.
        span._input = span._output = UNSET
        span._parent = None
        if facts.flush_on_end and span._parent_id == 0:
            _state.flush_root()
    except Exception as exc:
        _errors.internal_error("span_end", exc)
    return result


def fail_call(span: Span, token: Any, exc: BaseException) -> None:
    try:
        reset_context(token)
        fail(span, exc)
        if span._facts.flush_on_end and span._parent_id == 0:
            _state.flush_root()
    except Exception as internal:
        _errors.internal_error("span_end", internal)


def output_processor(hook: Any) -> Any:
    """A result hook that runs ``hook`` (if any), then marks the captured output for
    ``process`` (``process_outputs``): the output is shaped on the worker."""

    def process_output(span: Span, result: Any) -> None:
        if hook is not None:
            hook(span, result)
        facts = span._facts
        if not _state.outputs_on[facts.capture_outputs] or facts.process_output is None:
            return
        out = span._output
        if out is UNSET:
            out = _snapshot(
                result, _state.capture_settings, facts.max_output_length, facts.serializer
            )
        span._output = processed(out, facts.process_output)

    return process_output
