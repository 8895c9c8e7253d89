"""``EncodedSpans.sizes``: the sampled spans are the ones a plain walk over every span picks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from brokle_trace.exporters._frame import EncodedSpans


def _every_span(encoded: EncodedSpans, every: int) -> list[int]:
    """The reference: visit every span, keep each ``every``-th of the whole batch."""
    out = []
    for i, (_, _, start, end) in enumerate(encoded.spans()):
        if i % every == 0:
            out.append(end - start)
    return out


@given(
    groups=st.lists(st.lists(st.integers(1, 300), max_size=40), min_size=1, max_size=5),
    every=st.integers(1, 20),
)
def test_sampled_sizes_equal_a_walk_over_every_span(groups: list[list[int]], every: int) -> None:
    encoded = EncodedSpans()
    for g, sizes in enumerate(groups):
        for n in sizes:
            encoded.add(("svc", "prod", str(g), "scope", "1"), bytes(n))
    assert encoded.sizes(every) == _every_span(encoded, every)
    assert len(encoded.sizes(every)) == -(-len(encoded) // every)
