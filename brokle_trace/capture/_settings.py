"""``CaptureSettings``: the limits and rules, validated and compiled once per object."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from brokle_trace.capture._nodes import Ctx
from brokle_trace.capture._pins import Pins
from brokle_trace.capture._redact import Redactor, normalize_key
from brokle_trace.capture._rules import (
    BUILTIN_KEY_RULES,
    BUILTIN_RULE_NAMES,
    BUILTIN_SHAPE_RULES,
    BUILTIN_TOKEN_RULES,
    BUILTIN_VALUE_RULES,
    ID_PREFIXES,
    KeyRule,
    ValueRule,
)
from brokle_trace.typing import MaskFn, Serializer

__all__ = ["MIN_STRING_LENGTH", "CaptureSettings", "Compiled"]

#: Smallest effective string limit: room for a truncation marker plus a little text.
MIN_STRING_LENGTH = 64
_RULE_NAME = re.compile(r"^[a-z0-9_]{1,40}$")
_TYPE_CACHE_MAX = 1024


def _int_field(name: str, value: object, minimum: int, maximum: int | None = None) -> None:
    if type(value) is not int:
        raise ValueError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")


def _str_tuple(name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (tuple, list, frozenset, set)):
        raise ValueError(
            f"{name} must be a tuple of strings, got {type(value).__name__}; "
            f"write {name}=('example',)"
        )
    items = tuple(value)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"{name} entries must be non-empty strings, got {item!r}")
    return items


@dataclass(frozen=True)
class CaptureSettings:
    """The capture limits and redaction rules in force (``configure`` builds one).

    Every field is also a ``configure(...)`` keyword. Invalid values raise ``ValueError``
    naming the field and the fix.

    Example:
        >>> s = CaptureSettings(max_string_length=1000, redact_keys=("ssn",),
        ...                     redact_patterns=(("order_ref", r"ORD-[0-9]{6}"),))
        >>> s.max_items
        100
        >>> CaptureSettings(max_items=0)
        Traceback (most recent call last):
        ...
        ValueError: max_items must be >= 1, got 0
    """

    #: Longest string kept, in characters, including the truncation marker.
    max_string_length: int = 4000
    #: Most entries kept per list/dict/set (a marker entry included).
    max_items: int = 100
    #: Containers nested deeper than this become a marker.
    max_depth: int = 10
    #: Largest encoded JSON per field (input, output, metadata...), markers included.
    max_bytes: int = 64 * 1024
    #: Master switch for the built-in and extra rules (the mask still runs when off).
    redact: bool = True
    #: Extra secret key names (matched like the built-ins: whole key or its last segments).
    redact_keys: tuple[str, ...] = ()
    #: Extra value regexes: ``"regex"`` (marker ``custom``) or ``("name", "regex")``.
    redact_patterns: tuple[str | tuple[str, str], ...] = ()
    #: Key names never redacted by key rules (their values are still scanned for secrets).
    allow_keys: tuple[str, ...] = ()
    #: Built-in rule names to switch off (see ``docs/capture.md`` for the list).
    disabled_rules: tuple[str, ...] = ()
    #: ``mask(value, context) -> value``: the last word on every exported field.
    mask: MaskFn | None = None
    #: Global serializer, consulted for every non-primitive object (``NotImplemented`` = default).
    serializer: Serializer | None = None
    #: Serializers for specific types (subclasses included), e.g. a user's domain class.
    type_serializers: Mapping[type, Serializer] = field(default_factory=dict, hash=False)
    #: Characters kept past the string limit at call time so redaction still sees a secret
    #: that straddles the cut point.
    redaction_margin: int = 1024
    #: Entries inspected on the caller's thread (level by level); the rest is read by the
    #: export worker. 0 = copy only the top container.
    snapshot_budget: int = 64
    #: Bytes of long strings the snapshots may keep by reference (they cannot change) until
    #: their spans are exported; past it, heads are copied at call time. 0 = always copy.
    max_pinned_bytes: int = 16 * 1024 * 1024
    #: Re-raise internal capture errors (the library's own tests); never for user code.
    strict: bool = False
    _compiled: Compiled = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _int_field("max_string_length", self.max_string_length, MIN_STRING_LENGTH)
        _int_field("max_items", self.max_items, 1)
        _int_field("max_depth", self.max_depth, 1, 64)
        _int_field("max_bytes", self.max_bytes, 256)
        _int_field("redaction_margin", self.redaction_margin, 128)
        _int_field("snapshot_budget", self.snapshot_budget, 0)
        _int_field("max_pinned_bytes", self.max_pinned_bytes, 0)
        for flag in ("redact", "strict"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"{flag} must be True or False, got {getattr(self, flag)!r}")
        setattr_ = object.__setattr__
        for name in ("redact_keys", "allow_keys", "disabled_rules"):
            setattr_(self, name, _str_tuple(name, getattr(self, name)))
        unknown = sorted(set(self.disabled_rules) - BUILTIN_RULE_NAMES)
        if unknown:
            raise ValueError(
                f"disabled_rules has unknown rule names {unknown}; "
                f"valid names: {sorted(BUILTIN_RULE_NAMES)}"
            )
        setattr_(self, "redact_patterns", _custom_rules(self.redact_patterns)[0])
        for name in ("mask", "serializer"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise ValueError(
                    f"{name} must be a callable (value, context) or None, got "
                    f"{type(value).__name__}"
                )
        if not isinstance(self.type_serializers, Mapping):
            raise ValueError(
                "type_serializers must be a mapping {type: serializer}, got "
                f"{type(self.type_serializers).__name__}"
            )
        for cls, ser in self.type_serializers.items():
            if not isinstance(cls, type) or not callable(ser):
                raise ValueError(
                    f"type_serializers must map classes to callables, got {cls!r}: {ser!r}"
                )
        setattr_(self, "type_serializers", MappingProxyType(dict(self.type_serializers)))
        setattr_(self, "_compiled", Compiled(self))


def _custom_rules(entries: object) -> tuple[tuple[str | tuple[str, str], ...], list[ValueRule]]:
    if isinstance(entries, str) or not isinstance(entries, (tuple, list)):
        raise ValueError(
            "redact_patterns must be a tuple of regex strings or (name, regex) "
            f"pairs, got {type(entries).__name__}"
        )
    normalized: list[str | tuple[str, str]] = []
    rules: list[ValueRule] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            name, source = "custom", entry
            normalized.append(entry)
        elif (
            isinstance(entry, (tuple, list))
            and len(entry) == 2
            and all(isinstance(x, str) for x in entry)
        ):
            name, source = entry[0], entry[1]
            normalized.append((name, source))
        else:
            raise ValueError(
                f"redact_patterns[{i}] must be a regex string or a (name, regex) "
                f"pair, got {entry!r}"
            )
        if not _RULE_NAME.match(name):
            raise ValueError(f"redact_patterns[{i}] name {name!r} must match [a-z0-9_]{{1,40}}")
        try:
            re.compile(source)
        except re.error as exc:
            raise ValueError(f"redact_patterns[{i}] is not a valid regex: {exc}") from None
        rules.append(ValueRule(name, (source,), example=""))
    return tuple(normalized), rules


class Compiled:
    """Everything derived from a settings object, computed once (hot path reads attributes)."""

    __slots__ = (
        "_type_cache",
        "_type_serializers",
        "budget",
        "cut",
        "limit",
        "margin",
        "mask",
        "max_bytes",
        "max_depth",
        "max_items",
        "pins",
        "redactor",
        "serializer",
        "snapshot_ctx",
        "strict",
        "worker_ctx",
    )

    def __init__(self, s: CaptureSettings) -> None:
        self.limit = s.max_string_length
        self.margin = s.redaction_margin
        self.cut = s.max_string_length + s.redaction_margin
        self.max_items = s.max_items
        self.max_depth = s.max_depth
        self.max_bytes = s.max_bytes
        self.budget = s.snapshot_budget
        self.pins = Pins(s.max_pinned_bytes)
        self.mask = s.mask
        self.serializer = s.serializer
        self.strict = s.strict
        self._type_serializers: dict[type, Any] = dict(s.type_serializers)
        self._type_cache: dict[type, Any] = {}
        self.redactor: Redactor | None = None
        if s.redact:
            disabled = set(s.disabled_rules)
            key_rules = [r for r in BUILTIN_KEY_RULES if r.name not in disabled]
            for name in s.redact_keys:
                norm = normalize_key(name)
                key_rules.append(
                    KeyRule(
                        norm if _RULE_NAME.match(norm) else "custom_key", re.escape(norm), (name,)
                    )
                )
            value_rules = [r for r in BUILTIN_VALUE_RULES if r.name not in disabled]
            value_rules += _custom_rules(s.redact_patterns)[1]
            self.redactor = Redactor(
                key_rules,
                value_rules,
                s.allow_keys,
                token_rules=[r for r in BUILTIN_TOKEN_RULES if r.name not in disabled],
                shape_rules=[r for r in BUILTIN_SHAPE_RULES if r.name not in disabled],
                id_prefixes=ID_PREFIXES,
                disabled=disabled,
            )
        #: The context of an ordinary call (default limit, no decorator serializer), built
        #: once: allocating it per call would cost ~0.3 us on the caller's thread.
        self.snapshot_ctx = Ctx(self, self.limit, self.cut, None, False)
        self.worker_ctx = Ctx(self, self.limit, self.cut, None, True)

    def type_serializer(self, cls: type) -> Any:
        """The registered serializer for ``cls`` or its nearest base, or None (cached)."""
        if not self._type_serializers:
            return None
        try:
            return self._type_cache[cls]
        except KeyError:
            pass
        found = None
        for base in cls.__mro__:
            found = self._type_serializers.get(base)
            if found is not None:
                break
        if len(self._type_cache) >= _TYPE_CACHE_MAX:
            self._type_cache.clear()
        self._type_cache[cls] = found
        return found

    def string_limits(self, max_string_length: int | None) -> tuple[int, int]:
        """``(limit, cut)`` for a per-call limit (decorator ``max_input_length``)."""
        if max_string_length is None or max_string_length == self.limit:
            return self.limit, self.cut
        limit = max(int(max_string_length), MIN_STRING_LENGTH)
        return limit, limit + self.margin
