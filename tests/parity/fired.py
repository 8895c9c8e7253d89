"""Counts how often a shortcut fired inside a property test, so the test fails if it never did.

A parity property ("the shortcut equals the reference whenever it applies") proves nothing
when the generated examples never take the shortcut: each parity test runs its property
through :func:`run` and asserts a minimum share of examples took it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Fired:
    """``tried`` examples, ``fired`` of them took the shortcut."""

    def __init__(self) -> None:
        self.tried = 0
        self.fired = 0

    def example(self, took_shortcut: bool) -> None:
        self.tried += 1
        self.fired += bool(took_shortcut)


def run(prop: Callable[[Fired], Any], *, min_share: float) -> Fired:
    """Run the hypothesis test ``prop(fired)`` and assert the shortcut fired often enough."""
    fired = Fired()
    prop(fired)
    assert fired.tried, "the property ran no example"
    assert fired.fired >= max(1, int(fired.tried * min_share)), (
        f"the shortcut fired in {fired.fired} of {fired.tried} examples: "
        "the parity check compared almost nothing"
    )

    return fired
