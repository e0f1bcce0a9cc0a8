"""The Dask runner's ``dask-slurm`` kind (dask-jobqueue) against the real local Slurm.

What was submitted, killed and left behind is read from Slurm (squeue) and the process
table (ps). Every test ends with no block of its own in squeue.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest
from ase.build import bulk

from crystalwidgets import JobManager, JobState
from crystalwidgets.errors import ProfileError
from crystalwidgets.profiles import ProfileStore
from crystalwidgets.runners.dask.profiles import DaskSlurmProfile
from tests.helpers import ROOT, states_seen, wait_until
from tests.runners.cancel import cancel_pending_and_running
from tests.runners.jobs import looping_job
from tests.runners.slurm import slurm_problem, squeue

pytestmark = pytest.mark.slurm
pytest.importorskip("dask_jobqueue")

_LABELS: set[str] = set()


def _blocks() -> list[dict[str, str]]:
    """This module's Dask blocks queued or running now (named after their cluster's label)."""
    return [j for j in squeue() if j["name"] in _LABELS]


@pytest.fixture(scope="module")
def slurm():
    problem = slurm_problem()
    if problem:
        pytest.skip(problem)
    yield
    wait_until(lambda: not _blocks(), 30, f"squeue empty of this module's blocks, still: {_blocks()}", 0.5)


def _profile(**kw):
    base = dict(name="ds", partition="debug", walltime="00:10:00", cores=2, processes=1, memory="2GB",
                address="127.0.0.1")
    return DaskSlurmProfile(**{**base, **kw})


@pytest.fixture
def smgr(cw_home, slurm):
    ProfileStore().save(_profile())
    mgr = JobManager(monitor_interval=0.5)
    yield mgr
    mgr.close()
    assert not _blocks(), f"close() returned with blocks still in Slurm: {_blocks()}"


def _label(mgr, profile="ds"):
    label = mgr.runner(profile).health()["label"]
    _LABELS.add(label)
    return label


def test_emt_relax_on_dask_slurm_runs_in_a_slurm_block(smgr, cw_home):
    seen = states_seen(smgr)
    cu = bulk("Cu", cubic=True)
    cu.rattle(0.05, seed=4)
    job = smgr.submit(cu, "emt.relax_job", "ds", relax_cell=False)
    label = _label(smgr)
    (rec,) = smgr.wait([job.id], timeout=180)
    assert rec.state is JobState.COMPLETED, rec.error
    assert seen[job.id] == ["pending", "running", "completed"]
    slurm_id = rec.engine_ref["slurm_job_id"]
    assert [b["id"] for b in _blocks()] == [slurm_id]  # the block is a Slurm job named after the cluster
    assert rec.summary["converged"] is True and rec.summary["n_atoms"] == 4
    # the scheduler listens where every user of the cluster can reach it: TLS only, with
    # throw-away certificates in a private dir
    assert rec.engine_ref["worker"].startswith("tls://"), rec.engine_ref
    certs = list((cw_home / "runners" / "ds" / "dask" / "tls").rglob("*"))
    assert certs and all(p.stat().st_mode & 0o077 == 0 for p in certs), [oct(p.stat().st_mode) for p in certs]
    health = smgr.runner("ds").health()
    wait_until(lambda: smgr.runner("ds").blocks(), 10, "the block seen by the monitor")
    assert [(b["job_id"], b["state"]) for b in smgr.runner("ds").blocks()] == [(slurm_id, "RUNNING")]
    assert health["label"] == label


def test_dask_slurm_cancel_pending_and_running_spares_the_block(smgr, tmp_path):
    def block_running(ref):
        (block,) = [b for b in squeue() if b["id"] == ref["slurm_job_id"]]
        assert block["state"] == "RUNNING"

    job = smgr.submit(bulk("Cu"), looping_job, "ds", seconds=0.1)
    _label(smgr)
    assert smgr.wait([job.id], timeout=180)[0].state is JobState.COMPLETED  # a block is up
    cancel_pending_and_running(smgr, "ds", tmp_path, block_running)


def test_a_worker_block_cancelled_outside_shows_slurms_word_and_the_job_is_retried(smgr, tmp_path):
    seen = states_seen(smgr)
    job = smgr.submit(bulk("Cu"), looping_job, "ds", seconds=8, marker=str(tmp_path / "run"))
    _label(smgr)
    first = wait_until(
        lambda: (r := smgr.get(job.id)).state is JobState.RUNNING and (tmp_path / "run").exists() and r,
        180, "the job running in a block",
    ).engine_ref
    subprocess.run(["scancel", first["slurm_job_id"]], check=True, timeout=15)
    t0 = time.monotonic()
    lost = wait_until(lambda: (r := smgr.get(job.id)).error and r, 20, "the row saying the worker was lost")
    assert time.monotonic() - t0 < 10  # within a few monitor ticks
    assert lost.error.startswith(f"its Dask worker (pid {first['pid']} on ") and (
        f"its Slurm job {first['slurm_job_id']} ended (CANCELLED" in lost.error
    ), lost.error
    assert lost.error.endswith("Dask reruns the job on another worker")
    rerun = wait_until(
        lambda: (r := smgr.get(job.id)).error.startswith("retried") and r, 180, "the rerun in a new block"
    )
    assert rerun.error.startswith("retried (run 2): its Dask worker (pid"), rerun.error
    assert not psutil.pid_exists(first["pid"]) or psutil.Process(first["pid"]).status() == psutil.STATUS_ZOMBIE
    (done,) = smgr.wait([job.id], timeout=180)
    assert done.state is JobState.COMPLETED, done.error
    assert done.engine_ref["slurm_job_id"] != first["slurm_job_id"]  # a new block ran it
    assert seen[job.id] == ["pending", "running", "completed"]


def test_dask_slurm_check_uses_the_shared_slurm_checks(cw_home, slurm):
    problems = _profile(partition="nope").check()
    assert problems and problems[0].startswith("partition: Slurm has no partition 'nope'")
    (too_long,) = _profile(partition="short", walltime="00:30:00").check()
    assert too_long.startswith("walltime: 00:30:00 is over partition short's MaxTime 00:10:00; ")
    (too_wide,) = _profile(cores=64).check()
    assert too_wide.startswith("cores: 64 is more than the 2 cores of a node of partition debug")
    ProfileStore().save(_profile(name="bad", partition="nope"))
    mgr = JobManager()
    try:
        with pytest.raises(ProfileError, match="Slurm has no partition 'nope'"):
            mgr.submit(bulk("Cu"), "emt.static_job", "bad")
        assert mgr.jobs() == []
    finally:
        mgr.close()


_KERNEL = """
import sys, time
sys.path.insert(0, {tests!r})
from ase.build import bulk
from crystalwidgets import JobManager
from tests.runners import jobs as t

