"""Lifecycle: the process's pipeline, from ``configure()`` or the first span to exit and fork.

``configure`` validates through :mod:`config` first, so a bad option changes nothing; then
the pipeline is swapped whole and the hot-path state pointed at it. Without ``configure``
the first span builds the default pipeline from the environment (:mod:`env`), where a
value that does not parse only warns (that happens inside a user's call and must not raise).

The end of the process (``atexit``, or a multiprocessing child finishing: :mod:`processes`)
goes through ``finish_process``: spans still open are ended and exported (:mod:`exit`),
then the pipeline is shut down within the exit timeout.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any, cast

from brokle_trace import capture
from brokle_trace._export.convert import Resource
from brokle_trace._export.pipeline import DROP_REASONS, Pipeline
from brokle_trace._runtime import config as _config
from brokle_trace._runtime import env as _env
from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime import exit as _exit
from brokle_trace._runtime import processes as _processes
from brokle_trace._runtime import state as _state
from brokle_trace._trace import clock as _clock
from brokle_trace._trace import otel as _otel
from brokle_trace._trace import span as _span
from brokle_trace.capture import _slow
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
#: Set while the process exits: spans the exit path ended, never enqueued twice.
_claims: _exit.Claims | None = None


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
) -> Pipeline:
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
        block_timeout=settings.queue_block_timeout if settings.on_queue_full == "block" else None,
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
        # Not the exit timeout: a re-configure must not wait 10 s for a dead collector.
        old.shutdown(_in_call_timeout(settings))
    return pipeline


def _reset_counters() -> None:
    # Every counter stats() reports starts at zero with a new pipeline (whose drop and export
    # counters are new), so started == exported + dropped holds from here on.
    global _started_base
    _started_base = _state.count_of(_state.started)
    _errors.reset_counts()
    capture.reset_counters()
    _slow.forget_all()  # and classes whose repr was slow are asked again (their counts restart)


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
    claims = _claims
    if claims is not None and claims.claimed(cast(Any, span)):
        return  # ended and exported by the exit path already
    if _pipeline is not None:
        _pipeline.drop("shutdown", 1)


def exit_timeout() -> float:
    """How long an exit flush may take (``shutdown_timeout``, or by the exporters)."""
    settings, pipeline = _settings, _pipeline
    configured = settings.shutdown_timeout if settings is not None else None
    return _exit.exit_timeout(configured, pipeline.exporters if pipeline is not None else [])


def finish_process() -> bool:
    """End the spans still open (marked), then shut down within the exit timeout.

    What the interpreter runs at exit, and a multiprocessing child when it finishes.
    """
    global _claims
    with _lock:
        pipeline = _pipeline
        if pipeline is None:
            return True
        if _claims is None:
            _claims = _exit.Claims(pipeline.enqueue)
            _state.enqueue = _claims.enqueue
        claims = _claims
    try:
        claims.end_open(_exit.open_spans())
    except Exception as exc:
        _errors.internal_error("end open spans at exit", exc)
    return shutdown(exit_timeout())


def stats() -> dict[str, Any]:
    """Counters for this process: started, exported, dropped by reason, failures, queue depth.

    ``started`` spans end up ``exported`` or in ``dropped`` (after a flush, ``started ==
    exported + sum(dropped)``), by reason:

    * ``queue_full``: the queue was at its count or byte bound when the span ended;
    * ``too_large``: the span alone is over the OTLP request cap, or refused by a 413;
    * ``export_failed``: an exporter failed, raised, timed out, rejected it, or the disk
      was full;
    * ``shutdown``: it ended after ``shutdown()``, or still waited at the shutdown deadline;
    * ``serialize_error``: it could not be converted or encoded, even with its text cleaned;
    * ``sampled_out``: its trace was not kept by ``sample_rate``;
    * ``exporter_unavailable``: it was meant for an exporter whose settings were broken.

    A span counts as exported when every exporter delivered it. ``exporters`` has each
    exporter's own ``exported``, ``dropped`` (``queue_full`` there: its share of the queue
    was full), ``queued`` and ``last_error``, for which the same sum holds. ``configure()``
    starts every counter afresh.

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
    with contextlib.suppress(Exception):  # interpreter teardown: nothing left to tell
        finish_process()


def _after_fork_in_child() -> None:
    # The parent's queue, worker thread and connections are not ours: start clean, with the
    # same settings, and never re-export what the parent had queued.
    global _pipeline, _lock, _claims
    _lock = threading.RLock()
    _claims = None
    _errors.reset_after_fork()
    # The parent's snapshots (its queue, its worker's batch) are never freed here: their
    # pinned strings must not count against the child's budget, nor its lock stay taken.
    _state.capture_settings._compiled.pins.reset()
    # Spans open at the fork are the parent's to end and export: the child never does.
    _exit.inherited_before_ns = _clock.time_ns()
    inherited = _open_chain()
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
    _install(_settings, _state.capture_settings, exporters).inherited.update(inherited)


def _open_chain() -> set[int]:
    """Ids of the spans open in the forking thread's context (the innermost and its
    ancestors): a child returning through them would end them a second time."""
    ids: set[int] = set()
    span = _span.current_span()
    while span is not None:
        ids.add(span._span_id)
        span = span._parent
    return ids


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
    # Inside the user's call (a serverless handler whose own timeout may be 3 s): the short
    # bound, not the exit timeout.
    flush(_in_call_timeout(_settings))


def _in_call_timeout(settings: _config.Settings | None) -> float:
    """``shutdown_timeout`` if set, else 2 s: for waits inside the user's own calls."""
    if settings is None or settings.shutdown_timeout is None:
        return _exit.LOCAL_EXIT_S
    return settings.shutdown_timeout


_state.enqueue = _enqueue_unconfigured
_state.enqueue_record = _enqueue_record_unconfigured
_state.count_sampled_out = _count_sampled_out_unconfigured
_state.flush_root = _flush_root
_state.flush = flush


def _finish_child() -> None:
    finish_process()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    # Before a fork, multiprocessing (if imported by then) learns to flush its children.
    os.register_at_fork(
        before=_processes.watch_multiprocessing, after_in_child=_after_fork_in_child
    )
_processes.finish = _finish_child
_processes.timeout = exit_timeout
_processes.watch_multiprocessing()
