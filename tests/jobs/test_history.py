"""A big store opens at once: the unfinished jobs now, the finished history in a thread.

What needs every job (``jobs()``, ``get`` of a finished one, ``wait()`` for all) waits for
the history, bounded; a job submitted or changed while it loads is neither lost nor
overwritten by the older copy read from disk; a history that cannot be read says so.
"""

from __future__ import annotations

import threading
import time

import pytest
from ase.build import bulk

from crystalwidgets import JobManager, JobState
from crystalwidgets.errors import CrystalWidgetsError
from crystalwidgets.jobs.store import JobRecord, JobStore
from tests.helpers import close_and_kill
from tests.widgets.test_table import seed


@pytest.fixture
def held_history(monkeypatch):
    """The history read waits until the test sets the returned event."""
    release = threading.Event()
    read = JobStore.records_apart

    def slow(store):
        records = read(store)
        assert release.wait(60), "the test never released the history"
        return records

    monkeypatch.setattr(JobStore, "records_apart", slow)
    return release


def test_open_does_not_wait_for_the_history_and_nothing_is_lost(cw_home, held_history):
    ids = seed(cw_home, 3000)
    store = JobStore(cw_home / "jobs.sqlite")  # one job still running when its kernel died
    store.insert(JobRecord.create(id="f" * 16, recipe="emt.static_job", profile="local",
                                  runner="local", state=JobState.RUNNING, created=time.time(),
                                  owner="elsewhere:1:1:dead", engine_ref={"pid": 999_999_999}))
    store.close()

    t0 = time.perf_counter()
    mgr = JobManager(monitor_interval=0.5)
    try:
        opened = time.perf_counter() - t0
        assert not mgr.history_loaded and opened < 5
        # the unfinished job was dealt with at open (its process is gone: orphaned)
        assert mgr.get("f" * 16).state in (JobState.ORPHANED, JobState.FAILED)
        new = mgr.submit(bulk("Cu"), "emt.static_job")  # submitting needs no history
        called = []
        mgr.when_history_loaded(lambda: called.append(mgr.history_loaded))

        held_history.set()
        every = mgr.jobs()  # waits for the history
        assert mgr.history_loaded and called == [True]
        assert [r.id for r in every] == [*ids, "f" * 16, new.id]  # store order, new job last
        assert mgr.get(ids[5]).label == "point 5"
        (done,) = mgr.wait([new.id], timeout=120)
        assert done.state is JobState.COMPLETED, done.error
        assert mgr.get("f" * 16).state is not JobState.RUNNING  # the older copy did not win
    finally:
        close_and_kill(mgr)


def test_a_history_that_cannot_be_read_says_so(cw_home, monkeypatch):
    seed(cw_home, 10)

    def broken(store):
        raise CrystalWidgetsError(f"job store {store.path}: could not read its jobs (disk I/O error)")

    monkeypatch.setattr(JobStore, "records_apart", broken)
    mgr = JobManager(monitor_interval=0.5)
    try:
        with pytest.raises(CrystalWidgetsError, match="could not load the finished jobs.*disk I/O error.*JobManager"):
            mgr.jobs()
        assert mgr.jobs(state=["pending", "running"]) == []  # what is followed still works
    finally:
        mgr.close()  # no job was started
