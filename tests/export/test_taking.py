"""Taking spans off the queue: a batch stops at a flush marker, nothing is lost or reordered."""

from __future__ import annotations

import collections

from hypothesis import given
from hypothesis import strategies as st

from brokle_trace._export.lanes import Marker
from brokle_trace._export.taking import clear, take

_items = st.lists(st.one_of(st.integers(0, 10**6).map(lambda i: (i,)), st.just(None)), max_size=40)


def _queue(items: list[tuple[int] | None]) -> collections.deque[object]:
    return collections.deque(Marker() if item is None else item for item in items)


@given(_items, st.integers(1, 50))
def test_a_batch_is_the_front_up_to_the_first_marker_and_the_rest_stays_in_order(
    items: list[tuple[int] | None], limit: int
) -> None:
    queue = _queue(items)
    before = list(queue)
    batch, marker = take(queue, limit)
    front = before[:limit]
    cut = next((i for i, item in enumerate(front) if type(item) is Marker), None)
    if cut is None:
        assert batch == front and marker is None
        assert list(queue) == before[limit:]
    else:
        assert batch == front[:cut] and marker is front[cut]
        assert list(queue) == before[cut + 1 :]


@given(_items)
def test_clear_counts_every_span_and_keeps_every_marker(items: list[tuple[int] | None]) -> None:
    queue = _queue(items)
    markers = [item for item in queue if type(item) is Marker]
    spans, kept = clear(queue)
    assert spans == sum(1 for item in items if item is not None)
    assert kept == markers and not queue
