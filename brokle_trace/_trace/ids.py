"""Trace and span ids: random by default, swappable for deterministic tests.

Ids come from a private ``random.Random`` seeded from ``os.urandom``, never from the global
``random`` module: a user who seeds ``random`` for a reproducible run must get the same
numbers with tracing on, and two processes seeded alike must not emit the same trace ids.
(OpenTelemetry's default id generator shares the global instance; we don't.) A forked child
reseeds it, so gunicorn workers never repeat each other's ids.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
from collections.abc import Callable

__all__ = ["IdGenerator", "new_span_id", "new_trace_id", "set_id_generator"]

#: Seeded from os.urandom (``Random()`` with no seed does that). Its bound ``getrandbits``
#: costs exactly what the global module's does: the same C method on another instance.
_rng = random.Random()
_getrandbits = _rng.getrandbits
if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    # seed() with no argument draws from os.urandom again; bound methods stay valid.
    os.register_at_fork(after_in_child=_rng.seed)


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
