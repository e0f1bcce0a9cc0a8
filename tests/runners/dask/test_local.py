"""The Dask runner on a real ``LocalCluster`` (``dask-local``) and a real scheduler the user
runs (``dask-scheduler``): end to end, cancel that kills, a worker killed mid-job, a kernel
that dies. What ran and what was killed is read from the process table, never from the
runner's own word."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from ase.build import bulk

from crystalwidgets import JobManager, JobState
from crystalwidgets.errors import ProfileError
from crystalwidgets.profiles import ProfileStore
from crystalwidgets.runners.dask.profiles import DaskLocalProfile, DaskSchedulerProfile
from tests.helpers import ROOT, states_seen, wait_until
from tests.runners.cancel import cancel_pending_and_running
from tests.runners.jobs import looping_job, worker_killer_job
from tests.runners.lost_start import ends_before_its_start_is_heard

pytest.importorskip("distributed")


def _workers_of(pid: int) -> list[psutil.Process]:
    return [p for p in psutil.Process(pid).children(recursive=True) if "distributed" in " ".join(_cmd(p))]


def _gone(pid: int) -> bool:
    """Not running (a zombie left to an init that does not reap counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _cmd(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


@pytest.fixture
def dmgr(cw_home):
    """A manager with a one-worker ``dask-local`` profile; nothing of Dask left after close."""
    ProfileStore().save(DaskLocalProfile(name="dl", n_workers=1))
    mgr = JobManager(monitor_interval=0.5)
    yield mgr
    mgr.close()
    wait_until(lambda: not _workers_of(os.getpid()), 20, "no Dask worker process left after close", 0.2)


def test_emt_relax_end_to_end_equals_the_recipe_run_directly(dmgr, tmp_path):
    from quacc.recipes.emt.core import relax_job

    seen = states_seen(dmgr)
    cu = bulk("Cu", cubic=True)
    cu.rattle(0.05, seed=3)
    job = dmgr.submit(cu, "emt.relax_job", "dl", relax_cell=False)
    (rec,) = dmgr.wait([job.id], timeout=120)
    assert rec.state is JobState.COMPLETED, rec.error
    assert seen[job.id] == ["pending", "running", "completed"]
    assert rec.engine_ref["key"] == f"cw-{job.id}" and rec.engine_ref["worker"].startswith("tcp://127.0.0.1:")
    assert rec.started <= rec.finished
    os.chdir(tmp_path)  # quacc writes into the cwd when run directly
    direct = relax_job(cu.copy(), relax_cell=False)
    assert rec.summary["energy_ev"] == pytest.approx(direct["results"]["energy"], abs=1e-9)
    assert rec.summary["n_steps"] == len(direct["trajectory"]) - 1  # steps after the first frame
    # quacc's files and the job's output are in the job's work dir, not in Dask's dirs
    assert list(Path(rec.work_dir).glob("quacc-*")), os.listdir(rec.work_dir)
    health = dmgr.runner("dl").health()
    assert health["engine"] == "ready" and health["workers"] == 1 and health["jobs_running"] == 0


def test_cancel_pending_and_running_kills_the_job_and_spares_the_worker(dmgr, tmp_path):
    cancel_pending_and_running(dmgr, "dl", tmp_path)


def test_a_job_that_ends_before_its_start_event_arrives_still_says_where_it_ran(dmgr, monkeypatch):
    from crystalwidgets.runners.dask.runner import DaskRunner

    ref = ends_before_its_start_is_heard(dmgr, "dl", DaskRunner, "_on_event", monkeypatch)
    assert ref["key"].startswith("cw-")


def test_a_worker_killed_mid_job_is_retried_and_the_row_says_so(cw_home, tmp_path):
    ProfileStore().save(DaskLocalProfile(name="dl2", n_workers=2))
    mgr = JobManager(monitor_interval=0.5)
    try:
        seen = states_seen(mgr)
        job = mgr.submit(bulk("Cu"), looping_job, "dl2", seconds=4, marker=str(tmp_path / "run"))
        first = wait_until(
            lambda: (r := mgr.get(job.id)).state is JobState.RUNNING and (tmp_path / "run").exists() and r,
            90, "the job running",
        ).engine_ref
        os.kill(first["worker_pid"], signal.SIGKILL)
        os.kill(first["pid"], signal.SIGKILL)  # the whole worker is lost, as on a node failure
        rerun = wait_until(
            lambda: (r := mgr.get(job.id)).engine_ref.get("pid") not in (None, first["pid"]) and r,
            60, "the job rerun on another worker",
        )
        assert rerun.state is JobState.RUNNING
        assert rerun.error.startswith("retried (run 2): its Dask worker (pid"), rerun.error
        assert rerun.engine_ref["worker_pid"] != first["worker_pid"]
        (done,) = mgr.wait([job.id], timeout=60)
        assert done.state is JobState.COMPLETED and done.error is None
        assert seen[job.id] == ["pending", "running", "completed"]
    finally:
        mgr.close()


def test_a_job_that_kills_every_worker_fails_with_killedworker_and_says_so(dmgr):
    """Dask reruns a job whose worker died, and gives up after its allowed failures."""
    job = dmgr.submit(bulk("Cu"), worker_killer_job, "dl")
    (rec,) = dmgr.wait([job.id], timeout=180)
    assert rec.state is JobState.FAILED
    assert rec.error.startswith("Dask gave up on it: every worker that ran it died"), rec.error
    assert "KilledWorker" in rec.error
    assert dmgr.runner("dl").health()["engine"] == "ready"  # the cluster lives on
    # the nanny restarts the worker each time: the next job runs (given time on a busy machine)
    wait_until(lambda: dmgr.runner("dl").health()["workers"] == 1, 60, "the worker restarted")
    nxt = dmgr.submit(bulk("Cu"), looping_job, "dl", seconds=0.1)
    assert dmgr.wait([nxt.id], timeout=180)[0].state is JobState.COMPLETED


def test_the_check_names_a_missing_scheduler_and_a_silent_one_within_its_bound(cw_home):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    t0 = time.monotonic()
    (problem,) = DaskSchedulerProfile(address=f"127.0.0.1:{port}").check(timeout=2)
    assert problem.startswith(f"address: no Dask scheduler answers at tcp://127.0.0.1:{port} (")
    assert problem.endswith("start one (`dask scheduler`) or correct the address")
    # a server that accepts and never answers: the check still returns, within its bound
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        t0 = time.monotonic()
        (problem,) = DaskSchedulerProfile(address=f"127.0.0.1:{silent.getsockname()[1]}").check(timeout=2)
        assert time.monotonic() - t0 < 6
        assert "no Dask scheduler answers" in problem
        ProfileStore().save(DaskSchedulerProfile(name="silent", address=f"127.0.0.1:{silent.getsockname()[1]}"))
        mgr = JobManager()
        try:
            t0 = time.monotonic()
            with pytest.raises(ProfileError, match="no Dask scheduler answers") as err:
                mgr.submit(bulk("Cu"), "emt.static_job", "silent")
            assert time.monotonic() - t0 < 10
            assert err.value.problems[0][0] == "address"
            assert mgr.jobs() == []  # refused: nothing recorded
        finally:
            mgr.close()
    finally:
        silent.close()


def test_bad_fields_are_refused_naming_the_field():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="is not a scheduler address; write e.g. tcp://login1:8786"):
        DaskSchedulerProfile(address="http://x:1")
    with pytest.raises(ValidationError, match="n_workers"):
        DaskLocalProfile(n_workers=0)


# -- a scheduler the user runs: jobs outlive the kernel ----------------------------------------


@pytest.fixture
def scheduler(tmp_path):
    """A real ``dask scheduler`` and one ``dask worker`` on 127.0.0.1; both stopped after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the worker imports the tests' job functions
    log = open(tmp_path / "dask.log", "wb")
    sched = subprocess.Popen(
        [str(bindir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard", "--no-show"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    address = f"tcp://127.0.0.1:{port}"
    worker = subprocess.Popen(
        [str(bindir / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
         "--no-dashboard", "--local-directory", str(tmp_path / "dw")],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=str(tmp_path),
    )
    wait_until(lambda: not DaskSchedulerProfile(address=address).check(timeout=1), 60, "the scheduler up", 0.5)
    yield address
    for proc in (worker, sched):
        os.killpg(proc.pid, signal.SIGTERM)
    for proc in (worker, sched):
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    log.close()


_KERNEL = """
import sys, time
sys.path.insert(0, {tests!r})
from ase.build import bulk
from crystalwidgets import JobManager
from tests.runners import jobs as t
mgr = JobManager(monitor_interval=0.2)
job = mgr.submit(bulk("Cu"), t.looping_job, "sched", seconds=6, marker={marker!r})
print(job.id, flush=True)
while mgr.get(job.id).state.value != "running":
    time.sleep(0.05)
print("running", flush=True)
time.sleep(60)  # killed here
"""


def test_scheduler_jobs_outlive_the_kernel_and_are_reattached(cw_home, tmp_path, scheduler):
    ProfileStore().save(DaskSchedulerProfile(name="sched", address=scheduler))
    script = tmp_path / "kernel.py"
    script.write_text(_KERNEL.format(tests=str(ROOT), marker=str(tmp_path / "run")))
    kernel = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    job_id = kernel.stdout.readline().strip()
    assert kernel.stdout.readline().strip() == "running"
    kernel.kill()  # the kernel dies; the scheduler keeps the task (fire_and_forget)
    kernel.wait(10)
    mgr = JobManager(monitor_interval=0.5)
    try:
        assert mgr.get(job_id).state is JobState.RUNNING  # reattached, not orphaned
        (rec,) = mgr.wait([job_id], timeout=60)
        assert rec.state is JobState.COMPLETED, rec.error
        assert rec.summary is not None
    finally:
        mgr.close()


def test_scheduler_cancel_kills_and_the_worker_lives_on(cw_home, tmp_path, scheduler):
    ProfileStore().save(DaskSchedulerProfile(name="sched", address=scheduler))
    mgr = JobManager(monitor_interval=0.5)
    try:
        cancel_pending_and_running(mgr, "sched", tmp_path)
    finally:
        mgr.close()


_LOCAL_KERNEL = """
import sys, time
sys.path.insert(0, {tests!r})
from ase.build import bulk
from crystalwidgets import JobManager
from tests.runners import jobs as t

if __name__ == "__main__":  # Dask's worker processes import this module again
    mgr = JobManager(monitor_interval=0.2)
    running = mgr.submit(bulk("Cu"), t.looping_job, "dl", seconds=5, marker={marker!r})
    waiting = mgr.submit(bulk("Cu"), t.looping_job, "dl", seconds=5)
    print(running.id, waiting.id, flush=True)
    while mgr.get(running.id).state.value != "running":
        time.sleep(0.05)
    print("running", flush=True)
    time.sleep(60)  # killed here
"""


def test_a_dead_kernels_local_cluster_job_is_recovered_and_the_waiting_one_orphaned(cw_home, tmp_path):
    """The cluster ends with its kernel; the job process running a job finishes it (its
    outcome is recovered), the job that waited is orphaned with the reason, and no worker
    of the dead kernel is left."""
    ProfileStore().save(DaskLocalProfile(name="dl", n_workers=1))
    script = tmp_path / "kernel.py"
    script.write_text(_LOCAL_KERNEL.format(tests=str(ROOT), marker=str(tmp_path / "run")))
    kernel = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    running, waiting = kernel.stdout.readline().split()
    assert kernel.stdout.readline().strip() == "running"
    kernel.kill()
    kernel.wait(10)
    mgr = JobManager(monitor_interval=0.5)
    try:
        ref = mgr.get(running).engine_ref
        assert mgr.get(running).state is JobState.RUNNING  # its job process still runs: watched
        waited = mgr.get(waiting)
        assert waited.state is JobState.ORPHANED
        assert waited.error.startswith(
            "it was waiting in the Dask cluster of a kernel that ended; that cluster (profile 'dl') "
            "ended with its kernel, so it will not run: "
        ), waited.error
        (rec,) = mgr.wait([running], timeout=30)
        assert rec.state is JobState.COMPLETED, rec.error
        wait_until(lambda: _gone(ref["worker_pid"]), 30, "the dead kernel's worker gone", 0.5)
        wait_until(lambda: _gone(ref["pid"]), 10, "the job process gone after its job", 0.2)
    finally:
        mgr.close()