if __name__ == "__main__":
    mgr = JobManager(monitor_interval=0.2)
    running = mgr.submit(bulk("Cu"), t.looping_job, "ds", seconds=8, marker={marker!r})
    waiting = mgr.submit(bulk("Cu"), t.looping_job, "ds", seconds=8)
    print(running.id, waiting.id, flush=True)
    while mgr.get(running.id).state.value != "running":
        time.sleep(0.05)
    print(mgr.runner("ds").health()["label"], flush=True)
    time.sleep(120)  # killed here
"""


def test_a_dead_kernels_dask_slurm_jobs_are_recovered_or_orphaned_and_its_block_leaves(cw_home, slurm, tmp_path):
    """The kernel holding a dask-slurm cluster's scheduler is SIGKILLed mid-job: the job
    process finishes the running job on the block (recovered by the next manager), the job
    that waited is orphaned with the reason, and the block leaves Slurm on its own (its
    worker loses the scheduler) without anyone cancelling it."""
    ProfileStore().save(_profile(cores=1))
    script = tmp_path / "kernel.py"
    script.write_text(_KERNEL.format(tests=str(ROOT), marker=str(tmp_path / "run")))
    kernel = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        running, waiting = kernel.stdout.readline().split()
        label = kernel.stdout.readline().strip()
        assert label, "the kernel printed no cluster label"
        _LABELS.add(label)
        blocks = [j["id"] for j in _blocks()]
        assert blocks, "no block of the kernel's cluster in squeue"
    finally:
        kernel.kill()
        kernel.wait(10)
    mgr = JobManager(monitor_interval=0.5)
    try:
        assert mgr.get(running).state is JobState.RUNNING, mgr.get(running).error  # its job process: watched
        waited = mgr.get(waiting)
        assert waited.state is JobState.ORPHANED
        assert "it was waiting in the Dask cluster of a kernel that ended" in waited.error, waited.error
        (rec,) = mgr.wait([running], timeout=60)
        assert rec.state is JobState.COMPLETED, rec.error
        # nobody scancels it: the block's worker loses the dead kernel's scheduler and ends
        wait_until(lambda: not [j for j in squeue() if j["id"] in blocks], 150,
                   f"the dead kernel's block {blocks} to leave Slurm", 1.0)
        assert mgr.leftover_blocks() == []  # nothing for the user to clean up
    finally:
        mgr.close()
        subprocess.run(["scancel", *blocks], timeout=30)
