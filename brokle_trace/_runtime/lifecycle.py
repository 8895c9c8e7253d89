"""Lifecycle: the process's pipeline, from ``configure()`` or the first span to exit and fork.

``configure`` validates through :mod:`config` first, so a bad option changes nothing; then
the pipeline is swapped whole and the hot-path state pointed at it. Without ``configure``
the first span builds the default pipeline from the environment, where a value that does
not parse only warns (that happens inside a user's call and must not raise).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

from brokle_trace import capture
from brokle_trace._export.convert import Resource
from brokle_trace._export.pipeline import DROP_REASONS, Pipeline
from brokle_trace._runtime import config as _config
from brokle_trace._runtime import env as _env
from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime import state as _state
from brokle_trace._trace import otel as _otel
from brokle_trace._trace import span as _span
from brokle_trace.llm import _cost
from brokle_trace.typing import Exporter

__all__ = ["configure", "current_pipeline", "ensure_configured", "flush", "shutdown", "stats"]

_lock = threading.RLock()
_pipeline: Pipeline | None = None
_settings: _config.Settings | None = None
_atexit_registered = False
#: ``_state.started`` when the pipeline was installed: stats() counts from there, like every
#: other counter (a lock-free itertools.count cannot be reset in place).
_started_base = 0


def configure(**options: Any) -> None:
    """Configure tracing for this process; call once at start-up.

    Takes the general options (``service_name``, ``environment``, ``release``, ``exporter``
    ("jsonl", "console", "otlp", "none" or a list), ``exporters`` (your own objects),
    ``traces_file``, ``enabled``, queue and batch sizes) and the capture options
    (``max_string_length``, ``max_items``, ``redact`` and friends). Anything not given is
    read from ``BROKLE_<OPTION>`` environment variables, then defaults.

    Raises ``ConfigError`` naming the option and the fix. Calling it again replaces the
    configuration; spans already queued are flushed to the old exporters first.

    Example:
        >>> import brokle_trace
        >>> brokle_trace.configure(service_name="docs-demo", exporter="none")
    """
    settings, cap_settings = _config.validate(options)
    exporters = _config.build_exporters(settings)
    with _lock:
        _install(settings, cap_settings, exporters)


def _install(
    settings: _config.Settings, cap_settings: capture.CaptureSettings, exporters: list[Exporter]
) -> None:
    global _pipeline, _settings, _atexit_registered
    old = _pipeline
    _reset_counters()
    _otel.install()
    pipeline = Pipeline(
        exporters,
        capture_settings=cap_settings,
        resource=Resource(settings.service_name, settings.environment, settings.release),
        max_queue_size=settings.max_queue_size,
        max_batch_size=settings.max_export_batch_size,
        schedule_delay=settings.schedule_delay,
        max_queue_bytes=settings.max_queue_bytes,
        max_batch_bytes=settings.max_export_batch_bytes,
        exporter_timeout=settings.exporter_timeout,
        sample_rate=settings.sample_rate,
    )
    _span.set_sample_rate(settings.sample_rate)
    _cost.set_user_prices(settings.prices)
    _settings = settings
    _pipeline = pipeline
    _state.set_capture_settings(cap_settings)
    _state.set_capture_defaults(settings.capture_inputs, settings.capture_outputs)
    _errors.strict = settings.strict
    _state.enqueue = pipeline.enqueue
    _state.enqueue_record = pipeline.enqueue_record
    _state.count_sampled_out = pipeline.counters.count_sampled_out
    _state.enabled = settings.enabled
    if settings.otel_global:
        from brokle_trace._trace.provider import install_global

        install_global()
    if not _atexit_registered:
        atexit.register(_at_exit)
        _atexit_registered = True
    if old is not None:
        old.shutdown(settings.shutdown_timeout)


def _reset_counters() -> None:
    # Every counter stats() reports starts at zero with a new pipeline (whose drop and export
    # counters are new), so started == exported + dropped holds from here on.
    global _started_base
    _started_base = _state.count_of(_state.started)
    _errors.reset_counts()
    capture.reset_counters()


_announced = False


def announce_default(settings: _config.Settings, environ: Mapping[str, str]) -> None:
    """Say once per process, on stderr, where zero-configuration spans go and how to see them.

    Silent after any explicit configuration: a ``configure()`` call never gets here, and any
    ``BROKLE_*`` variable (``BROKLE_QUIET=1`` among them) counts as configuring. Never raises.
    """
    global _announced
    if _announced:
        return
    _announced = True
    if any(name.startswith("BROKLE_") for name in environ) or "jsonl" not in settings.exporter:
        return
    path = settings.traces_file
    shown = str(path) if path.is_absolute() else os.path.join(".", path)
    with contextlib.suppress(OSError, ValueError, AttributeError):  # closed or missing stderr
        print(
            f"brokle_trace: writing spans to {shown} — view them with: brokle-trace view",
            file=sys.stderr,
            flush=True,
        )


def ensure_configured() -> None:
    """Build the default pipeline on first use, from the environment; never raises."""
    with _lock:
        if _pipeline is not None:
            return
        # Each variable stands alone; a broken exporter is replaced by a stand-in that
        # counts its spans (see env.py), never by a default destination.
        settings, exporters = _env.from_environment(os.environ)
        _install(settings, capture.CaptureSettings(), exporters)
        announce_default(settings, os.environ)


def current_pipeline() -> Pipeline:
    """The process's pipeline, building the default one if needed."""
    ensure_configured()
    assert _pipeline is not None
    return _pipeline


