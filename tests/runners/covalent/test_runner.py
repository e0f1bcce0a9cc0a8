"""The Covalent runner against a real Covalent server: relax, cancel, a hung server, reattach.

States are read from the manager's change events, what a cancel killed from the process
table, Covalent's own view from its server.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import psutil
import pytest
from ase.build import bulk

from crystalwidgets import JobManager, JobState
from crystalwidgets.errors import ProfileError
from crystalwidgets.jobs.summary import summarise
from crystalwidgets.profiles import ProfileStore
from crystalwidgets.runners.covalent.profiles import CovalentProfile
from crystalwidgets.runners.covalent.dispatch import dispatch, failure_text
from crystalwidgets.runners.covalent.server import statuses
from tests.helpers import states_seen, summary_core, wait_until
from tests.runners.covalent.jobs import busy_job
from tests.runners.covalent.support import HAVE_COVALENT, NO_COVALENT, SilentServer

pytestmark = pytest.mark.skipif(not HAVE_COVALENT, reason=NO_COVALENT)

#: The first job of an executor worker imports quacc (and Covalent's pool starts): slow.
FIRST_JOB_S = 120


@pytest.fixture
def profiles(cw_home, covalent_server):
    store = ProfileStore()
    store.save(CovalentProfile(name="cov", server_address=covalent_server, call_timeout_s=5))
    return store


@pytest.fixture
def mgr(profiles):
    """A manager whose own monitor ticks only every 5 s: quick updates come from the runner."""
    mgr = JobManager(monitor_interval=5.0)
    yield mgr
    mgr.close()


def _marker_pids(marker: Path) -> tuple[int, int]:
    job_pid, child_pid = marker.read_text().split()
    return int(job_pid), int(child_pid)


def test_emt_relax_end_to_end(mgr, covalent_server, tmp_path):
    from quacc import change_settings
    from quacc.recipes.emt.core import relax_job

    seen = states_seen(mgr)
    completed_at: list[float] = []
    mgr.subscribe(lambda ch: completed_at.extend(time.time() for f in ch.values() if f.get("state") == "completed"))
    cu = bulk("Cu", cubic=True) * (2, 1, 1)
    cu.rattle(0.05, seed=3)
    job = mgr.submit(cu, "emt.relax_job", "cov", relax_cell=False)
    rec = mgr.wait([job.id], timeout=FIRST_JOB_S)[0]

    assert rec.state is JobState.COMPLETED, rec.error
    assert rec.runner == "covalent"
    assert seen[job.id] == ["pending", "running", "completed"]
    with change_settings({"RESULTS_DIR": tmp_path / "direct"}):
        direct = summarise(relax_job(cu, relax_cell=False))
    assert summary_core(rec.summary) == summary_core(direct)
    # quacc's files are in the job's work dir, not in Covalent's package dir
    assert list(Path(rec.work_dir).glob("quacc-*/opt.traj*"))
    import covalent_ui

    assert not list(Path(covalent_ui.__file__).parent.glob("quacc-*"))
    ref = rec.engine_ref
    assert ref["server"] == covalent_server and ref["dispatch_id"]
    assert ref["pid"] == ref["pgid"] != ref["worker_pid"]  # the job ran in a process group of its own
    # the table heard of the end within a second of the job's end (the manager's own tick is 5 s)
    finished = rec.summary["wall_time_s"] + rec.started
    assert completed_at and completed_at[0] - finished < 1.0, completed_at[0] - finished
    assert wait_until(
        lambda: statuses(covalent_server, [ref["dispatch_id"]], 5).get(ref["dispatch_id"]) == "COMPLETED",
        30,
        "Covalent to say COMPLETED",
    )


def test_cancel_pending_never_starts_and_running_is_killed(mgr, covalent_server, tmp_path):
    seen = states_seen(mgr)
    cu = bulk("Cu")
    n = os.cpu_count() or 1  # the local executor's process pool has a worker per core
    markers = [tmp_path / f"busy{i}" for i in range(n)]
    busy = [mgr.submit(cu, busy_job, "cov", seconds=300, marker=str(m)) for m in markers]
    wait_until(
        lambda: all(mgr.get(j.id).state is JobState.RUNNING for j in busy) and all(m.exists() for m in markers),
        FIRST_JOB_S,
        "every executor worker busy",
    )
    pending = mgr.submit(cu, busy_job, "cov", seconds=300, marker=str(tmp_path / "never"))
    wait_until(lambda: (mgr.get(pending.id).engine_ref or {}).get("dispatch_id"), 30, "the third job dispatched")
    time.sleep(1.0)
    assert mgr.get(pending.id).state is JobState.PENDING  # no worker is free: it waits

    refs = [mgr.get(j.id).engine_ref for j in busy]
    pids = [_marker_pids(m) for m in markers]
    for ref, (job_pid, child_pid) in zip(refs, pids):
        assert ref["pid"] == job_pid and psutil.Process(child_pid).ppid() == job_pid
        assert os.getpgid(job_pid) == job_pid == os.getpgid(child_pid)
    workers = [psutil.Process(ref["worker_pid"]) for ref in refs]

    t0 = time.monotonic()
    mgr.cancel(pending.id)
    assert mgr.wait([pending.id], timeout=2)[0].state is JobState.CANCELLED
    for job in busy:
        mgr.cancel(job.id)
    done = mgr.wait([j.id for j in busy], timeout=15)
    took = time.monotonic() - t0
    assert [r.state for r in done] == [JobState.CANCELLED] * n, [r.error for r in done]
    assert took < 8, took
    # ps: the jobs' processes and what they started are gone; the executor's workers live on
    for job_pid, child_pid in pids:
        assert not psutil.pid_exists(job_pid) or psutil.Process(job_pid).status() == psutil.STATUS_ZOMBIE
        assert not psutil.pid_exists(child_pid) or psutil.Process(child_pid).status() == psutil.STATUS_ZOMBIE
    assert all(w.is_running() for w in workers)
    for job in busy:
        assert seen[job.id] == ["pending", "running", "cancelled"]
    assert seen[pending.id] == ["pending", "cancelled"]
    # the workers are free now: the cancelled pending job still never starts
    time.sleep(2.0)
    assert not (tmp_path / "never").exists()
    assert not (Path(mgr.get(pending.id).work_dir) / "cw-started.json").exists()
    # Covalent took the cancel at once but says CANCELLED only once each electron returned
    # (measured: RUNNING until then), i.e. after the job's process was killed
    ids = [mgr.get(j.id).engine_ref["dispatch_id"] for j in [*busy, pending]]
    wait_until(
        lambda: set(statuses(covalent_server, ids, 5).values()) == {"CANCELLED"},
        30,
        "Covalent to say CANCELLED for every dispatch",
    )


def test_a_server_that_never_answers_never_blocks_the_kernel(cw_home):
    """A server that accepts connections and sends nothing: refused at submit, or failed in time."""
    store = ProfileStore()
    silent = SilentServer()
    half = SilentServer(answer=1)  # answers the pre-flight probe, then hangs on the dispatch
    store.save(CovalentProfile(name="hung", server_address=silent.address, call_timeout_s=1))
    store.save(CovalentProfile(name="half", server_address=half.address, call_timeout_s=1))
    mgr = JobManager(monitor_interval=0.5)
    try:
        t0 = time.monotonic()
        with pytest.raises(ProfileError) as err:
            mgr.submit(bulk("Cu"), "emt.static_job", "hung")
        assert time.monotonic() - t0 < 2
        assert "server_address" in str(err.value) and "sent no answer within 1 s" in str(err.value)
        assert mgr.jobs() == []  # refused before anything was recorded

        t0 = time.monotonic()
        job = mgr.submit(bulk("Cu"), "emt.static_job", "half")
        assert time.monotonic() - t0 < 0.5
        assert mgr.get(job.id).state is JobState.PENDING  # the kernel answers while the dispatch hangs
        rec = mgr.wait([job.id], timeout=10)[0]
        took = time.monotonic() - t0
        assert rec.state is JobState.FAILED
        assert f"the Covalent server at {half.address} did not answer the dispatch within 3 s" in rec.error
        assert took < 6, took
    finally:
        mgr.close()
        silent.close()
        half.close()
    # the abandoned client call ends once the server lets go of its connection
    wait_until(
        lambda: not [t for t in threading.enumerate() if t.name.startswith("cw-covalent-the dispatch")],
        10,
        "the dispatch thread to end",
    )


def test_a_new_manager_reattaches_a_running_dispatch(profiles, covalent_server, tmp_path):
    marker = tmp_path / "run"
    first = JobManager(monitor_interval=5.0)
    job = first.submit(bulk("Cu"), busy_job, "cov", seconds=8, marker=str(marker))
    rec = wait_until(
        lambda: (r := first.get(job.id)).state is JobState.RUNNING and marker.exists() and r,
        FIRST_JOB_S,
        "the job running",
    )
    ref = rec.engine_ref
    first.close()  # the kernel goes; the dispatch goes on
    assert psutil.pid_exists(ref["pid"])

    second = JobManager(monitor_interval=5.0)
    try:
        seen = states_seen(second)
        again = second.get(job.id)
        assert again.state is JobState.RUNNING and again.owner == second.owner
        done = second.wait([job.id], timeout=60)[0]
        assert done.state is JobState.COMPLETED, done.error
        assert seen[job.id] == ["completed"]
        assert done.engine_ref["dispatch_id"] == ref["dispatch_id"]
        assert _marker_pids(marker)[0] == ref["pid"]  # the same run, not a second one
    finally:
        second.close()


def test_a_failed_dispatch_is_told_with_covalent_s_error_text(covalent_server, tmp_path):
    """The electron itself fails (here: its work dir does not exist): Covalent's error is read back."""
    missing = tmp_path / "no-such-dir"
    did = dispatch(covalent_server, "local", str(missing), "job-x", 30)
    wait_until(lambda: statuses(covalent_server, [did], 5)[did] == "FAILED", 60, "the dispatch to fail")
    text = failure_text(covalent_server, did, 10, str(tmp_path / "results"))
    assert "No such file or directory" in text and str(missing) in text
