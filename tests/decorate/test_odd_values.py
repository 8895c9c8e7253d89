"""Values whose type misbehaves (a metaclass whose ``__hash__`` raises) cost their capture,
counted, never the span: the wrapper's type checks hash the argument's and the result's type."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import brokle_trace
from brokle_trace import observe
from brokle_trace.testing import InMemoryExporter


class _NoHash(type):
    def __hash__(cls) -> int:
        raise TypeError("this class cannot be hashed")

    def __eq__(cls, other: object) -> bool:
        return cls is other


class Odd(metaclass=_NoHash):
    def __repr__(self) -> str:
        return "Odd()"


@pytest.fixture
def memory() -> Iterator[InMemoryExporter]:
    """The production behaviour: failures are counted, not raised (not strict)."""
    exporter = InMemoryExporter()
    brokle_trace.configure(exporter="none", exporters=[exporter], strict=False)
    yield exporter
    brokle_trace.configure(exporter="none", strict=True)


def _capture_errors() -> int:
    return int(brokle_trace.stats()["capture"]["capture_errors"])


@pytest.mark.parametrize(
    "make", [lambda: Odd(), lambda: [Odd()], lambda: {"k": Odd()}], ids=["bare", "list", "dict"]
)
def test_sync_call_keeps_its_span_and_its_value(memory: InMemoryExporter, make: Any) -> None:
    value = make()

    @observe
    def echo(x: Any) -> Any:
        return x

    before = _capture_errors()
    assert echo(value) is value
    brokle_trace.flush(5)
    (span,) = memory.spans
    assert span.name == "echo"
    # Nothing of the odd object is exported: the capture fails closed.
    assert "Odd()" not in repr(span.input) and "Odd()" not in repr(span.output)
    assert _capture_errors() > before


def test_async_call_keeps_its_span(memory: InMemoryExporter) -> None:
    odd = Odd()

    @observe
    async def echo(x: Any) -> Any:
        return x

    assert asyncio.run(echo(odd)) is odd
    brokle_trace.flush(5)
    assert [s.name for s in memory.spans] == ["echo"]
    assert memory.spans[0].output == "[CAPTURE_ERROR]"


def test_a_span_with_an_odd_argument_keeps_its_children(memory: InMemoryExporter) -> None:
    @observe
    def child() -> int:
        return 1

    @observe
    def parent(x: Any) -> int:
        return child()

    assert parent(Odd()) == 1
    brokle_trace.flush(5)
    by_name = {s.name: s for s in memory.spans}
    assert by_name["child"].parent_span_id == by_name["parent"].span_id
    assert by_name["parent"].input == "[CAPTURE_ERROR]"