def flush(timeout: float = 5.0) -> bool:
    """Export every span that ended before this call. False if ``timeout`` (s) ran out.

    Example:
        >>> import brokle_trace
        >>> brokle_trace.flush(timeout=1.0)
        True
    """
    try:
        return current_pipeline().flush(timeout)
    except Exception as exc:
        _errors.internal_error("flush", exc)
        return False


def shutdown(timeout: float = 5.0) -> bool:
    """Flush, stop the worker, close exporters. Idempotent; later spans are counted as dropped.

    Example:
        >>> import brokle_trace
        >>> brokle_trace.shutdown(timeout=1.0)
        True
    """
    with _lock:
        pipeline = _pipeline
        if pipeline is None:
            return True
        _state.enqueue = _drop_after_shutdown
    try:
        return pipeline.shutdown(timeout)
    except Exception as exc:
        _errors.internal_error("shutdown", exc)
        return False


def _drop_after_shutdown(span: object) -> None:
    if _pipeline is not None:
        _pipeline.drop("shutdown", 1)


def stats() -> dict[str, Any]:
    """Counters for this process: started, exported, dropped by reason, failures, queue depth.

    Example:
        >>> import brokle_trace
        >>> sorted(brokle_trace.stats())[:3]
        ['capture', 'dropped', 'export_failures']
    """
    pipeline = _pipeline
    base: dict[str, Any] = (
        pipeline.stats()
        if pipeline is not None
        else {
            "exported": 0,
            "export_failures": 0,
            "dropped": dict.fromkeys(DROP_REASONS, 0),
            "queue_depth": 0,
        }
    )
    base["started"] = _state.count_of(_state.started) - _started_base
    base["internal_errors"] = _errors.error_counts()
    base["capture"] = capture.counters()
    base["unpriced_models"] = _cost.unpriced_models()
    return base


def _at_exit() -> None:
    settings = _settings
    timeout = settings.shutdown_timeout if settings is not None else 2.0
    with contextlib.suppress(Exception):  # interpreter teardown: nothing left to tell
        shutdown(timeout)


def _after_fork_in_child() -> None:
    # The parent's queue, worker thread and connections are not ours: start clean, with the
    # same settings, and never re-export what the parent had queued.
    global _pipeline, _lock
    _lock = threading.RLock()
    _errors.reset_after_fork()
    # The parent's snapshots (its queue, its worker's batch) are never freed here: their
    # pinned strings must not count against the child's budget, nor its lock stay taken.
    _state.capture_settings._compiled.pins.reset()
    old = _pipeline
    if old is None or _settings is None:
        return
    exporters: list[Exporter] = []
    for exporter in old.exporters:
        hook = getattr(exporter, "after_fork", None)
        if hook is None:
            exporters.append(exporter)
            continue
        try:
            exporters.append(hook() or exporter)
        except Exception as exc:
            _errors.internal_error("exporter after_fork", exc)
    _pipeline = None
    _install(_settings, _state.capture_settings, exporters)


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _enqueue_unconfigured(span: Any) -> None:
    # First span of the process: build the default pipeline, then hand over.
    ensure_configured()
    _state.enqueue(span)


def _enqueue_record_unconfigured(record: tuple[object, ...]) -> None:
    ensure_configured()
    _state.enqueue_record(record)


def _count_sampled_out_unconfigured() -> None:
    ensure_configured()
    _state.count_sampled_out()


def _flush_root() -> None:
    settings = _settings
    flush(settings.shutdown_timeout if settings is not None else 2.0)


_state.enqueue = _enqueue_unconfigured
_state.enqueue_record = _enqueue_record_unconfigured
_state.count_sampled_out = _count_sampled_out_unconfigured
_state.flush_root = _flush_root
_state.flush = flush
