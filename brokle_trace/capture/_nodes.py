"""The private node types a snapshot is made of, and the context both stages share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # _settings builds a Ctx at import of a settings object
    from brokle_trace.capture._pins import Pin
    from brokle_trace.capture._settings import Compiled

__all__ = ["Ctx", "Cut", "CutDict", "CutList", "Deferred", "Processed", "Snapshot"]


class Cut:
    """A string (or decoded bytes) cut at call time: the head, and what it came from.

    ``safe`` is the string limit the cut was made for: only ``head[:safe]`` may be shown,
    the rest (the redaction margin) exists so a secret straddling ``safe`` is still seen
    whole by the redactor.
    """

    __slots__ = ("head", "safe", "total", "unit")

    def __init__(self, head: str, total: int, safe: int, unit: str = "chars") -> None:
        self.head = head
        self.total = total
        self.safe = safe
        self.unit = unit

    def __repr__(self) -> str:
        return f"Cut({len(self.head)} of {self.total} {self.unit})"


class CutList(list[Any]):
    """Our bounded copy of a longer sequence; ``total`` is the original length."""

    __slots__ = ("total",)
    total: int


class CutDict(dict[Any, Any]):
    """Our bounded copy of a larger mapping; ``total`` is the original size."""

    __slots__ = ("total",)
    total: int


class Deferred:
    """An object left for the export worker: summarising it costs too much for a caller."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj


class Processed:
    """A captured value the user's ``process_inputs``/``process_outputs`` shapes, on the worker.

    ``value`` is the snapshot; ``fn`` receives it finalised (bounded, redacted JSON) and its
    result is finalised again, so what it returns is held to the same limits and rules.
    """

    __slots__ = ("fn", "value")

    def __init__(self, value: object, fn: Any) -> None:
        self.value = value
        self.fn = fn


class Snapshot:
    """What ``snapshot`` returns when the worker needs more than the value itself.

    ``meta`` maps ``id(copy) -> (id(original), original size)`` for every string head and
    container copied at call time. A side table rather than wrapper objects because it is
    ~4x cheaper on the caller's thread (a dict store instead of a subclass instance); the
    ids stay valid because the snapshot keeps every copy alive. The worker uses it to show
    the original sizes and to see cycles through the copies. ``limit`` is the string limit
    the heads were cut for; ``serializer`` the decorator's, for what the worker completes.
    ``pins``: the pins of the long strings kept whole (see ``_pins``); holding them keeps
    the strings counted until this snapshot is freed.
    """

    __slots__ = ("limit", "meta", "pins", "root", "serializer")

    def __init__(
        self,
        root: object,
        serializer: Any,
        meta: dict[int, tuple[int, int]],
        limit: int,
        pins: Pin | list[Pin] | None = None,
    ) -> None:
        self.root = root
        self.serializer = serializer
        self.meta = meta
        self.limit = limit
        self.pins = pins


class Ctx:
    """Per-call state of a walk: the compiled settings and the string limit in force."""

    __slots__ = ("c", "cut", "limit", "serializer", "worker")

    def __init__(self, c: Compiled, limit: int, cut: int, serializer: Any, worker: bool) -> None:
        self.c = c
        self.limit = limit
        self.cut = cut
        self.serializer = serializer
        self.worker = worker
