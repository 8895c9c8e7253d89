"""Decorated non-function callables, as the frameworks that inspect callables see them.

Starlette, FastAPI and the standard library decide what to do with a callable from its type
(``functools.partial``, bound method, class) and from ``__call__``'s shape: decorating must
not change that decision.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Any

from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from brokle_trace import observe
from brokle_trace.testing import capture_spans


async def _greet(request: Request, greeting: str) -> PlainTextResponse:
    return PlainTextResponse(f"{greeting} {request.query_params.get('who', '')}")


class _Pages:
    def __init__(self, title: str) -> None:
        self.title = title

    async def show(self, request: Request) -> PlainTextResponse:
        return PlainTextResponse(self.title)


def test_a_decorated_partial_or_bound_method_is_still_a_starlette_endpoint() -> None:
    # Starlette unwraps partials and treats functions and methods as request handlers;
    # anything else is an ASGI app, called with (scope, receive, send): a 500 on every call.
    app = Starlette(
        routes=[
            Route("/p", observe(functools.partial(_greet, greeting="hi"))),
            Route("/m", observe(_Pages("home").show)),
        ]
    )
    client = TestClient(app, raise_server_exceptions=False)
    with capture_spans() as spans:
        assert client.get("/p?who=ann").text == "hi ann"
        assert client.get("/m").text == "home"
    assert [(s.name, s.status) for s in spans] == [("_greet", "ok"), ("show", "ok")]
    assert "request" in spans[1].input and "self" not in spans[1].input


def test_a_decorated_bound_method_is_a_bound_method_of_the_same_object() -> None:
    pages = _Pages("about")
    traced = observe(pages.show)
    assert inspect.ismethod(traced) and traced.__self__ is pages
    assert inspect.iscoroutinefunction(traced)
    assert inspect.signature(traced) == inspect.signature(pages.show)


def test_a_decorated_partial_is_a_partial_with_the_same_parts() -> None:
    original = functools.partial(_greet, greeting="hi")
    traced: Any = observe(original)
    assert isinstance(traced, functools.partial)
    assert (traced.func, traced.args, traced.keywords) == (_greet, (), {"greeting": "hi"})
    assert inspect.signature(traced) == inspect.signature(original)
    assert repr(traced) == repr(original)
    original.source = "docs"  # type: ignore[attr-defined]
    assert traced.source == "docs"  # its other attributes are the original's, read live


class _Session:
    """A FastAPI-style dependency object: ``Depends(get_db)`` where ``get_db`` yields."""

    def __init__(self) -> None:
        self.closed = 0

    def __call__(self, name: str = "db") -> Iterator[str]:
        try:
            yield name
        finally:
            self.closed += 1


class _AsyncSession:
    async def __call__(self, name: str = "db") -> AsyncIterator[str]:
        yield name


def test_a_decorated_generator_object_still_looks_like_a_generator_dependency() -> None:
    # FastAPI's is_gen_callable / is_async_gen_callable read the shape of __call__: a plain
    # function there makes it inject the generator object itself instead of what it yields.
    session, async_session = _Session(), _AsyncSession()
    traced, async_traced = observe(session), observe(async_session)
    assert inspect.isgeneratorfunction(traced.__call__)
    assert inspect.isasyncgenfunction(async_traced.__call__)

    async def drain() -> list[str]:
        return [x async for x in async_traced("a")]

    with capture_spans() as spans:
        assert list(traced("s")) == ["s"]
        assert asyncio.run(drain()) == ["a"]
    assert session.closed == 1
    assert [(s.name, s.output, s.status) for s in spans] == [
        ("_Session", ["s"], "ok"),
        ("_AsyncSession", ["a"], "ok"),
    ]


class _Invoice(BaseModel):
    number: str
    total: float = 0.0


def test_a_decorated_class_still_answers_isinstance_subclassing_and_unions() -> None:
    # observe(Model) traces construction; code around it still uses the name as the class.
    traced: Any = observe(_Invoice)
    with capture_spans() as spans:
        invoice = traced(number="A-1")
    assert isinstance(invoice, traced) and not isinstance("A-1", traced)
    assert issubclass(_Invoice, traced)

    class Credit(traced):  # type: ignore[misc]  # a subclass of the class itself, untraced
        reason: str = ""

    assert issubclass(Credit, _Invoice) and isinstance(Credit(number="C-1"), traced)
    assert traced | None == _Invoice | None and None | traced == None | _Invoice
    assert traced.model_validate({"number": "B-2"}) == _Invoice(number="B-2")
    assert [s.name for s in spans] == ["_Invoice"]


def test_an_object_answering_every_attribute_can_be_decorated() -> None:
    # An RPC stub's __getattr__ makes any name a remote method, __annotations__ included:
    # copying that onto the wrapper raised TypeError out of observe().
    from xmlrpc.client import ServerProxy

    server = ServerProxy("http://127.0.0.1:9/rpc")
    traced: Any = observe(server)
    with capture_spans() as spans:
        close = traced("close")
    assert callable(close) and len(spans) == 1


def test_settings_written_to_a_traced_object_reach_the_object_its_calls_run() -> None:
    class Scaler:
        def __init__(self) -> None:
            self.k = 2

        def __call__(self, x: int) -> int:
            return x * self.k

    original = Scaler()
    traced: Any = observe(original)
    traced.k = 5  # a setting changed after decoration, through the decorated name
    assert original.k == 5
    with capture_spans() as spans:
        assert traced(1) == 5
    assert [s.output for s in spans] == [5]
    traced.extra = "x"
    del traced.extra
    assert not hasattr(original, "extra")

    @observe
    class Config:
        level = 1

    Config.level = 3  # a class setting, through the decorated class
    assert Config().level == 3
