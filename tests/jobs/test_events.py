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
    applied_on = []

    async def main() -> None:
        pump = EventPump(lambda events: applied_on.append(threading.get_ident()), lambda: None, interval=60)
        threading.Thread(target=pump.post, args=("x",)).start()
        for _ in range(100):
            if applied_on:
                break
            await asyncio.sleep(0.01)
        pump.close()
        pump.shutdown()

    asyncio.run(main())
    assert applied_on == [threading.get_ident()]


def test_after_shutdown_a_late_poll_is_skipped_not_raised():
    pump = EventPump(lambda events: None, lambda: None, interval=60)
    pump.close()
    pump.shutdown()
    assert pump._start_poll() is None  # the dispatcher's last look must not raise
