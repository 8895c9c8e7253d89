"""What the pipeline tells about itself: each exporter's counts, and the last word at exit.

Each exporter's ``dropped`` covers every span, like the totals: its own losses plus those
that happened before any exporter saw the span (a full queue, sampling, a conversion error,
shutdown), so ``started == exported + sum(dropped)`` holds per exporter too. The shutdown
line says how many spans were delivered and lost, by reason and by exporter, with the
exporter's last error: the cause a reader acts on ("connection refused"), not "shutdown".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from brokle_trace._export.lanes import Lane
from brokle_trace._runtime import errors as _errors

__all__ = ["exporter_stats", "summarise"]


def exporter_stats(
    lanes: Sequence[Lane], dropped: Mapping[str, int], from_lanes: Mapping[str, int]
) -> dict[str, dict[str, object]]:
    """``stats()["exporters"]``: each lane's counters, its drops and the shared ones.

    Example:
        >>> exporter_stats([], {"queue_full": 0}, {"queue_full": 0})
        {}
    """
    before = {reason: count - from_lanes.get(reason, 0) for reason, count in dropped.items()}
    out: dict[str, dict[str, object]] = {}
    for i, lane in enumerate(lanes):
        own = lane.stats()
        total = dict(before)
        for reason, count in lane.dropped.items():
            total[reason] = total.get(reason, 0) + count
        own["dropped"] = total
        out[f"{lane.name}#{i}"] = own
    return out


def summarise(stats: Mapping[str, Any], lanes: Sequence[Lane]) -> None:
    """Log what was delivered and lost (a warning if anything was lost, else info)."""
    lost = losses(stats["dropped"])
    if not lost:
        _errors.logger.info("brokle_trace: shutting down: %d span(s) delivered", stats["exported"])
        return
    parts = []
    for lane in lanes:
        own = losses(lane.dropped)
        if own:
            live = getattr(lane.exporter, "last_error", "")
            cause = live if isinstance(live, str) and live else lane.last_error
            parts.append(
                f"{lane.name}: {sum(own.values())} lost ({reasons(own)})"
                + (f", last error: {cause}" if cause else "")
            )
    _errors.logger.warning(
        "brokle_trace: shutting down: %d span(s) delivered, %d lost (%s)%s",
        stats["exported"],
        sum(lost.values()),
        reasons(lost),
        "; " + "; ".join(parts) if parts else "",
    )


def losses(dropped: Mapping[str, int]) -> dict[str, int]:
    """The drops that are losses (a sampled-out span was never meant to be sent).

    Example:
        >>> losses({"sampled_out": 5, "shutdown": 2, "too_large": 0})
        {'shutdown': 2}
    """
    return {k: v for k, v in dropped.items() if v and k != "sampled_out"}


def reasons(lost: Mapping[str, int]) -> str:
    """``reason: count, ...`` for a log line.

    Example:
        >>> reasons({"shutdown": 2, "export_failed": 1})
        'shutdown: 2, export_failed: 1'
    """
    return ", ".join(f"{reason}: {count}" for reason, count in lost.items())
