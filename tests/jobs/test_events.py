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


def test_a_shorter_interval_applies_at_once_in_a_loop_and_without_one():
    """monitor_interval set to an hour and back (the user stopped the checks, then restarted
    them): the polls come again within a nap, not an hour later."""
    import time

    from crystalwidgets.jobs.events import NAP_S

    def story(polls: list[float]) -> EventPump:  # a pump polling every 0.1 s, counting its polls
        return EventPump(lambda events: None, lambda: polls.append(time.monotonic()), interval=0.1)

    async def in_a_loop(polls: list[float], out: list[float]) -> None:
        pump = story(polls)
        try:
            while len(polls) < 2:
                await asyncio.sleep(0.02)
            pump.interval = 3600
            await asyncio.sleep(0.5)
            quiet = len(polls)
            t0 = time.monotonic()
            pump.interval = 0.1
            while len(polls) < quiet + 2 and time.monotonic() - t0 < 10:
                await asyncio.sleep(0.02)
            out.append(time.monotonic() - t0)
            out.append(quiet)
        finally:
            pump.close()
            pump.shutdown()

    polls: list[float] = []
    out: list[float] = []
    runner = threading.Thread(target=asyncio.run, args=(in_a_loop(polls, out),))
    runner.start()
    runner.join(30)
    took, quiet = out
    assert took < NAP_S + 1, took  # two polls again within a nap and a bit
    assert quiet <= 3  # while the interval was an hour, at most the poll in flight came

    polls = []  # without a loop: the dispatcher thread polls
    pump = story(polls)
    try:
        wait_until(lambda: len(polls) >= 2, 5, "the first polls")
        pump.interval = 3600
        time.sleep(0.5)
        quiet = len(polls)
        pump.interval = 0.1
        wait_until(lambda: len(polls) >= quiet + 2, NAP_S + 1, "the polls again")
    finally:
        pump.close()
        pump.shutdown()
