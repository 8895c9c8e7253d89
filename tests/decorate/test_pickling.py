"""Traced callables pickle and copy as the originals do (multiprocessing, caches, deepcopy):
a proxy comes back as the same kind of proxy around the unpickled original, still traced."""

from __future__ import annotations

import copy
import dataclasses
import enum
import functools
import multiprocessing
import pickle
import threading
from typing import Any, NamedTuple

import pytest

import brokle_trace
from brokle_trace import observe
from brokle_trace.testing import InMemoryExporter


class Tool:
    def __init__(self, k: int) -> None:
        self.k = k

    def __call__(self, x: int) -> int:
        return x * self.k


def add(a: int, b: int) -> int:
    return a + b


@observe
def traced_function(x: int) -> int:
    return x


@observe(name="constructed")
class Built:
    def __init__(self, a: int) -> None:
        self.a = a


TOOL = observe(name="tool-span")(Tool(3))
PART = observe(functools.partial(add, 1))


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_a_traced_callable_object_pickles_and_stays_traced(
    memory: InMemoryExporter, protocol: int
) -> None:
    clone: Any = pickle.loads(pickle.dumps(TOOL, protocol))
    assert clone is not TOOL and type(clone).__name__ == "Tool"
    assert clone.k == 3 and clone(2) == 6
    brokle_trace.flush(5)
    assert [s.name for s in memory.spans] == ["tool-span"]
    assert memory.spans[0].input == {"x": 2}


def test_a_traced_partial_pickles_as_a_partial_of_the_same_parts(memory: InMemoryExporter) -> None:
    clone: Any = pickle.loads(pickle.dumps(PART))
    assert isinstance(clone, functools.partial)
    assert (clone.func, clone.args, clone.keywords) == (add, (1,), {})
    assert clone(2) == 3
    brokle_trace.flush(5)
    assert len(memory.spans) == 1


def test_a_traced_class_and_function_pickle_by_name() -> None:
    assert pickle.loads(pickle.dumps(Built)) is Built
    assert pickle.loads(pickle.dumps(traced_function)) is traced_function


def test_deepcopy_decorates_a_copy_of_the_original(memory: InMemoryExporter) -> None:
    clone: Any = copy.deepcopy(TOOL)
    clone.k = 10  # the copy's own original: TOOL's is untouched
    assert clone(1) == 10 and TOOL(1) == 3
    brokle_trace.flush(5)
    assert [s.output for s in memory.spans] == [10, 3]


def test_a_traced_object_whose_original_cannot_pickle_raises_what_pickle_raises() -> None:
    local = observe(lambda x: x)  # a lambda is a function: pickled by name, which fails
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(local)
    unpicklable = observe(functools.partial(lambda a, b: a, 1))
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(unpicklable)


def test_copy_copies_the_original_as_copy_does_undecorated(memory: InMemoryExporter) -> None:
    # copy.copy went through the pickling reduction, which decorates the *same* original
    # again: a setting written to the copy (tool.k = 10) changed the object copied from.
    plain = Tool(3)
    copied = copy.copy(plain)
    copied.k = 10
    clone: Any = copy.copy(TOOL)
    clone.k = 10
    assert (clone(1), TOOL(1)) == (copied(1), plain(1)) == (10, 3)
    brokle_trace.flush(5)
    assert [s.name for s in memory.spans] == ["tool-span", "tool-span"]  # still traced


class _Client:
    """A serializer's owner that cannot be copied (it holds a lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def serialize(self, value: object, ctx: object) -> object:
        return {"v": 1}


def test_copies_keep_the_options_as_they_are() -> None:
    # deepcopy copied the decorator's options too: a serializer that is a bound method of
    # an object holding a lock raised TypeError, though the decorated object copies.
    serializer = _Client().serialize
    tool: Any = observe(serializer=serializer)(Tool(2))
    for clone in (copy.copy(tool), copy.deepcopy(tool)):
        assert clone.__brokle_remake__[1][2]["serializer"] == serializer
        assert clone(1) == 2
    assert copy.copy(Built) is Built and copy.deepcopy(Built) is Built


@observe
@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


@observe
class Colour(enum.Enum):
    RED = 1


class Pair(NamedTuple):
    a: int
    b: str


TracedPair = observe(Pair)  # the module's ``Pair`` stays the class itself


def _make_point(x: int) -> Any:
    return Point(x, y=x + 1)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_instances_of_a_decorated_class_pickle_as_undecorated(protocol: int) -> None:
    # They did not: pickle finds an instance's class by its name, which names the traced
    # class now, and refused it ("not the same object as ...Point"): a decorated dataclass
    # could not be returned from a Pool worker, cached, or sent to a task queue.
    for value in (Built(3), Point(1, 2), Colour.RED, TracedPair(1, "b"), [Point(5)] * 2):
        clone = pickle.loads(pickle.dumps(value, protocol))
        assert type(clone) is type(value)
        assert vars(clone) == vars(value) if hasattr(value, "__dict__") else clone == value
    pair = pickle.loads(pickle.dumps([Point(5)] * 2, protocol))
    assert pair[0] is pair[1] and pair[0] == Point(5)
    assert pickle.loads(pickle.dumps(Colour.RED, protocol)) is Colour.RED
    assert copy.copy(Point(1)) == Point(1) and copy.deepcopy(Point(1)) == Point(1)


def test_instances_of_a_decorated_class_cross_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKLE_EXPORTER", "none")  # the child's own pipeline
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.map(_make_point, [1, 2]) == [Point(1, 2), Point(2, 3)]  # results back
        assert pool.apply(copy.copy, (Point(4),)) == Point(4)  # and arguments there
