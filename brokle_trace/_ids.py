"""Trace and span ids: random by default, swappable for deterministic tests."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

__all__ = ["IdGenerator", "new_span_id", "new_trace_id", "set_id_generator"]

# The module-level `random` instance is reseeded in a forked child by CPython itself, so ids
# never repeat across gunicorn workers.
_getrandbits = random.getrandbits


def _random_trace_id() -> int:
    return _getrandbits(128) or 1


def _random_span_id() -> int:
    return _getrandbits(64) or 1


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
