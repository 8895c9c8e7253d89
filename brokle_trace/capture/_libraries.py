"""Handlers for values of optional libraries: numpy, pandas and pydantic.

A library is looked up in ``sys.modules`` only: capture never imports one the user's
program has not imported itself. ``handler_for`` runs once per type, from ``_serializers``'
classification, which hands it ``expand`` (the step that bounds what a handler returns);
taking it as an argument keeps the two modules from importing each other.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from brokle_trace.capture._containers import h_instance_dict, type_label
from brokle_trace.capture._nodes import Ctx, Deferred
from brokle_trace.capture._redact import marker

__all__ = ["library_handler"]

Handler = Callable[[Any, Ctx], object]
Expand = Callable[[object, Ctx], object]

#: Pydantic's secret types, by class name in their MRO (v1 and v2 name them differently).
_PYDANTIC_SECRETS = frozenset({"SecretStr", "SecretBytes", "Secret", "_SecretBase", "_SecretField"})


def library_handler(t: type, expand: Expand) -> Handler | None:
    """The handler for ``t`` if it belongs to an imported optional library, else None.

    Example:
        >>> import pydantic
        >>> class M(pydantic.BaseModel):
        ...     key: pydantic.SecretStr
        >>> library_handler(type(M(key="s").key), lambda o, ctx: o)(None, None)
        '[REDACTED:pydantic_secret]'
        >>> library_handler(int, lambda o, ctx: o) is None
        True
    """
    np = sys.modules.get("numpy")
    if np is not None:
        if issubclass(t, np.ndarray):
            return _ndarray_handler(expand)
        if issubclass(t, np.generic):
            return lambda obj, ctx: expand(obj.item(), ctx)
    pd = sys.modules.get("pandas")
    if pd is not None:
        for cls, kind in ((pd.DataFrame, "frame"), (pd.Series, "series"), (pd.Index, "index")):
            if issubclass(t, cls):
                return _pandas_handler(kind)
    for module in ("pydantic", "pydantic.v1"):
        pyd = sys.modules.get(module)
        if pyd is None:
            continue
        if any(
            b.__name__ in _PYDANTIC_SECRETS and b.__module__.startswith("pydantic")
            for b in t.__mro__
        ):
            label = marker("pydantic_secret")
            return lambda obj, ctx: label
        base = getattr(pyd, "BaseModel", None)
        if isinstance(base, type) and issubclass(t, base):
            return h_instance_dict
    return None


def _ndarray_handler(expand: Expand) -> Handler:
    def handle(obj: Any, ctx: Ctx) -> object:
        m = ctx.c.max_items
        size = int(obj.size)
        if size <= m and obj.ndim <= ctx.c.max_depth:
            return expand(obj.tolist(), ctx)
        # ``flat[:m]`` copies m elements whatever the layout; ``ravel`` could copy them all.
        return {
            "type": type_label(type(obj)),
            "dtype": str(obj.dtype),
            "shape": list(obj.shape),
            "size": size,
            "head": obj.flat[: max(m - 1, 1)].tolist(),
        }

    return handle


def _pandas_handler(kind: str) -> Handler:
    def handle(obj: Any, ctx: Ctx) -> object:
        if not ctx.worker:
            return Deferred(obj)  # a pandas summary costs ~100 us: not on the caller's thread
        m = ctx.c.max_items
        name = type_label(type(obj))
        if kind == "frame":
            rows, cols = obj.shape
            head = obj.iloc[: min(5, m), :m].to_dict(orient="records")
            return {
                "type": name,
                "shape": [rows, cols],
                "columns": list(obj.columns[:m]),
                "head": head,
            }
        head = obj[:m].tolist() if kind == "index" else obj.iloc[:m].tolist()
        return {"type": name, "length": len(obj), "dtype": str(obj.dtype), "head": head}

    return handle
