"""Fixtures for the exporter tests: the loopback OTLP receiver of the export tests."""

from __future__ import annotations

from tests.export.conftest import receiver

__all__ = ["receiver"]
