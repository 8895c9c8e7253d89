"""A finished SDK span's attributes, read from BoundedAttributes' own dict, equal the public
view; and the shortcut fires for the SDK's real spans."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider

from brokle_trace._export import foreign

_VALUES = st.one_of(
    st.text(max_size=20),
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=False),
    st.lists(st.text(max_size=5), max_size=3).map(tuple),
)
_PROVIDER = TracerProvider()


@given(st.dictionaries(st.text(min_size=1, max_size=10), _VALUES, max_size=12))
def test_attributes_of_matches_the_public_view(attributes: dict[str, object]) -> None:
    span = _PROVIDER.get_tracer("parity").start_span("s", attributes=attributes)
    span.set_attribute("late", 1)
    span.end()
    fast = foreign.attributes_of(span)
    assert dict(fast) == dict(span.attributes)
    # The shortcut fired: the SDK's own dict, not a copy of the public view.
    assert fast is span._attributes._dict  # type: ignore[attr-defined]


def test_without_the_internals_the_public_view_is_copied() -> None:
    class Finished:
        attributes = {"a": 1}

    assert foreign.attributes_of(Finished()) == {"a": 1}
