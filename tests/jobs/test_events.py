"""The event pump alone: events from many threads applied in order, in batches, and polls."""

from __future__ import annotations

import asyncio
import threading

from crystalwidgets.jobs.events import EventPump
from tests.helpers import wait_until


def test_events_from_threads_arrive_in_order_in_batches_without_a_loop():
    batches: list[list[tuple[int, int]]] = []
    polls = []
    pump = EventPump(batches.append, lambda: polls.append(1), interval=0.05)
    try:

        def post(thread: int) -> None:
            for i in range(500):
                pump.post((thread, i))

        threads = [threading.Thread(target=post, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wait_until(lambda: sum(map(len, batches)) == 2000, 5, "every event applied")
        seen = [e for batch in batches for e in batch]
        for thread in range(4):  # each thread's events in its posting order
            assert [i for t, i in seen if t == thread] == list(range(500))
        assert len(batches) < 2000  # gathered into drains, not one call per event
        assert all(batches)  # never called with nothing
        wait_until(lambda: len(polls) >= 2, 5, "the poll every interval")
    finally:
        pump.close()
        pump.shutdown()


def test_with_a_running_loop_events_are_applied_on_the_loop_thread():
    """On the loop's thread; the dispatcher stands in only when the loop did not within the grace."""
    import time

    from crystalwidgets._loop import LOOP_GRACE_S

    applied: list[tuple[int, float]] = []
    posted: list[float] = []

    async def main() -> None:
        pump = EventPump(lambda events: applied.append((threading.get_ident(), time.monotonic())), lambda: None, 60)

        def post() -> None:
            posted.append(time.monotonic())
            pump.post("x")

        threading.Thread(target=post).start()
        for _ in range(1000):
            if applied:
                break
            await asyncio.sleep(0.01)
        pump.close()
        pump.shutdown()

    # a thread of its own: a browser test may have left a loop registered in this one
    runner = threading.Thread(target=asyncio.run, args=(main(),))
    runner.start()
    runner.join(30)
    [(thread, at)] = applied
    loop_thread = runner.ident
    assert thread == loop_thread or at - posted[0] >= LOOP_GRACE_S, (thread, at - posted[0])


def test_after_shutdown_a_late_poll_is_skipped_not_raised():
    pump = EventPump(lambda events: None, lambda: None, interval=60)
    pump.close()
    pump.shutdown()
    assert pump._start_poll() is None  # the dispatcher's last look must not raise
