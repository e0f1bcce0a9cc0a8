"""The walltime of the Jupyter job ends: a kernel inside a real Slurm job is scancelled mid-run.

The "kernel" is a Python script started with ``sbatch`` (1 CPU, as batchspawner starts a
notebook server): it submits local jobs on the allocation's own cores (the built-in
``allocation`` profile) and a ``parsl-slurm`` job, then lives until the test scancels
its Slurm job. The next manager, outside, recovers what finished, reattaches what still
runs and orphans the rest, naming the ended allocation. What Slurm killed with the
allocation is read from the process table, never assumed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import psutil
import pytest

from crystalwidgets import JobManager, JobState
from crystalwidgets.runners.parsl import cleanup_leftovers
from tests.helpers import ROOT, close_and_kill, wait_until
from tests.runners.slurm import slurm_problem, squeue

pytestmark = pytest.mark.slurm

KERNEL = textwrap.dedent(
    """
    import json, os, sys, time
    sys.path.insert(0, {root!r})
    from ase.build import bulk
    from crystalwidgets import JobManager
    from crystalwidgets.profiles import ProfileStore
    from crystalwidgets.runners.parsl.profiles import ParslSlurmProfile
    from tests import jobfuncs

    ProfileStore().save(ParslSlurmProfile(
        name="slurm", partition="debug", walltime="00:05:00", exclusive=False, address="127.0.0.1",
        max_workers_per_node=1, cores_per_worker=1, max_idletime=30))
    mgr = JobManager(monitor_interval=0.5)
    alloc = mgr.profiles.allocation
    ids = {{
        # one core: these run one after another
        "quick": mgr.submit(bulk("Cu"), "emt.static_job", "allocation").id,
        "slow": mgr.submit(bulk("Cu"), jobfuncs.sleeping_job, "allocation", seconds=90,
                           marker={slow!r}).id,
        "queued": mgr.submit(bulk("Al"), "emt.static_job", "allocation").id,
        "block": mgr.submit(bulk("Cu"), jobfuncs.sleeping_job, "slurm", seconds=15,
                            marker={block!r}).id,
    }}
    info = {{"ids": ids, "job_id": alloc.job_id, "cpus": alloc.cpus, "end": alloc.end,
             "describe": alloc.describe(), "names": mgr.profiles.names(),
             "max_workers": mgr.profiles.get("allocation").max_workers}}
    with open({info!r} + ".tmp", "w") as fh:
        json.dump(info, fh)
    os.replace({info!r} + ".tmp", {info!r})
    while True:          # the notebook server lives until its walltime (here: scancel)
        time.sleep(1)
    """
)


def _proctrack() -> str:
    out = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=15).stdout
    return next((ln.split("=", 1)[1].strip() for ln in out.splitlines() if ln.startswith("ProctrackType")), "")


def _alive(pid: int | None) -> bool:
    """A running process (a killed one whose parent died too may linger as a zombie)."""
    try:
        return bool(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _pid(path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def test_kernel_in_a_cancelled_allocation(cw_home, tmp_path):
    problem = slurm_problem()
    if problem:
        pytest.skip(problem)
    slow, block, info_path = tmp_path / "slow-started", tmp_path / "block-started", tmp_path / "info.json"
    script = tmp_path / "kernel.py"
    script.write_text(KERNEL.format(root=str(ROOT), slow=str(slow), block=str(block), info=str(info_path)))
    out = subprocess.run(
        ["sbatch", "--parsable", "-p", "debug", "-c", "1", "-t", "00:05:00", "-J", "cw-test-kernel",
         "-o", str(tmp_path / "kernel.out"), "--wrap", f"{sys.executable} {script}"],
        capture_output=True, text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    job_id = out.stdout.strip().split(";")[0]
    pids: list[int] = []
    mgr = None
    try:
        def kernel_log() -> str:
            return (tmp_path / "kernel.out").read_text() if (tmp_path / "kernel.out").exists() else ""

        wait_until(info_path.exists, 120, f"the kernel in Slurm job {job_id} to submit (log: {kernel_log()})")
        info = json.loads(info_path.read_text())
        ids = info["ids"]
        # inside: the allocation is seen, with its cores and end, and offered as a profile
        assert info["job_id"] == job_id and info["cpus"] == 1 and info["end"] is not None
        assert info["describe"].startswith(f"this kernel runs in Slurm job {job_id} on node ")
        assert "1 core, ends at " in info["describe"]
        assert info["names"][:2] == ["local", "allocation"] and info["max_workers"] == 1
        wait_until(slow.exists, 120, f"the slow local job to start (log: {kernel_log()})")
        wait_until(block.exists, 120, f"the parsl-slurm job to start in its block (log: {kernel_log()})")
        pids = [p for p in (_pid(slow), _pid(block)) if p]

        subprocess.run(["scancel", job_id], check=True, timeout=30)
        wait_until(lambda: not squeue("-j", job_id), 60, f"Slurm job {job_id} to leave squeue", 0.25)
        if _proctrack() in ("proctrack/linuxproc", "proctrack/cgroup"):
            # Slurm kills the allocation's processes as the job ends, not before it leaves
            # squeue: under load the kill lands a moment later (bounded)
            try:
                wait_until(lambda: not _alive(_pid(slow)), 30, "Slurm to kill the local job's process", 0.1)
            except TimeoutError:
                pass  # asserted below, with the other outcomes
        slow_alive = _alive(_pid(slow))
        block_alive = _alive(_pid(block))
        print(f"after scancel: local job process alive={slow_alive}, block job process alive={block_alive}")

        mgr = JobManager(monitor_interval=0.5)
        recs = {k: mgr.get(v) for k, v in ids.items()}
        ended = f"its kernel ran in Slurm job {job_id} on "
        # finished before the end: recovered
        assert recs["quick"].state is JobState.COMPLETED, recs["quick"].error
        # the local job's process was started inside the allocation, and Slurm kills it with
        # the allocation: proctrack/linuxproc (this Slurm) follows the kernel's children even
        # in sessions of their own, proctrack/cgroup everything in the job's cgroup
        if _proctrack() in ("proctrack/linuxproc", "proctrack/cgroup"):
            assert not slow_alive
        if slow_alive:  # reattached: the new manager follows it (and here cancels it)
            assert recs["slow"].state is JobState.RUNNING, (recs["slow"].error, recs["slow"].engine_ref, _pid(slow))
            assert recs["slow"].owner == mgr.owner
            mgr.cancel(ids["slow"])
            (rec,) = mgr.wait([ids["slow"]], timeout=60)
            assert rec.state is JobState.CANCELLED
        else:  # orphaned, naming the allocation that ended
            assert recs["slow"].state is JobState.ORPHANED
            assert ended in recs["slow"].error and "which ended (CANCELLED) at " in recs["slow"].error
        # queued behind it on the allocation's one core: never ran, and says why
        assert recs["queued"].state is JobState.ORPHANED
        assert ended in recs["queued"].error and "never ran" in recs["queued"].error
        # the parsl-slurm block is a Slurm job of its own: not cancelled with the allocation
        print("block job:", recs["block"].state, recs["block"].error)
        assert block_alive
        assert recs["block"].state is JobState.RUNNING, recs["block"].error
        (done,) = mgr.wait([ids["block"]], timeout=120)
        print("block job after:", done.state, done.error)
        assert done.state is JobState.COMPLETED, done.error
    finally:
        subprocess.run(["scancel", job_id], timeout=30)
        if mgr is not None:
            close_and_kill(mgr)
        cleanup_leftovers(cw_home / "runners")
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    labels = {d.name for d in cw_home.glob("runners/*/runinfo/*/cw-*") if d.is_dir()}

    def ours() -> list[dict[str, str]]:  # the kernel's job and the blocks of its executors
        return [j for j in squeue() if j["id"] == job_id or j["name"].split(".")[1:2] and j["name"].split(".")[1] in labels]

    wait_until(lambda: not ours(), 60, f"squeue empty of this test's jobs, still: {ours()}", 0.5)
