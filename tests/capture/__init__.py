"""Tests of ``brokle_trace.capture`` (a package so file names cannot clash with core tests)."""
