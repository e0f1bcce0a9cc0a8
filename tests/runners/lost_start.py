"""The story of a short job whose start message is lost or late (Parsl HTEX and Dask).

A worker engine hears of a start through its own channel (a message, a Dask event) and of
the end through the future; the two travel separately, so a short job can end first.
"""

from __future__ import annotations

import psutil
from ase.build import bulk

from crystalwidgets import JobState
from tests.helpers import states_seen
from tests.runners.jobs import noop_job


def ends_before_its_start_is_heard(mgr, profile: str, runner_cls: type, hearing: str, monkeypatch) -> dict:
    """Drop every start ``runner_cls.<hearing>`` hears, and its poll of the work dirs; a
    job on ``profile`` must still be told running before completed, naming its process and
    worker (from its work dir). Returns the record's ``engine_ref``."""
    monkeypatch.setattr(runner_cls, hearing, lambda self, msg: None)  # every start lost
    monkeypatch.setattr(runner_cls, "_check_started_files", lambda self: None)  # no poll finds it
    seen = states_seen(mgr)
    job = mgr.submit(bulk("Cu"), noop_job, profile)
    (rec,) = mgr.wait([job.id], timeout=90)
    assert rec.state is JobState.COMPLETED, rec.error
    assert seen[job.id] == ["pending", "running", "completed"]
    ref = rec.engine_ref
    assert ref["pid"] != ref["worker_pid"] and psutil.Process(ref["worker_pid"]).is_running()
    return ref
