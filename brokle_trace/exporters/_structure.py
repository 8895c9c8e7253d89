"""What a third-party span carries besides attributes: its scope, kind, events and links.

``_export.foreign`` keeps them in documented attributes (``otel.scope.*``,
``brokle.otel.*``) so the JSONL line stays one flat record; both OpenTelemetry encoders
(our OTLP protobuf fill and the SDK ``ReadableSpan`` of the exporter adapter) turn them back
into the real OTLP fields here, so the two can never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from brokle_trace import semconv

__all__ = [
    "STRUCTURE_KEYS",
    "Structure",
    "cut_attributes",
    "dropped_counts",
    "event_attributes",
    "structure_of",
]

#: Attributes that are structure, not attributes, over OTLP.
STRUCTURE_KEYS = frozenset(
    {
        semconv.SCOPE_NAME_ATTRIBUTE,
        semconv.SCOPE_VERSION_ATTRIBUTE,
        semconv.BROKLE_OTEL_KIND,
        semconv.BROKLE_OTEL_EVENTS,
        semconv.BROKLE_OTEL_LINKS,
        semconv.BROKLE_OTEL_TRACE_STATE,
    }
)
#: ``brokle.otel.kind`` -> OpenTelemetry ``SpanKind`` value.
KIND_VALUES = {"internal": 0, "server": 1, "client": 2, "producer": 3, "consumer": 4}


class Structure:
    """A span's scope (name, version), kind (None: ours by type), events, links and W3C
    trace state (header form, "" when none)."""

    __slots__ = ("events", "kind", "links", "scope", "trace_state")

    def __init__(
        self,
        scope: tuple[str, str] | None,
        kind: int | None,
        events: list[tuple[str, int, dict[str, Any]]],
        links: list[tuple[int, int, dict[str, Any], bool]],
        trace_state: str = "",
    ) -> None:
        self.scope = scope
        self.kind = kind
        self.events = events
        self.links = links
        self.trace_state = trace_state


_NONE = Structure(None, None, [], [])


def event_attributes(value: Any) -> dict[str, Any]:
    """OTLP-legal attributes of an event or link (scalars, scalar lists, else JSON text)."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): semconv.otel_value(v) for k, v in value.items() if v is not None}


def _hex(value: Any, width: int) -> int | None:
    if isinstance(value, str) and len(value) == width:
        try:
            return int(value, 16)
        except ValueError:
            return None
    return None


def structure_of(attributes: Mapping[str, Any]) -> Structure:
    """The structure a SpanData's attributes carry (our own spans: none).

    Example:
        >>> s = structure_of({"otel.scope.name": "openinference.instrumentation.openai",
        ...                   "brokle.otel.kind": "client"})
        >>> s.scope, s.kind
        (('openinference.instrumentation.openai', ''), 2)
    """
    name = attributes.get(semconv.SCOPE_NAME_ATTRIBUTE)
    if not isinstance(name, str):
        return _NONE
    version = attributes.get(semconv.SCOPE_VERSION_ATTRIBUTE)
    kind = KIND_VALUES.get(str(attributes.get(semconv.BROKLE_OTEL_KIND, "internal")), 0)
    events = []
    for item in attributes.get(semconv.BROKLE_OTEL_EVENTS) or ():
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            when = item.get("time_unix_nano")
            events.append(
                (
                    item["name"],
                    when if isinstance(when, int) else 0,
                    event_attributes(item.get("attributes")),
                )
            )
    links = []
    for item in attributes.get(semconv.BROKLE_OTEL_LINKS) or ():
        if not isinstance(item, Mapping):
            continue
        trace_id, span_id = _hex(item.get("trace_id"), 32), _hex(item.get("span_id"), 16)
        if trace_id is not None and span_id is not None:
            links.append(
                (
                    trace_id,
                    span_id,
                    event_attributes(item.get("attributes")),
                    item.get("is_remote") is True,
                )
            )
    trace_state = attributes.get(semconv.BROKLE_OTEL_TRACE_STATE)
    return Structure(
        (name, version if isinstance(version, str) else ""),
        kind,
        events,
        links,
        trace_state if isinstance(trace_state, str) else "",
    )


def _count(attributes: Mapping[str, Any], key: str) -> int:
    n = attributes.get(key)
    return n if type(n) is int and n > 0 else 0


#: capture's ``DICT_MARKER_KEY``, spelled here (exporters never import capture; a test
#: holds the two equal), and its value's form.
DICT_MARKER_KEY = "[TRUNCATED]"
_CUT = re.compile(r"\[TRUNCATED: (\d{1,18}) more of \d+ keys\]")


def cut_attributes(attributes: Mapping[str, Any]) -> int:
    """How many attributes capture's cut at ``max_items`` left out (its marker says so):
    OTLP counts them in ``dropped_attributes_count``, as the SDK counts those its own span
    limits drop.

    Example:
        >>> cut_attributes({"a": 1, "[TRUNCATED]": "[TRUNCATED: 17 more of 116 keys]"})
        17
    """
    marker = attributes.get(DICT_MARKER_KEY)
    if type(marker) is not str:
        return 0
    m = _CUT.fullmatch(marker)
    return int(m.group(1)) if m is not None else 0


def dropped_counts(attributes: Mapping[str, Any]) -> tuple[int, int, int]:
    """(attributes, events, links) a span lost before export: OTLP's ``dropped_*_count``
    fields, as the SDK's own encoder writes them (attributes: what a third-party span's SDK
    limits dropped, and what capture's cut at ``max_items`` left out, ours too).

    Example:
        >>> dropped_counts({"brokle.otel.events_dropped": 3})
        (0, 3, 0)
    """
    return (
        _count(attributes, semconv.BROKLE_OTEL_ATTRIBUTES_DROPPED) + cut_attributes(attributes),
        _count(attributes, semconv.BROKLE_OTEL_EVENTS_DROPPED),
        _count(attributes, semconv.BROKLE_OTEL_LINKS_DROPPED),
    )
