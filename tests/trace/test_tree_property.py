"""Property: for random call trees of sync, async and generator functions with gather
fan-outs, the exported span tree equals the call tree."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brokle_trace import observe
from brokle_trace.testing import capture_spans

SYNC_KINDS = ("sync", "gen")
ASYNC_KINDS = ("async", "agen")


@dataclass
class Node:
    kind: str
    gather: bool = False
    children: list[Node] = field(default_factory=list)
    id: str = ""


def _nodes(async_allowed: bool) -> st.SearchStrategy[Node]:
    kinds = SYNC_KINDS + ASYNC_KINDS if async_allowed else SYNC_KINDS
    leaf = st.builds(Node, kind=st.sampled_from(kinds), gather=st.booleans())

    def extend(children: st.SearchStrategy[list[Node]]) -> st.SearchStrategy[Node]:
        return st.builds(Node, kind=st.sampled_from(kinds), gather=st.booleans(), children=children)

    return st.recursive(leaf, lambda inner: extend(st.lists(inner, max_size=4)), max_leaves=12)


def _fix_kinds(node: Node, in_async: bool, counter: Iterator[int]) -> Node:
    # A sync parent cannot await: its async children become their sync twins.
    kind = node.kind
    if not in_async and kind in ASYNC_KINDS:
        kind = "sync" if kind == "async" else "gen"
    is_async = kind in ASYNC_KINDS
    return Node(
        kind,
        node.gather,
        [_fix_kinds(c, is_async, counter) for c in node.children],
        f"n{next(counter)}",
    )


REGISTRY: dict[str, Node] = {}


def _run_children_sync(node: Node) -> None:
    for child in node.children:
        if child.kind == "sync":
            sync_node(child.id)
        else:
            list(gen_node(child.id))


async def _run_child_async(child: Node) -> None:
    if child.kind == "sync":
        sync_node(child.id)
    elif child.kind == "gen":
        list(gen_node(child.id))
    elif child.kind == "async":
        await async_node(child.id)
    else:
        async for _ in agen_node(child.id):
            pass


async def _run_children_async(node: Node) -> None:
    if node.gather:
        await asyncio.gather(*(_run_child_async(c) for c in node.children))
    else:
        for child in node.children:
            await _run_child_async(child)


@observe
def sync_node(node_id: str) -> None:
    _run_children_sync(REGISTRY[node_id])


@observe
def gen_node(node_id: str) -> Iterator[int]:
    yield 0
    _run_children_sync(REGISTRY[node_id])
    yield 1


@observe
async def async_node(node_id: str) -> None:
    await asyncio.sleep(0)
    await _run_children_async(REGISTRY[node_id])


@observe
async def agen_node(node_id: str) -> AsyncIterator[int]:
    yield 0
    await _run_children_async(REGISTRY[node_id])
    yield 1


def _register(node: Node) -> None:
    REGISTRY[node.id] = node
    for child in node.children:
        _register(child)


def _expected(node: Node) -> Any:
    return (node.id, sorted((_expected(c) for c in node.children), key=repr))


def _actual(spans: list[Any]) -> list[Any]:
    by_parent: dict[str | None, list[Any]] = {}
    for s in spans:
        by_parent.setdefault(s.parent_span_id, []).append(s)

    def build(span: Any) -> Any:
        kids = by_parent.get(span.span_id, [])
        return (span.input["node_id"], sorted((build(k) for k in kids), key=repr))

    return [build(r) for r in by_parent.get(None, [])]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(root=_nodes(async_allowed=True), run_async=st.booleans())
def test_exported_tree_equals_call_tree(root: Node, run_async: bool) -> None:
    fixed = _fix_kinds(root, in_async=run_async, counter=itertools.count())
    REGISTRY.clear()
    _register(fixed)
    with capture_spans() as spans:
        if fixed.kind in ASYNC_KINDS:
            asyncio.run(_run_child_async(fixed))
        else:
            _run_children_sync(Node("sync", children=[fixed]))
    assert len(spans) == len(REGISTRY)
    assert len({s.trace_id for s in spans}) == 1
    assert _actual(spans) == [_expected(fixed)]
