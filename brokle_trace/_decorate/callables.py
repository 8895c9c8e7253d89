"""Decorated callables that are not functions keep their own binding rules.

A function binds: put in a class body, ``obj.method(x)`` calls it with ``obj`` first. A
``functools.partial``, a callable instance (``Tool()``), a builtin or a bound method does
not, or binds its own way (``lru_cache`` wrappers, a class with ``__get__``). The wrapper
``@observe`` generates is a function, so it would bind where the original did not and the
call would receive an extra ``self``. So a non-function gets a proxy instead, whose
``__get__`` asks the original what to do.

The proxy's class is made per decorated callable with the wrapper as a ``staticmethod``
``__call__``: calling the proxy runs the wrapper directly (no extra Python frame), and
``asyncio.iscoroutinefunction(proxy.__call__)`` sees the wrapper's shape, as frameworks
that accept async callable objects (Starlette, FastAPI) check. Attributes the proxy does not
have are read from the original, live (``tool.name``, ``partial.func``).

Two kinds keep their type instead, because frameworks decide by type what a callable is
(Starlette unwraps ``functools.partial`` and calls functions and methods with the request,
anything else as an ASGI app): a bound method becomes the traced function bound to the same
object (``observe.py``), a ``functools.partial`` a ``TracedPartial`` with the same parts.
"""

from __future__ import annotations

import copy
import copyreg
import functools
import sys
import types
from typing import Any, cast

__all__ = ["TracedCallable", "TracedClass", "TracedPartial", "traced_callable", "traced_partial"]

#: What the wrapper carries of its own (observe._wrap sets them).
_MISSING = object()
_OWN = frozenset({"__wrapped__", "cache_info", "cache_clear", "cache_parameters"})


class TracedCallable:
    """A traced non-function callable: calls go through the tracing wrapper, binding and
    attributes follow the original (``__wrapped__``)."""

    __wrapped__: Any

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        fn = self.__wrapped__
        get = getattr(type(fn), "__get__", None)
        if get is None:  # the original does not bind (partial, instances, builtins)
            return self
        bound = get(fn, obj, owner)
        if bound is fn:  # it binds to nothing (bound methods; partial on 3.13)
            return self
        if type(bound) is types.MethodType and bound.__func__ is fn:
            return types.MethodType(cast("Any", self), bound.__self__)  # binds like a function
        return bound  # a descriptor of its own kind: what it gives, untraced, unchanged

    def __getattr__(self, name: str) -> Any:
        # Only for names the proxy lacks: the original's attributes, read now.
        wrapped = self.__dict__.get("__wrapped__", _MISSING)
        if wrapped is _MISSING or (name.startswith("__") and name.endswith("__")):
            raise AttributeError(name)
        return getattr(wrapped, name)

    def __setattr__(self, name: str, value: Any) -> None:
        # The original is what calls run: a setting written to the proxy would be read
        # back but never used (``tool.k = 10`` then ``tool(1)``). Dunders stay the proxy's.
        if name.startswith("__") and name.endswith("__"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.__wrapped__, name, value)

    def __delattr__(self, name: str) -> None:
        if name.startswith("__") and name.endswith("__"):
            object.__delattr__(self, name)
        else:
            delattr(self.__wrapped__, name)

    def __repr__(self) -> str:
        return repr(self.__wrapped__)

    def __reduce__(self) -> Any:
        # The proxy's class is made per callable and cannot be found by name: pickle gets
        # "decorate the original again", with the options it was decorated with.
        return _remake(self)

    def __copy__(self) -> Any:
        # A copy of the original, decorated again: the reduction above would decorate the
        # same original, so ``copy.copy(tool).k = 10`` changed the tool copied from.
        return _again(self, copy.copy(self.__wrapped__))

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        # The original copied deep, the options as they are (the reduction copied them
        # too: a serializer holding a lock could not be copied).
        clone = memo[id(self)] = _again(self, copy.deepcopy(self.__wrapped__, memo))
        return clone


class TracedClass(TracedCallable):
    """A traced class: calling it constructs (traced); used as the class it stands for
    (``isinstance``, ``issubclass``, a base class, ``X | None``), it is the original, so
    code that checks or subclasses the decorated name keeps working (subclasses untraced)."""

    def __instancecheck__(self, obj: Any) -> bool:
        return isinstance(obj, self.__wrapped__)

    def __subclasscheck__(self, cls: type) -> bool:
        return issubclass(cls, self.__wrapped__)

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[type]:
        return (self.__wrapped__,)

    def __or__(self, other: Any) -> Any:
        return self.__wrapped__ | other

    def __ror__(self, other: Any) -> Any:
        return other | self.__wrapped__

    def __copy__(self) -> Any:
        return self  # as copy does for a class

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self

    def __reduce__(self) -> Any:
        # By name, as classes are: the module's attribute is this proxy (pickle checks).
        # Its instances pickle through it (``_reduce_instance``).
        return self.__dict__.get("__qualname__") or _remake(self)


class TracedPartial(functools.partial):  # type: ignore[type-arg]
    """A traced ``functools.partial``: a partial of the same function and arguments (what
    ``isinstance`` checks and ``.func``/``.args``/``.keywords`` readers see) whose calls go
    through the tracing wrapper, which calls the original partial."""

    __wrapped__: Any
    __getattr__ = TracedCallable.__getattr__
    __reduce__ = TracedCallable.__reduce__
    __copy__ = TracedCallable.__copy__
    __deepcopy__ = TracedCallable.__deepcopy__

    def __repr__(self) -> str:
        return repr(self.__wrapped__)


