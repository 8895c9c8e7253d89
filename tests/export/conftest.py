"""Fixtures for the export tests: a loopback OTLP receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.export.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()
