"""Option values checked by name: the decorators' options, and the same names on
``start_span`` / ``trace_context`` (``_trace.manual``).

Here rather than in ``_decorate.options`` because both the decorators and the manual span
API check them, and the span-tree layer must not import the decorating layer above it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from brokle_trace._trace.facts import KINDS

__all__ = ["LEVELS", "check_values"]

#: The levels a span can have (``Level`` in ``_decorate.options``, for type checkers).
LEVELS = frozenset({"debug", "default", "warning", "error"})


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
    "level": (LEVELS, "level"),
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
