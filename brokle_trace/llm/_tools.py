"""A tool's description and parameter schema, read once from its docstring and signature.

``@observe(type="tool")`` records what an LLM would be told about the tool: the docstring's
summary as ``gen_ai.tool.description`` and a JSON schema of the parameters (types from the
annotations, descriptions from a Google-style ``Args:`` section or reST ``:param x:`` lines,
required = no default) as ``tool.parameters``, the OpenInference name.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from brokle_trace import semconv

__all__ = ["json_schema", "parameters_schema", "tool_attributes", "tool_description"]

#: Characters of the description kept (a docstring can be a manual).
MAX_DESCRIPTION = 1_000
_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Returns?|Yields?|Raises|Examples?|Notes?|"
    r"Attributes|See Also)\s*:?\s*$|^\s*:(param|type|returns?|rtype|raises)\b",
    re.IGNORECASE,
)
_GOOGLE_ARG = re.compile(r"^\s{2,}(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_REST_ARG = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    bytes: {"type": "string"},
    type(None): {"type": "null"},
}


def tool_description(fn: Callable[..., Any]) -> str | None:
    """The docstring's text up to its first section (``Args:``, ``Returns:``, ``:param``).

    Example:
        >>> def weather(city: str) -> str:
        ...     '''Current weather for a city.
        ...
        ...     Args:
        ...         city: The city name.
        ...     '''
        >>> tool_description(weather)
        'Current weather for a city.'
    """
    doc = inspect.getdoc(fn)
    if not doc:
        return None
    lines: list[str] = []
    for line in doc.splitlines():
        if _SECTION.match(line):
            break
        lines.append(line)
    text = "\n".join(lines).strip()
    return text[:MAX_DESCRIPTION] or None


def _arg_docs(fn: Callable[..., Any]) -> dict[str, str]:
    doc = inspect.getdoc(fn) or ""
    found: dict[str, str] = {}
    in_args = False
    current: str | None = None
    for line in doc.splitlines():
        rest = _REST_ARG.match(line)
        if rest:
            current = rest.group(1)
            found[current] = rest.group(2).strip()
            continue
        stripped = line.strip()
        if re.match(r"^(Args|Arguments|Parameters|Params)\s*:\s*$", stripped, re.IGNORECASE):
            in_args, current = True, None
            continue
        if in_args:
            if stripped and not line.startswith(" "):
                in_args = False  # the next section
                continue
            google = _GOOGLE_ARG.match("  " + line if line.startswith(" ") else line)
            if google and (current is None or len(line) - len(line.lstrip()) <= 4):
                current = google.group(1).lstrip("*")
                found[current] = google.group(2).strip()
            elif current is not None and stripped:
                found[current] = (found[current] + " " + stripped).strip()
    return found


def json_schema(annotation: Any, depth: int = 0) -> dict[str, Any]:
    """A JSON schema for a Python annotation ({} when it says nothing usable).

    Example:
        >>> json_schema(list[int])
        {'type': 'array', 'items': {'type': 'integer'}}
    """
    if depth > 6 or annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    if annotation in _SCALARS:
        return dict(_SCALARS[annotation])
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return {"enum": [a for a in args if isinstance(a, (str, int, float, bool))]}
    if origin is typing.Union or origin is types.UnionType:
        options = [json_schema(a, depth + 1) for a in args if a is not type(None)]
        nullable = any(a is type(None) for a in args)
        if len(options) == 1 and not nullable:
            return options[0]
        schemas = options + ([{"type": "null"}] if nullable else [])
        return {"anyOf": schemas}
    if origin is typing.Annotated:
        return json_schema(args[0], depth + 1)
    if origin in (list, set, frozenset, tuple) or (
        isinstance(origin, type) and issubclass(origin, Sequence) and origin is not str
    ):
        schema: dict[str, Any] = {"type": "array"}
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            schema["prefixItems"] = [json_schema(a, depth + 1) for a in args]
            schema["minItems"] = schema["maxItems"] = len(args)
            return schema
        item = args[0] if args else None
        if item is not None:
            items = json_schema(item, depth + 1)
            if items:
                schema["items"] = items
        return schema
    if origin is dict or (isinstance(origin, type) and issubclass(origin, Mapping)):
        schema = {"type": "object"}
        if len(args) == 2:
            values = json_schema(args[1], depth + 1)
            if values:
                schema["additionalProperties"] = values
        return schema
    if annotation in (list, tuple, set, frozenset):
        return {"type": "array"}
    if annotation is dict:
        return {"type": "object"}
    if isinstance(annotation, type):
        return _class_schema(annotation, depth)
    return {}


def _class_schema(cls: type, depth: int) -> dict[str, Any]:
    if issubclass(cls, enum.Enum):
        values = [m.value for m in cls if isinstance(m.value, (str, int, float, bool))]
        return {"enum": values}
    model_schema = getattr(cls, "model_json_schema", None)  # pydantic v2
    if callable(model_schema) and "pydantic" in sys.modules:
        try:
            result = model_schema()
        except Exception:
            return {"type": "object"}
        return result if isinstance(result, dict) else {"type": "object"}
    if dataclasses.is_dataclass(cls):
        return _object_schema(
            {f.name: f.type for f in dataclasses.fields(cls)},
            cls,
            depth,
            required=[
                f.name
                for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            ],
        )
    if typing.is_typeddict(cls):
        return _object_schema(
            cls.__annotations__, cls, depth, required=sorted(getattr(cls, "__required_keys__", ()))
        )
    return {}


def _object_schema(
    fields: Mapping[str, Any], owner: Any, depth: int, *, required: list[str]
) -> dict[str, Any]:
    try:
        hints = typing.get_type_hints(owner)
    except Exception:
        hints = dict(fields)
    props = {name: json_schema(hints.get(name, fields[name]), depth + 1) for name in fields}
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


def parameters_schema(fn: Callable[..., Any]) -> dict[str, Any] | None:
    """The JSON schema of ``fn``'s parameters (``self``/``cls`` and ``*args`` left out).

    Example:
        >>> def search(query: str, limit: int = 5) -> list[str]:
        ...     '''Search the docs.
        ...
        ...     Args:
        ...         query: What to look for.
        ...     '''
        >>> parameters_schema(search)["properties"]["query"]
        {'type': 'string', 'description': 'What to look for.'}
        >>> parameters_schema(search)["required"]
        ['query']
    """
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:  # a forward reference that does not resolve: the raw annotations
        hints = {}
    docs = _arg_docs(fn)
    properties: dict[str, Any] = {}
    required: list[str] = []
    params = list(sig.parameters.values())
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        annotation = hints.get(p.name, p.annotation)
        schema = json_schema(annotation) if not isinstance(annotation, str) else {}
        if docs.get(p.name):
            schema["description"] = docs[p.name]
        if p.default is p.empty:
            required.append(p.name)
        elif p.default is None or isinstance(p.default, (str, int, float, bool)):
            schema["default"] = p.default
        properties[p.name] = schema
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


def tool_attributes(fn: Callable[..., Any]) -> dict[str, Any]:
    """The static attributes of a tool span: description and parameter schema (JSON).

    Never raises: a docstring or annotation we cannot read records nothing.

    Example:
        >>> def add(a: int, b: int) -> int:
        ...     '''Add two numbers.'''
        >>> tool_attributes(add)["gen_ai.tool.description"]
        'Add two numbers.'
    """
    attrs: dict[str, Any] = {}
    try:
        description = tool_description(fn)
        if description:
            attrs[semconv.GEN_AI_TOOL_DESCRIPTION] = description
        schema = parameters_schema(fn)
        if schema is not None:
            attrs[semconv.TOOL_PARAMETERS] = orjson.dumps(schema, default=str).decode()
    except Exception:  # a hostile annotation or docstring: the tool is still traced
        return {}
    return attrs
