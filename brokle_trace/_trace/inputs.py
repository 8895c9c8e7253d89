"""A span's inputs by parameter name, from what the call kept (raw arguments or a snapshot).

Shared by the type hooks on the caller's thread and the export worker, so both name the
arguments the same way (``self``/``cls`` skipped, varargs gathered, ignored names dropped).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from brokle_trace._runtime.state import RAW_ARGS
from brokle_trace.capture._encoded import Encoded, decode

if TYPE_CHECKING:
    from brokle_trace._trace.facts import SpanFacts
    from brokle_trace._trace.span import Span

__all__ = ["captured_inputs", "inputs_dict", "name_inputs"]


def captured_inputs(span: Span) -> Mapping[str, Any] | None:
    """The span's captured arguments by name, for hooks; None when input capture is off.

    Either the raw immutable arguments, named now, or the snapshot's top-level dict (an
    encoded snapshot decoded: typed spans' hooks only).
    """
    inp = span._input
    if type(inp) is tuple and inp and inp[0] is RAW_ARGS:
        return inputs_dict(span._facts, inp[1], inp[2])
    if isinstance(inp, Mapping):
        return inp
    if type(inp) is Encoded:  # JSON-builtin arguments kept as bytes (capture/_encoded.py)
        decoded = decode(inp)
        return decoded if isinstance(decoded, Mapping) else None
    root = getattr(inp, "root", None)
    return root if isinstance(root, Mapping) else None


def inputs_dict(
    facts: SpanFacts, args: tuple[Any, ...], kwargs: dict[str, Any] | None
) -> dict[str, Any]:
    """The arguments by parameter name, without self/cls and the ignored ones."""
    return name_inputs(
        facts.param_names, facts.skip_first, facts.varargs, facts.ignore, args, kwargs
    )


def name_inputs(  # noqa: PLR0917 - the parts of an export view, in its order
    names: tuple[str, ...],
    skip_first: bool,
    varargs: str | None,
    ignore: Collection[str],
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None,
) -> dict[str, Any]:
    """Arguments by parameter name: ``inputs_dict`` from the parts of a function's facts."""
    if skip_first:
        args = args[1:]
    inputs = dict(zip(names, args, strict=False))
    if varargs is not None and len(args) > len(names):
        inputs[varargs] = args[len(names) :]
    if kwargs:
        inputs.update(kwargs)
    for ignored in ignore:
        inputs.pop(ignored, None)
    return inputs
