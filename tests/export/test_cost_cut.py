"""An LLM span of ours with more attributes than ``max_items`` keeps its cost: it is priced
on the worker and was added after the user's attributes, where the cut takes from."""

from __future__ import annotations

import brokle_trace
from brokle_trace import observe_llm, update_current_span
from brokle_trace.testing import InMemoryExporter


def test_an_llm_span_over_max_items_keeps_its_cost(memory: InMemoryExporter) -> None:
    @observe_llm(model="gpt-4o-mini", provider="openai")
    def call(n: int) -> str:
        update_current_span(attributes={f"x{i}": i for i in range(n)})
        brokle_trace.update_current_llm(usage={"input_tokens": 1000, "output_tokens": 500})
        return "ok"

    call(0)
    call(120)
    assert brokle_trace.flush(5)
    alone, crowded = (s.attributes for s in memory.spans)
    assert len(crowded) == 100  # the user's attributes were cut
    assert alone["brokle.cost.total_usd"] > 0
    for key in ("brokle.cost.total_usd", "brokle.cost.input_usd", "brokle.cost.model"):
        assert crowded[key] == alone[key]
