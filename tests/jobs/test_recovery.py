"""A kernel dies; another opens the same store: nothing is silently lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
from ase.build import bulk

from crystalwidgets import JobManager, JobState
from tests import jobfuncs
from tests.helpers import ROOT, wait_until

# The "first kernel": submits jobs, prints their ids, then dies without any cleanup.
FIRST_KERNEL = textwrap.dedent(
    """
    import json, os, sys
    sys.path.insert(0, {root!r})
    from ase.build import bulk
    from crystalwidgets import JobManager
    from crystalwidgets.profiles import LocalProfile, ProfileStore
    from tests import jobfuncs

    ProfileStore().save(LocalProfile(name="two", max_workers=2))
    mgr = JobManager()
    ids = {{
        "quick": mgr.submit(bulk("Cu"), "emt.static_job", "two").id,
        "slow": mgr.submit(bulk("Cu"), jobfuncs.sleeping_job, "two", seconds=2,
                           marker={marker!r}, until={release!r}).id,
        "queued": mgr.submit(bulk("Al"), "emt.static_job", "two").id,
    }}
    print(json.dumps(ids), flush=True)
    os._exit(0)   # the kernel dies: no close(), no atexit
    """
)


def test_restart_recovers_reattaches_and_orphans(cw_home, tmp_path):
    marker = tmp_path / "slow-started"
    release = tmp_path / "slow-may-end"  # the slow job runs until the test says so
    code = FIRST_KERNEL.format(root=str(ROOT), marker=str(marker), release=str(release))
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ,
    )
    assert out.returncode == 0, out.stderr
    ids = json.loads(out.stdout.strip().splitlines()[-1])

    # the quick job finishes while no manager is alive; the slow one is still running
    from crystalwidgets.jobs.task import read_outcome

    home = Path(os.environ["CRYSTALWIDGETS_HOME"])
    wait_until(lambda: read_outcome(home / "results" / ids["quick"]) is not None, 60, "quick job")
    wait_until(marker.exists, 60, "slow job start")
    slow_pid = int(marker.read_text())
    assert psutil.pid_exists(slow_pid)

    mgr = JobManager(monitor_interval=0.5)
    try:
        quick, slow, queued = (mgr.get(ids[k]) for k in ("quick", "slow", "queued"))
        # finished while away: recovered with its summary
        assert quick.state is JobState.COMPLETED
        assert quick.summary["formula"] == "Cu" and quick.summary["energy_ev"] is not None
        # still running: reattached (owned by us now) and followed to the end
        assert slow.state is JobState.RUNNING and slow.owner == mgr.owner
        # queued in the dead kernel, never started: orphaned with a reason and a way out
        assert queued.state is JobState.ORPHANED
        assert "never ran" in queued.error and "resubmit" in queued.error

        release.touch()
        (slow,) = mgr.wait([slow.id], timeout=60)
        assert slow.state is JobState.COMPLETED and slow.summary["value"] == "2.0"
        assert slow.last_checked >= slow.finished - 1

        again = mgr.resubmit(queued.id)
        (again,) = mgr.wait([again.id], timeout=120)
        assert again.state is JobState.COMPLETED and again.summary["formula"] == "Al"
    finally:
        mgr.close()

    # a second process opening the same store sees every job
    seen = subprocess.run(
        [
            sys.executable,
            "-c",
            "from crystalwidgets import JobManager; m = JobManager(); "
            "print(sorted((r.id, r.state.value) for r in m.jobs())); m.close()",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert seen.returncode == 0, seen.stderr
    for job_id in ids.values():
        assert job_id in seen.stdout


def test_vanished_process_is_orphaned_with_reason(cw_home, tmp_path):
    marker = tmp_path / "started"
    mgr = JobManager()
    rec = mgr.submit(bulk("Cu"), jobfuncs.sleeping_job, seconds=60, marker=str(marker))
    wait_until(marker.exists, 60, "job start")
    pid = mgr.get(rec.id).engine_ref["pid"]
    mgr.close()  # the kernel goes away; the job keeps running...
    assert psutil.pid_exists(pid)
    os.killpg(pid, signal.SIGKILL)  # ...and is killed while nobody watches
    psutil.wait_procs([psutil.Process(pid)], timeout=5) if psutil.pid_exists(pid) else None

    with JobManager() as mgr2:
        rec = mgr2.get(rec.id)
        assert rec.state is JobState.ORPHANED
        assert f"pid {pid}" in rec.error and "left no result" in rec.error


def test_reused_pid_is_not_mistaken_for_the_job(cw_home, tmp_path):
    """A record whose pid now belongs to another process (different start time) is orphaned."""
    mgr = JobManager()
    rec = mgr.submit(bulk("Cu"), jobfuncs.sleeping_job, seconds=60, marker=str(tmp_path / "m"))
    wait_until((tmp_path / "m").exists, 60, "job start")
    real_pid = mgr.get(rec.id).engine_ref["pid"]
    mgr.close()
    os.killpg(real_pid, signal.SIGKILL)
    # point the record at a live process that is not the job (this test process)
    from crystalwidgets.jobs.store import JobStore

    store = JobStore(Path(os.environ["CRYSTALWIDGETS_HOME"]) / "jobs.sqlite")
    me = psutil.Process()
    store.update({rec.id: {"engine_ref": {"pid": me.pid, "create_time": me.create_time() + 100}}})
    store.close()
    with JobManager() as mgr2:
        assert mgr2.get(rec.id).state is JobState.ORPHANED
    assert psutil.pid_exists(me.pid)


def test_job_started_just_before_the_kernel_died_is_reattached(cw_home, tmp_path):
    """The kernel died after starting a job but before recording its pid: the next one finds it."""
    mgr = JobManager()
    rec = mgr.submit(bulk("Cu"), jobfuncs.sleeping_job, seconds=4, marker=str(tmp_path / "m"))
    wait_until((tmp_path / "m").exists, 60, "job start")
    pid = int((tmp_path / "m").read_text())
    mgr.close()
    # the "running" event (with the pid) never reached the store
    from crystalwidgets.jobs.store import JobStore

    store = JobStore(Path(os.environ["CRYSTALWIDGETS_HOME"]) / "jobs.sqlite")
    store.update({rec.id: {"state": JobState.PENDING, "engine_ref": None, "started": None}})
    store.close()
    with JobManager() as mgr2:
        again = mgr2.get(rec.id)
        assert again.state is JobState.RUNNING, again.error
        assert again.engine_ref["pid"] == pid
        (done,) = mgr2.wait([rec.id], timeout=60)
        assert done.state is JobState.COMPLETED and done.summary["value"] == "4.0"
