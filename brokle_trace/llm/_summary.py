"""``summarize(spans)``: the per-provider, per-model report people build by hand.

Counts LLM and embedding calls only (not the functions around them). An LLM span that has
other LLM calls below it (``@observe_llm`` around a wrapped client) is a container: counting
it too would count the same tokens twice, so it is left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from brokle_trace import semconv
from brokle_trace._model import SpanData

__all__ = ["ModelStats", "Summary", "summarize"]

_MODEL_TYPES = frozenset({"llm", "embedding"})


@dataclass
class ModelStats:
    """Totals for one (provider, model) pair.

    ``cost_usd`` sums the priced calls; ``unpriced_calls`` says how many had no price.
    """

    provider: str
    model: str
    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    _latencies: list[float] = field(default_factory=list, repr=False)

    @property
    def error_rate(self) -> float:
        """Errors / calls (0.0 without calls)."""
        return self.errors / self.calls if self.calls else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (includes ``error_rate``)."""
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        data["error_rate"] = round(self.error_rate, 4)
        return data


@dataclass
class Summary:
    """The report: one :class:`ModelStats` per (provider, model), plus the totals.

    ``str(summary)`` is a plain-text table.
    """

    rows: list[ModelStats]
    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    traces: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the rows and totals."""
        return {
            "rows": [row.to_dict() for row in self.rows],
            "totals": {
                "calls": self.calls,
                "errors": self.errors,
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "cost_usd": round(self.cost_usd, 9),
                "traces": self.traces,
            },
        }

    def __str__(self) -> str:
        head = (
            "provider",
            "model",
            "calls",
            "err%",
            "in tok",
            "out tok",
            "cost $",
            "p50 ms",
            "p95 ms",
        )
        lines = [head]
        for r in self.rows:
            cost = f"{r.cost_usd:.6f}" + ("*" if r.unpriced_calls else "")
            lines.append(
                (
                    r.provider,
                    r.model,
                    str(r.calls),
                    f"{100 * r.error_rate:.1f}",
                    str(r.input_tokens),
                    str(r.output_tokens),
                    cost,
                    f"{r.p50_ms:.1f}",
                    f"{r.p95_ms:.1f}",
                )
            )
        lines.append(
            (
                "total",
                "",
                str(self.calls),
                "",
                str(self.input_tokens),
                str(self.output_tokens),
                f"{self.cost_usd:.6f}",
                "",
                "",
            )
        )
        widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
        text = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in lines
        ]
        if any(r.unpriced_calls for r in self.rows):
            text.append("* some calls had no known price (see configure(prices=...))")
        return "\n".join(text)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    # Nearest-rank on the sorted sample: exact for the small samples a report sees.
    rank = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return round(ordered[rank], 3)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def summarize(spans: Iterable[SpanData]) -> Summary:
    """Calls, error rate, tokens, cost and p50/p95 latency per provider and model.

    Takes finished spans from anywhere: ``capture_spans()``, an ``InMemoryExporter``, or a
    JSONL file read back with ``SpanData.model_validate_json``.

    Example:
        >>> from brokle_trace import observe_llm, summarize
        >>> from brokle_trace.testing import capture_spans
        >>> @observe_llm(model="gpt-4o-mini", provider="openai")
        ... def ask(q: str) -> dict:
        ...     return {"usage": {"prompt_tokens": 1000, "completion_tokens": 100}}
        >>> with capture_spans() as spans:
        ...     _ = ask("hi")
        >>> row = summarize(spans).rows[0]
        >>> (row.model, row.calls, row.input_tokens, row.cost_usd)
        ('gpt-4o-mini', 1, 1000, 0.00021)
    """
    rows: dict[tuple[str, str], ModelStats] = {}
    traces: set[str] = set()
    summary = Summary(rows=[])
    for span in spans:
        if span.type not in _MODEL_TYPES:
            continue
        attrs = span.attributes
        if attrs.get(semconv.BROKLE_ROLLUP_LLM_CALLS):
            continue  # a container of the calls below it
        provider = str(attrs.get(semconv.GEN_AI_PROVIDER_NAME) or "unknown")
        model = str(
            attrs.get(semconv.GEN_AI_RESPONSE_MODEL)
            or attrs.get(semconv.GEN_AI_REQUEST_MODEL)
            or "unknown"
        )
        row = rows.get((provider, model))
        if row is None:
            row = rows[(provider, model)] = ModelStats(provider, model)
        row.calls += 1
        row.errors += span.status == "error"
        row.input_tokens += _int(attrs.get(semconv.GEN_AI_USAGE_INPUT_TOKENS))
        row.output_tokens += _int(attrs.get(semconv.GEN_AI_USAGE_OUTPUT_TOKENS))
        cost = attrs.get(semconv.BROKLE_COST_TOTAL_USD)
        if isinstance(cost, (int, float)) and not isinstance(cost, bool):
            row.cost_usd = round(row.cost_usd + cost, 9)
        elif attrs.get(semconv.BROKLE_COST_UNPRICED):
            row.unpriced_calls += 1
        row._latencies.append(span.duration_ns / 1e6)
        traces.add(span.trace_id)
    for row in rows.values():
        row.p50_ms = _percentile(row._latencies, 0.50)
        row.p95_ms = _percentile(row._latencies, 0.95)
        summary.calls += row.calls
        summary.errors += row.errors
        summary.input_tokens += row.input_tokens
        summary.output_tokens += row.output_tokens
        summary.cost_usd = round(summary.cost_usd + row.cost_usd, 9)
    summary.rows = sorted(rows.values(), key=lambda r: (r.provider, r.model))
    summary.traces = len(traces)
    return summary
