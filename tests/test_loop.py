"""Results of worker threads reach the widgets even when the registered loop never runs.

A loop can be set as running and never run callbacks (Playwright's, after a browser
test in the same process; a cell busy for minutes). The widgets then used to wait for
ever: the picker's check stayed "running" for the whole 120 s timeout.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from crystalwidgets._loop import LOOP_GRACE_S, call_in_kernel
from crystalwidgets.profiles import ProfileStore


@pytest.fixture
def idle_loop():
    """A loop registered as running in this thread that nobody runs."""
    loop = asyncio.new_event_loop()
    asyncio.events._set_running_loop(loop)
    try:
        yield loop
    finally:
        asyncio.events._set_running_loop(None)
        loop.close()


def _from_a_thread(loop, fn) -> None:
    t = threading.Thread(target=call_in_kernel, args=(loop, fn))
    t.start()
    t.join()


def test_a_running_loop_runs_it_once_on_its_own_thread():
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    seen = []
    try:
        _from_a_thread(loop, lambda: seen.append(threading.current_thread() is runner))
        time.sleep(LOOP_GRACE_S * 3)  # past the fallback: it must not run a second time
        assert seen == [True]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join(5)
        loop.close()


def test_an_idle_loop_gets_it_run_from_the_thread_after_the_grace(idle_loop):
    seen = []
    t0 = time.monotonic()
    _from_a_thread(idle_loop, lambda: seen.append(time.monotonic() - t0))
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(seen) == 1 and LOOP_GRACE_S * 0.9 <= seen[0] < 3
    # the loop, should it run later, does not run it again
    asyncio.events._set_running_loop(None)
    idle_loop.run_until_complete(asyncio.sleep(0.05))
    assert len(seen) == 1


def test_no_loop_runs_it_now():
    seen = []
    call_in_kernel(None, seen.append, 1)
    assert seen == [1]


def test_the_pickers_check_finishes_under_an_idle_loop(cw_home, idle_loop):
    from crystalwidgets.widgets import ClusterPicker

    ProfileStore().save({"kind": "local", "name": "two", "max_workers": 2})
    picker = ClusterPicker(value="two")
    picker._handle_custom_msg({"kind": "check"}, [])
    deadline = time.monotonic() + 10
    while picker.check_result.get("state") == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert picker.check_result["state"] == "done", picker.check_result
    assert picker.check_result["problems"] == []


def test_the_forms_recipe_availability_arrives_under_an_idle_loop(idle_loop):
    from crystalwidgets.widgets import RecipeForm

    form = RecipeForm("emt.relax_job")
    deadline = time.monotonic() + 240  # one subprocess imports every recipe module
    while time.monotonic() < deadline:
        flags = {e["name"]: e.get("available") for e in form.catalogue}
        if flags.get("emt.relax_job") is not None:  # None until the subprocess answered
            break
        time.sleep(0.2)
    assert flags["emt.relax_job"] is True
    assert flags["emt.defects.bulk_to_defects_flow"] is False  # quacc's own import bug here
