"""W3C Trace Context across services: ``inject`` on the way out, ``extract`` on the way in.

Example:
    >>> from brokle_trace import observe
    >>> from brokle_trace.propagation import extract, inject
    >>> @observe
    ... def call_downstream() -> dict:
    ...     return inject({})            # {"traceparent": "00-<trace>-<span>-01"}
    >>> headers = call_downstream()
    >>> @observe
    ... def handle() -> str:
    ...     from brokle_trace import get_current_trace_id
    ...     return get_current_trace_id()
    >>> with extract(headers):          # on the receiving service
    ...     same = handle() == headers["traceparent"][3:35]
    >>> same
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.context.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from brokle_trace._trace import otel as _otel
from brokle_trace._trace import span as _span

__all__ = ["RemoteContext", "extract", "inject"]

_PROPAGATOR = TraceContextTextMapPropagator()


class _AnyCaseGetter(Getter[Mapping[str, Any]]):
    """Reads headers whatever their case, and WSGI environ keys (``HTTP_TRACEPARENT``)."""

    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        value = carrier.get(key)
        if value is None:
            wsgi = "HTTP_" + key.upper().replace("-", "_")
            for name in carrier:
                if isinstance(name, str) and (name.lower() == key or name == wsgi):
                    value = carrier[name]
                    break
        if value is None:
            return None
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value] if isinstance(value, Iterable) else None

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return [str(k) for k in carrier]


_GETTER = _AnyCaseGetter()


def inject(headers: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Write ``traceparent`` (and ``tracestate``) for the current span into ``headers``.

    Works for our spans and for OpenTelemetry spans; outside any span it writes nothing.
    A span of a trace dropped by sampling is sent with the sampled flag off. Returns
    ``headers`` (a new dict when none is given).

    Example:
        >>> from brokle_trace import observe
        >>> from brokle_trace.propagation import inject
        >>> @observe
        ... def fetch() -> dict:
        ...     return inject({"accept": "application/json"})
        >>> sorted(fetch())
        ['accept', 'traceparent']
    """
    if headers is None:
        headers = {}
    _otel.install()
    _PROPAGATOR.inject(headers)
    ours = _span.current_span()
    value = headers.get("traceparent")
    if ours is not None and value and ours._facts.sampled_out:
        innermost = otel_trace.get_current_span().get_span_context()
        if innermost.span_id == ours._span_id:
            flags = int(value[-2:], 16) & ~0x01  # clear "sampled", keep the other flags
            headers["traceparent"] = f"{value[:-2]}{flags:02x}"
    return headers


class RemoteContext:
    """The caller's trace context read from headers; enter it to continue that trace.

    Spans started inside ``with`` become children of the remote span (same trace id).
    Invalid or missing headers give an empty context: ``with`` then does nothing and
    spans start a new trace as usual.

    Example:
        >>> ctx = extract({"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"})
        >>> bool(ctx), ctx.trace_id == "a" * 32, ctx.sampled
        (True, True, True)
    """

    __slots__ = ("_tokens", "context", "sampled", "span_id", "trace_id")

    def __init__(self, context: Context) -> None:
        self.context = context
        sc = otel_trace.get_current_span(context).get_span_context()
        valid = sc.is_valid
        self.trace_id: str | None = f"{sc.trace_id:032x}" if valid else None
        self.span_id: str | None = f"{sc.span_id:016x}" if valid else None
        self.sampled = bool(valid and sc.trace_flags.sampled)
        self._tokens: list[object] = []

    def __bool__(self) -> bool:
        return self.trace_id is not None

    def __repr__(self) -> str:
        return f"RemoteContext(trace_id={self.trace_id!r}, span_id={self.span_id!r})"

    def __enter__(self) -> RemoteContext:
        # A stack of tokens, so one RemoteContext can be entered re-entrantly.
        self._tokens.append(otel_context.attach(self.context) if self else None)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        token = self._tokens.pop()
        if token is not None:
            otel_context.detach(token)  # type: ignore[arg-type]


def extract(headers: Mapping[str, Any]) -> RemoteContext:
    """Read ``traceparent``/``tracestate`` from incoming ``headers`` (any case, WSGI too).

    Example:
        >>> from brokle_trace.propagation import extract
        >>> with extract({"Traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}) as ctx:
        ...     ctx.span_id
        '2222222222222222'
    """
    _otel.install()
    return RemoteContext(_PROPAGATOR.extract(headers, context=Context(), getter=_GETTER))
