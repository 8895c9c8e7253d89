"""Encoded OTLP spans, and the requests framed around them without encoding them again.

The export worker turns each span into the bytes of one OTLP ``Span`` message once
(``_export.otlp_spans``: fields set on OpenTelemetry's own ``opentelemetry-proto`` classes,
constant parts from per-function templates). A request is then those bytes framed, not
re-encoded: protobuf's wire format puts an embedded message as its field's tag, its length
and its bytes, so ``ExportTraceServiceRequest`` -> ``ResourceSpans`` -> ``ScopeSpans`` ->
``Span`` is a few tags and lengths around byte slices. Sizes are known exactly from the
bytes, so splitting a batch under the request cap costs additions, not a second encode.
Tags come from the classes' descriptors; the parity test decodes the result with
``opentelemetry-proto`` and compares it with the message ``_encode.encode_request`` builds.

Spans are grouped like ``encode_request`` groups them: by resource (service, environment,
release), then by scope, in order of first appearance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

__all__ = [
    "END",
    "PARENT_ID",
    "SPAN_ID",
    "START",
    "TRACE_ID",
    "EncodedSpans",
    "GroupKey",
    "flags_field",
    "framed",
    "key_field",
    "request",
    "request_size",
    "resource_header",
    "scope_header",
    "string_attribute",
    "string_attribute_head",
    "tag",
    "total_size",
    "varint",
]

#: (service, environment, release, scope name, scope version)
GroupKey = tuple[Any, ...]


SMALL = [bytes((i,)) for i in range(0x80)]


def varint(n: int) -> bytes:
    """Protobuf's base-128 varint of a non-negative int.

    Example:
        >>> varint(300)
        b'\\xac\\x02'
    """
    if n < 0x80:
        return SMALL[n]
    if n < 0x4000:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def tag(message: Any, field: str) -> bytes:
    """The tag of length-delimited ``field`` of ``message`` (a class), from its descriptor.

    Example:
        >>> tag(ScopeSpans, "spans")
        b'\\x12'
    """
    return varint(message.DESCRIPTOR.fields_by_name[field].number << 3 | 2)


def framed(field_tag: bytes, payload: bytes) -> bytes:
    """``payload`` as the length-delimited field ``field_tag`` of its parent.

    Example:
        >>> framed(b"\\x0a", b"ab")
        b'\\n\\x02ab'
    """
    return field_tag + varint(len(payload)) + payload


_REQUEST_RESOURCE_SPANS = tag(ExportTraceServiceRequest, "resource_spans")
_RESOURCE = tag(ResourceSpans, "resource")
_SCOPE_SPANS = tag(ResourceSpans, "scope_spans")
_SCOPE = tag(ScopeSpans, "scope")
SPANS = tag(ScopeSpans, "spans")


def _prefix(message: Any, value_size: int) -> bytes:
    """What precedes a field's ``value_size`` value bytes when ``message`` (with only that
    field set) is serialised by upb: the field's tag (and length, where fixed)."""
    raw: bytes = message.SerializeToString()
    return raw[: len(raw) - value_size]


# The per-span fields of a record's span, as upb writes them (derived from the classes, so
# the numbers are never spelled here; the parity test decodes the result).
TRACE_ID = _prefix(Span(trace_id=bytes(16)), 16)
SPAN_ID = _prefix(Span(span_id=bytes(8)), 8)
PARENT_ID = _prefix(Span(parent_span_id=bytes(8)), 8)
START = _prefix(Span(start_time_unix_nano=1), 8)
END = _prefix(Span(end_time_unix_nano=1), 8)
ATTRIBUTE = _prefix(Span(attributes=[KeyValue()]), 1)
VALUE = _prefix(KeyValue(value=AnyValue()), 1)
STRING = _prefix(AnyValue(string_value="a"), 2)
STRING_LEN, VALUE_LEN = len(STRING), len(VALUE)
# fixed64 little-endian: checked, since the two times are packed with struct.
assert Span(start_time_unix_nano=1).SerializeToString() == START + (1).to_bytes(8, "little")
assert Span(end_time_unix_nano=1).SerializeToString() == END + (1).to_bytes(8, "little")


def flags_field(flags: int) -> bytes:
    """The serialised ``flags`` field of a Span (a constant per template)."""
    raw: bytes = Span(flags=flags).SerializeToString()
    return raw


def key_field(key: str) -> bytes:
    """The serialised ``key`` of an attribute's KeyValue (a constant per attribute name)."""
    raw: bytes = KeyValue(key=key).SerializeToString()
    return raw


def string_attribute(key: bytes, data: bytes) -> bytes:
    """One ``attributes`` entry of a Span, ``key`` (a ``key_field``) = the string whose
    UTF-8 is ``data``, exactly as upb writes it. One copy of the text, whatever its size.

    Example:
        >>> raw = Span.FromString(string_attribute(key_field("k"), b"v")).attributes[0]
        >>> raw.key, raw.value.string_value
        ('k', 'v')
    """
    return string_attribute_head(key, len(data)) + data


def string_attribute_head(key: bytes, n: int) -> bytes:
    """What precedes the ``n`` bytes of the string in ``string_attribute(key, data)``: the
    entry's tag and length, the key, the value's tag and length, the string's.

    Example:
        >>> string_attribute_head(key_field("k"), 1) + b"v" == string_attribute(
        ...     key_field("k"), b"v")
        True
    """
    size = varint(n)
    value = STRING_LEN + len(size) + n
    value_size = varint(value)
    entry = len(key) + VALUE_LEN + len(value_size) + value
    return b"".join((ATTRIBUTE, varint(entry), key, VALUE, value_size, STRING, size))