#: The constructors ``object.__reduce_ex__`` names (not in typeshed's copyreg).
_NEWOBJ, _NEWOBJ_EX = copyreg.__dict__["__newobj__"], copyreg.__dict__["__newobj_ex__"]


def _reduce_instance(obj: Any) -> Any:
    """How an instance of a decorated class pickles (and copies): as it did undecorated,
    with its class named through the proxy that its name now finds.

    Pickle finds a class by its module and qualified name and refuses one that finds
    another object: there, the traced class. The proxy pickles by that name, and
    ``_new_instance`` / ``_call_class`` turn it back into the class when unpickled."""
    cls = type(obj)
    rv = obj.__reduce_ex__(4)  # what pickle would use without us (any protocol reads it)
    named = _by_name(cls)
    if named is cls or not isinstance(named, TracedClass) or named.__wrapped__ is not cls:
        return rv  # the name finds the class itself (or nothing we made): as before
    if type(rv) is not tuple or len(rv) < 2:
        return rv
    make, args = rv[0], rv[1]
    if make is _NEWOBJ and args and args[0] is cls:
        return (_new_instance, (named, *args[1:]), *rv[2:])
    if make is _NEWOBJ_EX and args and args[0] is cls:
        return (_new_instance_ex, (named, *args[1:]), *rv[2:])
    if make is cls:  # a __reduce__ of the class's own: (type(self), args)
        return (_call_class, (named, *args), *rv[2:])
    return rv


def _by_name(cls: type) -> Any:
    """What pickle finds under ``cls``'s module and qualified name (None if nothing)."""
    try:  # a module's own __getattr__ may raise anything: then pickle's error, as before
        found: Any = sys.modules.get(getattr(cls, "__module__", None) or "")
        for part in cls.__qualname__.split("."):
            found = getattr(found, part, None)
    except Exception:
        return None
    return found


# _new_instance, _new_instance_ex and _call_class are written by name into users' pickles:
# renaming or moving them breaks every pickle made before, so they stay here, as they are.
def _new_instance(proxy: Any, *args: Any) -> Any:
    cls = proxy.__wrapped__
    return cls.__new__(cls, *args)


def _new_instance_ex(proxy: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    cls = proxy.__wrapped__
    return cls.__new__(cls, *args, **kwargs)


def _call_class(proxy: Any, *args: Any) -> Any:
    return proxy.__wrapped__(*args)  # untraced, as unpickling calls it


def _pickle_instances(cls: type) -> None:
    """Let instances of the decorated ``cls`` pickle (``_reduce_instance``)."""
    try:  # a metaclass whose __hash__ raises: its instances stay as they were
        if "<locals>" in cls.__qualname__ or cls in copyreg.dispatch_table:
            return  # never pickled by name; or a reducer of the user's own, which stays
        copyreg.pickle(cls, _reduce_instance)
    except Exception:
        return


def _remake(proxy: Any) -> Any:
    remake = proxy.__dict__.get("__brokle_remake__")
    if remake is None:
        raise TypeError(f"cannot pickle a traced {type(proxy.__wrapped__).__name__}")
    return remake


def _again(proxy: Any, fn: Any) -> Any:
    """``fn`` (a copy of ``proxy``'s original) decorated as ``proxy``'s original was."""
    decorate, (_, skip_first, options) = _remake(proxy)
    return decorate(fn, skip_first, dict(options))


def traced_callable(fn: Any, wrapper: Any) -> TracedCallable:
    """A ``TracedCallable`` for the non-function ``fn`` whose calls run ``wrapper``."""
    base = TracedClass if isinstance(fn, type) else TracedCallable
    proxy: TracedCallable = _proxy_class(fn, wrapper, base)()
    _copy_names(proxy, wrapper)
    if base is TracedClass:
        _pickle_instances(fn)
    return proxy


def traced_partial(fn: functools.partial[Any], wrapper: Any) -> TracedPartial:
    """A ``TracedPartial`` for the partial ``fn`` whose calls run ``wrapper``."""
    proxy: TracedPartial = _proxy_class(fn, wrapper, TracedPartial)(
        fn.func, *fn.args, **fn.keywords
    )
    _copy_names(proxy, wrapper)
    return proxy


def _proxy_class(fn: Any, wrapper: Any, base: type) -> Any:
    # Per callable: __call__ is the wrapper itself, looked up on the type by the call.
    return type(
        type(fn).__name__, (base,), {"__call__": staticmethod(wrapper), "__module__": __name__}
    )


def _copy_names(proxy: Any, wrapper: Any) -> None:
    # The wrapper's own attributes (not the copies of fn's __dict__ update_wrapper made:
    # those are read from fn itself, live), then the names and docs it copied from fn.
    own = {k: v for k, v in wrapper.__dict__.items() if k in _OWN or k.startswith("__brokle")}
    proxy.__dict__.update(own)
    for attr in functools.WRAPPER_ASSIGNMENTS:
        if hasattr(wrapper, attr):
            try:
                proxy.__dict__[attr] = getattr(wrapper, attr)
            except Exception:
                continue
