"""docs/instrumentors.md shows the conventions table semconv.py applies, row for row."""

from __future__ import annotations

from pathlib import Path

from brokle_trace import semconv

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "instrumentors.md").read_text()


def table_rows() -> list[str]:
    """The Markdown rows the page must contain, built from semconv's tables."""
    rows = []
    for order, (key, table) in enumerate(
        (
            (semconv.OPENINFERENCE_SPAN_KIND, semconv.TYPE_BY_OPENINFERENCE_KIND),
            (semconv.GEN_AI_OPERATION_NAME, semconv.TYPE_BY_GEN_AI_OPERATION),
            (semconv.TRACELOOP_SPAN_KIND, semconv.TYPE_BY_TRACELOOP_KIND),
        ),
        start=1,
    ):
        pairs = ", ".join(f"`{k}` → `{v}`" for k, v in table.items())
        rows.append(f"| {order} | `{key}` | {pairs} |")
    for field, names in semconv.FOREIGN_FIELDS.items():
        rows.append(f"| `{field}` | " + ", ".join(f"`{n}`" for n in names) + " |")
    for inp, out in semconv.FOREIGN_MESSAGE_PREFIXES:
        rows.append(f"| `input` / `output`, flattened | `{inp}N.*` / `{out}N.*` |")
    return rows


def test_the_page_shows_every_mapping_in_order() -> None:
    missing = [row for row in table_rows() if row not in PAGE]
    assert not missing, "update docs/instrumentors.md:\n" + "\n".join(missing)
