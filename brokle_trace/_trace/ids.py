"""Trace and span ids: random by default, swappable for deterministic tests."""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Callable

__all__ = ["IdGenerator", "new_span_id", "new_trace_id", "set_id_generator"]

# The module-level `random` instance is reseeded in a forked child by CPython itself, so ids
# never repeat across gunicorn workers.
_getrandbits = random.getrandbits


# C-level partials: half the cost of a Python function per id. A zero id (invalid in W3C)
# has a 2**-64 chance per span; not worth a branch on every call.
_random_trace_id: Callable[[], int] = functools.partial(_getrandbits, 128)
_random_span_id: Callable[[], int] = functools.partial(_getrandbits, 64)


new_trace_id: Callable[[], int] = _random_trace_id
new_span_id: Callable[[], int] = _random_span_id


class IdGenerator:
    """Incrementing ids (trace 1, 2, ...; span 1, 2, ...) for tests that compare whole trees."""

    def __init__(self) -> None:
        self._traces = itertools.count(1)
        self._spans = itertools.count(1)

    def trace_id(self) -> int:
        return next(self._traces)

    def span_id(self) -> int:
        return next(self._spans)


def set_id_generator(generator: IdGenerator | None) -> None:
    """Use ``generator`` for new ids (``None`` restores random ids)."""
    global new_trace_id, new_span_id
    if generator is None:
        new_trace_id, new_span_id = _random_trace_id, _random_span_id
    else:
        new_trace_id, new_span_id = generator.trace_id, generator.span_id