def _framed_len(inner: int) -> int:
    return 1 + len(varint(inner)) + inner


def scope_header(name: str, version: str) -> bytes:
    """The framed ``scope`` field of a ``ScopeSpans`` (always present, as in encode_request)."""
    return framed(_SCOPE, InstrumentationScope(name=name, version=version).SerializeToString())


def resource_header(
    attributes: dict[str, Any], fill: Callable[[Any, dict[str, Any]], None]
) -> bytes:
    """The framed ``resource`` field of a ``ResourceSpans`` (absent when it has nothing)."""
    resource = Resource()
    fill(resource.attributes, attributes)
    raw = resource.SerializeToString()
    return framed(_RESOURCE, raw) if raw else b""


class EncodedSpans:
    """A converted batch for OTLP: every span's ``Span`` bytes, framed, by group.

    Each group holds one buffer of framed spans and the offset just past each one (one
    growing buffer, not thousands of bytes objects: see ``EncodedLines``). ``drops`` are
    the spans that could not be encoded (by reason) and ``failures`` why, for the log.
    """

    __slots__ = ("_last", "drops", "failures", "groups", "n", "nbytes")

    def __init__(self) -> None:
        self.groups: dict[GroupKey, tuple[bytearray, list[int]]] = {}
        self._last: tuple[GroupKey | None, Any] = ((), None)
        self.n = 0
        self.nbytes = 0
        self.drops: dict[str, int] = {}
        self.failures: list[tuple[str, Exception]] = []

    def group(self, key: GroupKey) -> tuple[bytearray, list[int]]:
        """The buffer and offsets of group ``key`` (made on first use; remembered as the
        last one, which the next span nearly always shares)."""
        last = self._last
        if last[0] is key or last[0] == key:
            group: tuple[bytearray, list[int]] = last[1]
            return group
        group = self.groups.get(key) or self.groups.setdefault(key, (bytearray(), []))
        self._last = (key, group)
        return group

    def add(self, key: GroupKey, span: bytes) -> None:
        """One span's ``Span`` message bytes, in group ``key``."""
        group = self.group(key)
        buf = group[0]
        n = len(span)
        buf += SPANS
        buf += SMALL[n] if n < 0x80 else varint(n)
        buf += span
        group[1].append(len(buf))
        self.n += 1
        self.nbytes += n

    def lost(self, name: str, exc: Exception) -> None:
        """A span that could not be encoded at all: counted (``serialize_error``)."""
        self.n += 1
        self.drops["serialize_error"] = self.drops.get("serialize_error", 0) + 1
        self.failures.append((name, exc))

    def __len__(self) -> int:
        return self.n

    def sizes(self, every: int) -> list[int]:
        """The framed size of every ``every``-th span, for the queue's size estimate."""
        out: list[int] = []
        i = 0  # the index, in the whole batch, of the group's first span
        for _, ends in self.groups.values():
            # Only the sampled spans are visited (a loop over every span cost ~10
            # bytecodes a span): those whose index in the batch is a multiple of ``every``.
            for j in range(-i % every, len(ends), every):
                out.append(ends[j] - (ends[j - 1] if j else 0))
            i += len(ends)
        return out

    def spans(self) -> Iterator[tuple[GroupKey, int, int, int]]:
        """(group, index, start, end) of every span, group by group."""
        for key, (_, ends) in self.groups.items():
            start = 0
            for i, end in enumerate(ends):
                yield key, i, start, end
                start = end


def request(
    parts: Sequence[tuple[GroupKey, memoryview | bytes]],
    resource_of: Callable[[GroupKey], bytes],
    scope_of: Callable[[GroupKey], bytes],
) -> bytes:
    """An ``ExportTraceServiceRequest`` of already framed spans, ``parts`` in group order
    (every group of one resource contiguous, as ``EncodedSpans.groups`` keeps them)."""
    # Keyed by the three resource facts, as encode_request groups (not by resource bytes).
    by_resource: dict[GroupKey, list[Any]] = {}
    for key, spans in parts:
        scopes = by_resource.get(key[:3])
        if scopes is None:
            scopes = by_resource[key[:3]] = [resource_of(key)]
        scopes.append((scope_of(key), spans))
    # Lengths first, then one join: the span bytes are copied once, into the request.
    pieces: list[Any] = []
    for resource, *scopes in by_resource.values():
        inner = len(resource) + sum(_framed_len(len(h) + len(b)) for h, b in scopes)
        pieces += (_REQUEST_RESOURCE_SPANS, varint(inner), resource)
        for header, spans in scopes:
            pieces += (_SCOPE_SPANS, varint(len(header) + len(spans)), header, spans)
    return b"".join(pieces)


def total_size(encoded: EncodedSpans, heads: dict[GroupKey, tuple[bytes, bytes]]) -> int:
    """The exact size of the request of all of ``encoded`` (``heads``: each group's framed
    resource and scope headers)."""
    by_resource: dict[GroupKey, int] = {}
    for key, (buf, _) in encoded.groups.items():
        resource, scope = heads[key]
        inner = by_resource.get(key[:3], len(resource))
        by_resource[key[:3]] = inner + _framed_len(len(scope) + len(buf))
    return sum(_framed_len(inner) for inner in by_resource.values())


def request_size(resource: int, scope: int, spans: int) -> int:
    """The exact size of a request of one group: framed resource and scope headers of
    ``resource`` and ``scope`` bytes, ``spans`` bytes of framed spans."""
    return _framed_len(resource + _framed_len(scope + spans))
