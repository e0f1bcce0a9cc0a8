"""The event pump: runner events queued from any thread, applied in order, never blocking.

Runners report transitions from their own threads (:meth:`EventPump.post`). The pump
applies them in batches (*drains*) on the kernel's asyncio loop, or on its own
dispatcher thread when there is no loop (a script) or when the loop does not run
callbacks (a cell busy for minutes; a loop registered but never run). Under a stream
of events a drain runs at most every :data:`DRAIN_GAP_S`; an event after a quiet spell
goes at once. What cannot call back is polled: a monitor task on the loop (or the
dispatcher) runs ``poll`` in a thread of its own, never two at a time, with a bounded
wait.

The pump knows nothing of jobs: ``apply(events)`` and ``poll()`` are the owner's.
What runners and the manager pass each other is declared here too: a job as a
runner sees it (:class:`Task`) and what a runner observed (:class:`JobEvent`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from .._loop import LOOP_GRACE_S, call_in_kernel, running_loop
from ..states import JobState

__all__ = ["DRAIN_GAP_S", "LOOP_GRACE_S", "NAP_S", "Emit", "EventPump", "JobEvent", "Task"]

log = logging.getLogger(__name__)

#: Under a stream of events, apply them at most this often (seconds): each drain is one
#: store transaction and one message per subscriber.
DRAIN_GAP_S = 0.01
#: The monitor's longest nap (seconds): how soon a changed poll interval applies.
NAP_S = 1.0


@dataclasses.dataclass(frozen=True)
class JobEvent:
    """A change a runner observed for one job.

    Parameters
    ----------
    job_id
        The job's id.
    state
        The new state, or None when only ``fields`` changed (e.g. a liveness check).
    fields
        Record fields to update: ``started``, ``finished``, ``error``, ``summary``,
        ``engine_ref``, ``last_checked``, ``reason``. Values must be JSON-able.
    at
        When the runner saw it (epoch seconds).
    """

    job_id: str
    state: JobState | None = None
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)
    at: float = dataclasses.field(default_factory=time.time)


@dataclasses.dataclass(frozen=True)
class Task:
    """A job as a runner sees it."""

    job_id: str
    work_dir: Path


Emit = Callable[[JobEvent], None]


E = TypeVar("E")


class EventPump(Generic[E]):
    """Apply posted events in order, in batches, off the posting threads.

    Parameters
    ----------
    apply
        Called with every event queued since the last drain (never empty), one call
        at a time, in posting order.
    poll
        Called every ``interval`` seconds in the poll thread (liveness checks).
    interval
        Seconds between polls.
    """

    def __init__(self, apply: Callable[[list[E]], None], poll: Callable[[], None], interval: float) -> None:
        self._interval = interval
        self._apply = apply
        self._poll = poll
        self._events: queue.SimpleQueue[E] = queue.SimpleQueue()
        self._drain_scheduled = False
        # post() runs in engine threads for every event: it only takes this small lock
        self._post_lock = threading.Lock()
        # one drain at a time, from taking events to telling subscribers: changes arrive in order
        self._drain_lock = threading.RLock()
        self.wakeup = threading.Event()
        self.closed = False
        self._poll_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cw-poll")
        self._polling: concurrent.futures.Future | None = None
        self._last_poll = time.monotonic()
        self._pending_since: float | None = None  # oldest event not applied yet
        self._last_drain = 0.0  # monotonic time the last drain began
        self.loop: asyncio.AbstractEventLoop | None = running_loop()
        self._loop_thread = threading.get_ident() if self.loop else None
        self._monitor_task: asyncio.Task | None = None
        if self.loop is not None:
            self._monitor_task = self.loop.create_task(self._monitor())
        self._dispatcher = threading.Thread(target=self._dispatch, name="cw-dispatch", daemon=True)
        self._dispatcher.start()

    @property
    def interval(self) -> float:
        """Seconds between polls; a new value applies within :data:`NAP_S`."""
        return self._interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        self._interval = seconds
        self.wakeup.set()  # the dispatcher works out its next deadline again

    # -- posting and applying -------------------------------------------------

    def post(self, event: E) -> None:
        """Thread-safe: queue ``event`` and get it applied soon."""
        self._events.put(event)
        with self._post_lock:
            if self._pending_since is None:
                self._pending_since = time.monotonic()
            schedule = self.loop is not None and not self._drain_scheduled
            self._drain_scheduled = self._drain_scheduled or schedule
        self.wakeup.set()
        if schedule:
            delay = self._last_drain + DRAIN_GAP_S - time.monotonic()
            if delay > 0:
                self.call_soon(self._drain_later, delay)
            else:
                self.call_soon(self.drain)

    def drain(self) -> None:
        """Apply every queued event now, in this thread."""
        with self._drain_lock:
            self._last_drain = time.monotonic()
            with self._post_lock:
                self._drain_scheduled = False
                self._pending_since = None
            events = []
            while True:
                try:
                    events.append(self._events.get_nowait())
                except queue.Empty:
                    break
            if events:
                self._apply(events)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold off drains (for changes applied from elsewhere, kept in order with events)."""
        with self._drain_lock:
            yield

    def on_loop_thread(self) -> bool:
        """True when called on the thread running the kernel's loop (which must not block)."""
        return self._loop_thread == threading.get_ident()

    def call_soon(self, fn: Callable[..., Any], *args: Any, fallback: bool = False) -> None:
        """Run ``fn(*args)`` on the kernel's loop, or right here when there is none.

        ``fallback``: run it from this thread too when the loop does not in time (see
        :func:`~crystalwidgets._loop.call_in_kernel`); drains need none, the dispatcher
        thread stands in for them.
        """
        loop = self.loop
        if loop is not None and loop.is_closed():
            self.loop = loop = None
        call_in_kernel(loop, fn, *args, fallback_after=LOOP_GRACE_S if fallback else None)

    def close(self) -> None:
        """Stop the monitor and the dispatcher; apply what is queued."""
        if self.closed:
            return
        self.closed = True
        if self._monitor_task is not None:
            self._monitor_task.cancel()
        self.wakeup.set()

    def shutdown(self) -> None:
        """After :meth:`close` and a last :meth:`drain`: release the poll thread."""
        self._poll_pool.shutdown(wait=False, cancel_futures=True)

    # -- internals ---------------------------------------------------------------

    def _drain_later(self, delay: float) -> None:
        """On the loop: drain after ``delay`` seconds (events keep coming: batch them)."""
        loop = self.loop
        if loop is None:  # the loop closed meanwhile
            self.drain()
        else:
            loop.call_later(delay, self.drain)

    def _poll_safely(self) -> None:
        try:
            self._poll()
        except Exception:
            log.exception("job monitor: poll failed")

    def _start_poll(self) -> concurrent.futures.Future | None:
        """Run one poll in the poll thread unless the previous one still runs."""
        if self._polling is not None and not self._polling.done():
            return None  # a runner is slow: never pile polls up
        self._last_poll = time.monotonic()
        try:
            self._polling = self._poll_pool.submit(self._poll_safely)
        except RuntimeError:  # shut down
            return None
        return self._polling

    async def _monitor(self) -> None:
        while not self.closed:
            # naps of at most NAP_S: a new interval (monitor_interval set from 3600 back to 1)
            # applies within one nap, not after the old interval ran out
            due = self._last_poll + self.interval - time.monotonic()
            await asyncio.sleep(min(max(due, 0.0), NAP_S))
            if self.closed or time.monotonic() - self._last_poll < self.interval:
                continue
            fut = self._start_poll()
            if fut is None:  # the last poll still runs: look again after a nap
                await asyncio.sleep(min(self.interval, NAP_S))
            else:
                try:
                    await asyncio.wait_for(asyncio.wrap_future(fut), self.interval * 4)
                except (asyncio.TimeoutError, Exception):
                    log.warning("job monitor: a poll took too long or failed", exc_info=True)

    def _dispatch(self) -> None:
        """Without a loop: apply events and poll. With one: step in only when it stalls."""
        while not self.closed:
            now = time.monotonic()
            deadline = self._last_poll + self.interval * (1 if self.loop is None else 2)
            pending = self._pending_since
            if self.loop is not None and pending is not None:
                deadline = min(deadline, pending + LOOP_GRACE_S)
            if self.wakeup.wait(max(0.0, deadline - now)):
                self.wakeup.clear()
            now = time.monotonic()
            pending = self._pending_since
            if self.loop is None:
                gap = self._last_drain + DRAIN_GAP_S - now
                if gap > 0 and not self.closed:
                    time.sleep(gap)  # events keep coming: let them gather into one drain
                self.drain()
            elif pending is not None and now - pending >= LOOP_GRACE_S:
                self.drain()
            if now - self._last_poll >= self.interval * (1 if self.loop is None else 2):
                self._start_poll()  # with a loop: its monitor task has not run for two intervals
