"""multiprocessing children deliver their spans: Process targets and Pool workers alike.

A child started with ``fork`` or ``forkserver`` leaves through ``os._exit`` once its target
returns, so ``atexit`` never runs there: its spans used to be lost (0 of 300). Its last
steps are ``multiprocessing.util``'s own: the after-fork hooks before the target, the
finalizers after it. So, in every multiprocessing child:

* an after-fork hook (``util.register_after_fork``, registered as soon as multiprocessing
  is imported, and at the latest just before a fork) registers a finalizer
  (``util.Finalize``, exit priority 100: before the child's queues are closed) that ends
  the spans still open and flushes, bounded by the exit timeout;
* a Pool's workers are not asked to finish but terminated (``Pool.terminate``, which
  ``with Pool() as pool:`` calls on leaving the block) with SIGTERM: when SIGTERM still has
  its default action there, a handler does the same, on a helper thread it waits for at
  most the exit timeout, then restores the default action and kills the process with the
  same signal, so the parent sees the exit status it always saw.

``spawn`` children run ``atexit`` as well; the finalizer makes their flush earlier only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["watch_multiprocessing"]

#: Ends open spans and shuts the pipeline down within the exit timeout (set by lifecycle).
finish: Callable[[], None] = lambda: None  # noqa: E731 - replaced at import by lifecycle
#: The exit timeout in force (set by lifecycle).
timeout: Callable[[], float] = lambda: 2.0  # noqa: E731 - replaced at import by lifecycle


class _Anchor:
    """What ``register_after_fork`` keeps a weak reference to (it must stay alive)."""


_ANCHOR = _Anchor()
_registered = False


def watch_multiprocessing() -> None:
    """Hook into multiprocessing's child start-up, if multiprocessing is imported (once)."""
    global _registered
    if _registered:
        return
    util: Any = sys.modules.get("multiprocessing.util")
    if util is None:
        return
    _registered = True
    util.register_after_fork(_ANCHOR, _in_child)


def _in_child(anchor: object) -> None:
    # Runs in every multiprocessing child, before its target (and Pool workers' loop).
    util: Any = sys.modules["multiprocessing.util"]
    util.Finalize(None, _finish_quietly, exitpriority=100)
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
        try:
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):  # not the main interpreter, or no signals here
            pass


def _finish_quietly() -> None:
    with contextlib.suppress(Exception):  # the child is exiting: nothing left to tell
        finish()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # The main thread was interrupted somewhere, maybe holding a lock the flush needs: the
    # flush runs on a helper thread and is given up on after the exit timeout.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
    helper = threading.Thread(target=_finish_quietly, name="brokle-trace-sigterm", daemon=True)
    try:
        helper.start()
        helper.join(min(timeout(), 60.0) + 0.5)
    finally:
        os.kill(os.getpid(), signal.SIGTERM)
