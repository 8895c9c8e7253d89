"""The tree of one trace, depth first: what ``view`` prints, with ``--errors`` folding.

Spans whose parent is not in the file (a remote caller, a lost span) are roots. The walk is
iterative, so a trace deeper than the recursion limit prints like any other.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Hidden", "Item", "ViewSpan", "error_path", "walk"]


@dataclass(slots=True)
class ViewSpan:
    """The part of a span the tree shows: a few short strings and numbers, never payloads."""

    name: str
    type: str
    span_id: str
    parent_span_id: str | None
    start_ns: int
    end_ns: int
    error: str | None
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    input_preview: str
    output_preview: str
    detail: str = ""  # retrieval: index and document count; tool: its name when not the span's


@dataclass(frozen=True, slots=True)
class Hidden:
    """Stands for a run of sibling subtrees left out (``--errors``: they hold no error)."""

    spans: int


Item = ViewSpan | Hidden


def error_path(spans: list[ViewSpan]) -> set[str]:
    """Ids of the failed spans and of every ancestor of one: what ``--errors`` expands."""
    by_id = {s.span_id: s for s in spans}
    keep: set[str] = set()
    for s in spans:
        if not s.error:
            continue
        node: ViewSpan | None = s
        while node is not None and node.span_id not in keep:
            keep.add(node.span_id)
            node = by_id.get(node.parent_span_id or "")
    return keep


def _subtree_sizes(children: dict[str | None, list[ViewSpan]]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    stack: list[tuple[ViewSpan, bool]] = [(r, False) for r in children.get(None, [])]
    while stack:  # iterative post-order: a deep trace cannot hit the recursion limit
        span, done = stack.pop()
        kids = children.get(span.span_id, [])
        if done:
            sizes[span.span_id] = 1 + sum(sizes[k.span_id] for k in kids)
        else:
            stack.append((span, True))
            stack.extend((k, False) for k in kids)
    return sizes


def _fold(kids: list[ViewSpan], keep: set[str] | None, sizes: dict[str, int]) -> list[Item]:
    """``kids`` with each run of subtrees outside ``keep`` replaced by one :class:`Hidden`."""
    if keep is None:
        return list(kids)
    out: list[Item] = []
    for k in kids:
        if k.span_id in keep:
            out.append(k)
            continue
        if out and isinstance(out[-1], Hidden):
            out[-1] = Hidden(out[-1].spans + sizes[k.span_id])
        else:
            out.append(Hidden(sizes[k.span_id]))
    return out


def walk(
    spans: list[ViewSpan], keep: set[str] | None = None
) -> Iterator[tuple[int, bool, list[bool], Item]]:
    """Depth-first over the trace: (depth, is_last_child, last-flags of ancestors, item).

    Spans whose parent is not in the file (a remote caller, a lost span) are shown as roots.
    With ``keep`` (span ids), only those spans are expanded; each run of other sibling
    subtrees comes out as one :class:`Hidden` item. Iterative, so a very deep trace cannot
    hit the recursion limit.
    """
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[ViewSpan]] = {}
    for s in spans:
        parent = s.parent_span_id if s.parent_span_id in ids else None
        children.setdefault(parent, []).append(s)
    for kids in children.values():
        kids.sort(key=lambda s: (s.start_ns, s.span_id))
    sizes = _subtree_sizes(children) if keep is not None else {}
    roots = _fold(children.get(None, []), keep, sizes)
    stack: list[tuple[Item, int, bool, list[bool]]] = [
        (r, 0, i == len(roots) - 1, []) for i, r in reversed(list(enumerate(roots)))
    ]
    while stack:
        item, depth, last, lasts = stack.pop()
        yield depth, last, lasts, item
        if isinstance(item, Hidden):
            continue
        folded = _fold(children.get(item.span_id, []), keep, sizes)
        child_lasts = [*lasts, last] if depth else []
        stack.extend(
            (k, depth + 1, i == len(folded) - 1, child_lasts)
            for i, k in reversed(list(enumerate(folded)))
        )
