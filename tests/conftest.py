"""Shared fixtures: every test runs against a fresh in-memory pipeline, strict mode on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import brokle_trace
from brokle_trace._runtime import errors as _errors
from brokle_trace.testing import InMemoryExporter


@pytest.fixture(autouse=True)
def _quiet_pipeline() -> Iterator[None]:
    # No test writes a JSONL file into the working directory by accident.
    brokle_trace.configure(exporter="none", strict=True)
    yield
    _errors.strict = False


@pytest.fixture
def memory() -> InMemoryExporter:
    """An in-memory exporter installed as the only exporter (strict mode)."""
    exporter = InMemoryExporter()
    brokle_trace.configure(exporter="none", exporters=[exporter], strict=True)
    return exporter


@pytest.fixture
def lenient() -> Iterator[None]:
    """Internal errors are logged and counted instead of raised (the production behaviour)."""
    _errors.strict = False
    yield
    _errors.strict = True
