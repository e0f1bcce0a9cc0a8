"""Run code on the kernel's asyncio loop from worker threads: one helper, with a fallback.

Widgets change their traits on the kernel's loop, so results computed in worker threads
(a profile check, the recipe availability, changes from other kernels) are handed to it.
A loop can be registered and never run callbacks (a cell busy for minutes, or a loop some
library set as running and left): then the result is applied from the worker thread
after :data:`LOOP_GRACE_S`, exactly once, rather than never.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["LOOP_GRACE_S", "call_in_kernel", "running_loop"]

#: Seconds a callback may wait for the kernel's loop before it runs in the calling thread.
LOOP_GRACE_S = 0.25


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop running in this thread (the kernel's, in a notebook), or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def call_in_kernel(
    loop: asyncio.AbstractEventLoop | None,
    fn: Callable[..., Any],
    *args: Any,
    fallback_after: float | None = LOOP_GRACE_S,
) -> None:
    """Run ``fn(*args)`` once: on ``loop`` when it runs it in time, else in this thread.

    Without a loop (a script), or with a closed one, ``fn`` runs now. With
    ``fallback_after=None`` there is no fallback: the caller has its own (the event
    pump's dispatcher thread).
    """
    if loop is None or loop.is_closed():
        fn(*args)
        return
    lock = threading.Lock()
    done = False

    def once() -> None:
        nonlocal done
        with lock:
            if done:
                return
            done = True
        fn(*args)

    try:
        loop.call_soon_threadsafe(once)
    except RuntimeError:  # closed meanwhile (kernel shutting down)
        once()
        return
    if fallback_after is not None:
        timer = threading.Timer(fallback_after, once)
        timer.daemon = True
        timer.start()
