"""The Parsl runner on real Parsl: thread pool (parsl-threads) and HTEX on this machine (parsl-local).

Real recipes, real workers, real processes: states are read from the manager's
change events, what a cancel killed is read from the process table.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from ase.build import bulk

from crystalwidgets import JobManager, JobState
from crystalwidgets.errors import ProfileError
from crystalwidgets.jobs.summary import summarise
from crystalwidgets.profiles import ProfileStore
from crystalwidgets.runners.parsl.profiles import ParslLocalProfile, ParslThreadsProfile
from tests.helpers import ROOT, states_seen, summary_core, wait_until
from tests.runners.cancel import cancel_pending_and_running
from tests.runners.lost_start import ends_before_its_start_is_heard
from tests.runners.jobs import chatty_job, looping_job, noop_job, printing_job

pytest.importorskip("parsl")


@pytest.fixture
def profiles(cw_home):
    store = ProfileStore()
    store.save(ParslThreadsProfile(name="threads", max_threads=2))
    store.save(ParslLocalProfile(name="htex", max_workers_per_node=1, max_idletime=30))
    return store


@pytest.fixture
def mgr(profiles):
    """A manager on the test's home; closed after, and nothing of Parsl may be left running."""
    mgr = JobManager(monitor_interval=0.5)
    yield mgr
    mgr.close()
    me = psutil.Process()
    left = [p for p in me.children(recursive=True) if "interchange" in " ".join(_cmdline(p))]
    assert not left, f"interchange processes left after close: {left}"


def _cmdline(proc):
    try:
        return proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def test_emt_relax_on_threads_and_htex_at_once(mgr, tmp_path):
    """One kernel, two Parsl profiles at once; results equal direct calls; states in order."""
    from quacc import change_settings
    from quacc.recipes.emt.core import relax_job

    seen = states_seen(mgr)
    cu = bulk("Cu", cubic=True) * (2, 1, 1)
    cu.rattle(0.05, seed=3)
    on_threads = mgr.submit(cu, "emt.relax_job", "threads", relax_cell=False)
    on_htex = mgr.submit(cu, "emt.relax_job", "htex", relax_cell=False)
    done = mgr.wait([on_threads.id, on_htex.id], timeout=120)

    with change_settings({"RESULTS_DIR": tmp_path / "direct"}):
        direct = summarise(relax_job(cu, relax_cell=False))
    for rec in done:
        assert rec.state is JobState.COMPLETED, rec.error
        assert rec.runner == "parsl"
        assert seen[rec.id] == ["pending", "running", "completed"]
        assert summary_core(rec.summary) == summary_core(direct)
        # quacc's files landed in the job's work dir (RESULTS_DIR set inside the task)
        assert list(Path(rec.work_dir).glob("quacc-*/opt.traj*"))
    thr, htex = done
    assert thr.engine_ref["thread"] and thr.engine_ref["pid"] == os.getpid()
    ref = htex.engine_ref
    assert ref["executor"].startswith("cw-") and ref["block"] == "0"
    assert ref["pid"] == ref["pgid"] != ref["worker_pid"]  # the job ran in its own process group
    # block states come from the provider's poll (every few seconds): the next one says so
    blocks = wait_until(
        lambda: (b := mgr.runner("htex").blocks()) and b[0]["state"] == "RUNNING" and b,
        15,
        "the block to show RUNNING",
    )
    assert [b["state"] for b in blocks] == ["RUNNING"]
    health = mgr.runner("htex").health()
    assert health["engine"] == "ready" and health["problem"] is None
    json.dumps(health)  # the ClusterPicker gets it as JSON


def test_threads_cancel_pending_never_starts_running_stops(mgr, tmp_path):
    seen = states_seen(mgr)
    cu = bulk("Cu")
    busy = [
        mgr.submit(cu, looping_job, "threads", seconds=60, marker=str(tmp_path / f"m{i}"))
        for i in range(2)
    ]
    queued = mgr.submit(cu, looping_job, "threads", seconds=60, marker=str(tmp_path / "never"))
    wait_until(
        lambda: all(mgr.get(j.id).state is JobState.RUNNING for j in busy), 30, "both threads busy"
    )

    t0 = time.monotonic()
    mgr.cancel(queued.id)
    wait_until(lambda: mgr.get(queued.id).state is JobState.CANCELLED, 2, "queued job cancelled")
    for job in busy:
        mgr.cancel(job.id)
    mgr.wait([j.id for j in busy], timeout=5)
    took = time.monotonic() - t0
    assert took < 3, took
    for job in busy:
        assert mgr.get(job.id).state is JobState.CANCELLED
        assert seen[job.id] == ["pending", "running", "cancelled"]
    assert seen[queued.id] == ["pending", "cancelled"]
    # the freed threads take the next job; the cancelled one never started
    after = mgr.submit(cu, noop_job, "threads")
    (rec,) = mgr.wait([after.id], timeout=30)
    assert rec.state is JobState.COMPLETED, rec.error
    assert not (tmp_path / "never").exists()
    assert not (Path(queued.work_dir) / "cw-started.json").exists()


def test_htex_cancel_kills_only_the_jobs_process_group(mgr, tmp_path):
    """Pending: never starts. Running: its process group dies; the worker and block live on."""
    cancel_pending_and_running(mgr, "htex", tmp_path)


def test_failures_are_reported_with_the_reason(mgr):
    from tests import jobfuncs

    cu = bulk("Cu")
    failing = mgr.submit(cu, jobfuncs.failing_job, "threads", message="no convergence here")
    killed = mgr.submit(cu, looping_job, "htex", seconds=120)
    rec = wait_until(lambda: (r := mgr.get(killed.id)).state is JobState.RUNNING and r, 90, "running")
    os.kill(rec.engine_ref["pid"], signal.SIGKILL)  # e.g. the OOM killer
    f, k = mgr.wait([failing.id, killed.id], timeout=30)
    assert f.state is JobState.FAILED and "RuntimeError: no convergence here" in f.error
    assert k.state is JobState.FAILED
    assert "killed by SIGKILL" in k.error and str(rec.engine_ref["pid"]) in k.error


def test_bad_local_profiles_fail_check_and_submit_fast(profiles):
    no_venv = ParslLocalProfile(name="novenv", worker_init="export PATH=/usr/bin:/bin")
    problems = no_venv.check()
    assert len(problems) == 1 and problems[0].startswith("worker_init:")
    assert "process_worker_pool.py" in problems[0] and "activate" in problems[0]
    too_big = ParslLocalProfile(name="big", cores_per_worker=(os.cpu_count() or 1) + 1)
    assert any(p.startswith("cores_per_worker:") for p in too_big.check())
    profiles.save(no_venv)
    with JobManager(monitor_interval=0.5) as mgr:
        t0 = time.monotonic()
        with pytest.raises(ProfileError, match="worker_init") as err:
            mgr.submit(bulk("Cu"), noop_job, "novenv")
        assert [field for field, _ in err.value.problems] == ["worker_init"]
        assert time.monotonic() - t0 < 5
        assert mgr.jobs() == []  # refused before recording: the store is unchanged
        # a sweep to it: refused as a whole, nothing recorded, no work dir written
        t0 = time.monotonic()
        with pytest.raises(ProfileError, match="worker_init"):
            mgr.submit_many([bulk("Cu"), bulk("Al"), bulk("Ni")], noop_job, "novenv")
        assert time.monotonic() - t0 < 5
        assert mgr.jobs() == [] and not any(mgr.results_dir.iterdir())


def test_finished_futures_are_released(mgr):
    cu = bulk("Cu")
    ids = [mgr.submit(cu, noop_job, "threads").id for _ in range(200)]
    recs = mgr.wait(ids, timeout=120)
    assert {r.state for r in recs} == {JobState.COMPLETED}
    runner = mgr.runner("threads")
    assert runner._jobs == {}
    assert runner._engine.dfk.tasks == {}
    from parsl.dataflow.futures import AppFuture

    gc.collect()
    # at most the last future each pool thread still holds in a local: none per finished job
    assert len([o for o in gc.get_objects() if isinstance(o, AppFuture)]) <= 2


def test_close_leaves_nothing_running_and_orphans_with_reason(profiles, tmp_path):
    mgr = JobManager(monitor_interval=0.5)
    job = mgr.submit(bulk("Cu"), looping_job, "htex", seconds=120)
    rec = wait_until(lambda: (r := mgr.get(job.id)).state is JobState.RUNNING and r, 90, "running")
    job_proc, worker = (
        psutil.Process(rec.engine_ref["pid"]),
        psutil.Process(rec.engine_ref["worker_pid"]),
    )
    mgr.close()
    rec = mgr.get(job.id)
    assert rec.state is JobState.ORPHANED
    assert "closed its Parsl executor" in rec.error and "resubmit" in rec.error
    psutil.wait_procs([job_proc, worker], timeout=15)
    assert not job_proc.is_running() and not worker.is_running()


_KERNEL = """
import json, sys, time
sys.path.insert(0, {tests!r})
from ase.build import bulk
from crystalwidgets import JobManager
from tests.runners import jobs as t
mgr = JobManager(monitor_interval=0.5)
cu = bulk("Cu")
ids = [mgr.submit(cu, t.looping_job, "htex", seconds=s).id for s in (3, 120)]
print(json.dumps(ids), flush=True)
while mgr.get(ids[0]).state.value != "running":
    time.sleep(0.05)
print("READY", flush=True)
time.sleep(600)
"""


def test_kernel_restart_recovers_result_orphans_queued_job(profiles, tmp_path):
    """Jupyter restarts a kernel by killing its process group: Parsl's interchange dies with it."""
    from crystalwidgets.runners.parsl import cleanup_leftovers, leftover_blocks

    script = tmp_path / "kernel.py"
    script.write_text(_KERNEL.format(tests=str(ROOT)))
    kernel = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        ids = json.loads(kernel.stdout.readline())
        assert kernel.stdout.readline().strip() == "READY"
    finally:
        os.killpg(kernel.pid, signal.SIGKILL)
        kernel.wait(10)
    home = Path(os.environ["CRYSTALWIDGETS_HOME"])
    waiting = home / "results" / ids[1]

    with JobManager(monitor_interval=0.5) as mgr:
        orphan = mgr.get(ids[1])
        assert orphan.state is JobState.ORPHANED
        assert "Parsl queue of a kernel that ended" in orphan.error and "resubmit" in orphan.error
        assert (waiting / "cw-cancel").exists()  # no leftover queue can ever start it
        # the running job's process outlived its kernel and worker; its result is recovered
        (done,) = mgr.wait([ids[0]], timeout=30)
        assert done.state is JobState.COMPLETED, done.error
        assert done.summary["kind"]
        assert leftover_blocks(home / "runners") == []  # parsl-local has no Slurm blocks
        assert cleanup_leftovers(home / "runners") == []
        assert not list((home / "runners" / "htex" / "engines").glob("*.json"))
    assert not (waiting / "cw-started.json").exists()


def test_htex_worker_runs_its_jobs_in_one_job_process_each_on_its_own(mgr, tmp_path):
    """Later jobs of a worker reuse its warm job process; output and cwd stay each job's own."""
    cu = bulk("Cu")
    first = mgr.submit(cu, chatty_job, "htex", text="first job says hi", leave_cwd=str(tmp_path))
    (a,) = mgr.wait([first.id], timeout=90)
    second = mgr.submit(cu, chatty_job, "htex", text="second job says hi")
    (b,) = mgr.wait([second.id], timeout=60)
    assert a.state is b.state is JobState.COMPLETED, (a.error, b.error)
    ra, rb = mgr.result(a.id), mgr.result(b.id)
    # one worker, one job process for both: no fork per job
    assert a.engine_ref["pid"] == b.engine_ref["pid"] == ra["pid"] == rb["pid"]
    assert a.engine_ref["worker_pid"] == b.engine_ref["worker_pid"] != ra["pid"]
    assert ra["cwd"] == str(tmp_path) and rb["cwd"] != str(tmp_path)  # cwd restored between jobs
    out_a = (Path(a.work_dir) / "cw-stdout.txt").read_text()
    out_b = (Path(b.work_dir) / "cw-stdout.txt").read_text()
    assert "first job says hi" in out_a and "second" not in out_a
    assert "second job says hi" in out_b and "first" not in out_b


def test_thread_jobs_print_into_their_own_work_dirs_not_the_notebook(mgr, capsys):
    """Two parsl-threads jobs print at once while the kernel's thread prints too: each
    job's lines land in its own cw-stdout.txt / cw-stderr.txt, none in the notebook."""
    import sys

    before = sys.stdout, sys.stderr
    jobs = [mgr.submit(bulk("Cu"), printing_job, "threads", text=name, lines=200, seconds=2)
            for name in ("alpha", "beta")]
    wait_until(lambda: all(mgr.get(j.id).state is JobState.RUNNING for j in jobs), 30, "both running")
    for i in range(20):
        print(f"kernel says {i}")
        time.sleep(0.05)
    done = mgr.wait([j.id for j in jobs], timeout=60)
    assert all(rec.state is JobState.COMPLETED for rec in done), [rec.error for rec in done]
    assert (sys.stdout, sys.stderr) == before  # routed only while thread jobs run
    notebook = capsys.readouterr()
    assert "kernel says 19" in notebook.out
    assert "alpha" not in notebook.out + notebook.err and "beta" not in notebook.out + notebook.err
    for rec, name, other in zip(done, ("alpha", "beta"), ("beta", "alpha")):
        wd = Path(rec.work_dir)
        out, err = (wd / "cw-stdout.txt").read_text(), (wd / "cw-stderr.txt").read_text()
        assert out.splitlines() == [f"{name} {i}" for i in range(200)]
        assert err.splitlines() == [f"{name} err {i}" for i in range(200)]
        assert other not in out + err and "kernel says" not in out
        assert (wd / "cw-stdout.txt").stat().st_mode & 0o777 == 0o600


def test_htex_workers_get_cores_per_worker_blas_threads(mgr, profiles, monkeypatch):
    """Workers sharing a node must not each start a BLAS thread per core; what the user's
    worker_init (or environment) sets wins."""
    from crystalwidgets._procs import THREAD_VARS
    from tests import jobfuncs

    for var in THREAD_VARS:
        monkeypatch.delenv(var, raising=False)  # the workers inherit this process's environment
    venv = Path(sys.executable).parent
    profiles.save(
        ParslLocalProfile(
            name="wide",
            cores_per_worker=2,
            max_workers_per_node=1,
            max_idletime=30,
            worker_init=f'export PATH={venv}:"$PATH"\nexport OMP_NUM_THREADS=5',
        )
    )
    (rec,) = mgr.wait([mgr.submit(bulk("Cu"), jobfuncs.thread_limits_job, "wide").id], timeout=90)
    assert rec.state is JobState.COMPLETED, rec.error
    env = mgr.result(rec.id)["env"]
    assert env == {var: "5" if var == "OMP_NUM_THREADS" else "2" for var in THREAD_VARS}


def test_every_transition_is_told_in_order_even_within_one_drain(mgr):
    """A no-op job runs and completes within microseconds: both land in one drain of the
    manager, and subscribers (the JobTable) still hear running before completed."""
    seen = states_seen(mgr)
    jobs = mgr.submit_many([bulk("Cu")] * 200, noop_job, "threads")
    recs = mgr.wait([j.id for j in jobs], timeout=60)
    assert all(r.state is JobState.COMPLETED for r in recs)
    wrong = {j.id: seen.get(j.id) for j in jobs if seen.get(j.id) != ["pending", "running", "completed"]}
    assert not wrong, wrong


def test_thread_jobs_leave_the_kernels_umask_and_keep_their_files_private(mgr):
    """A job body in the kernel's own thread must not change the kernel's process-wide
    umask; its work dir (0700) is what keeps its files private."""
    import stat

    before = os.umask(0o022)
    try:
        (rec,) = mgr.wait([mgr.submit(bulk("Cu"), "emt.static_job", "threads").id], timeout=60)
        assert rec.state is JobState.COMPLETED, rec.error
        assert os.umask(0o022) == 0o022  # unchanged by the job
    finally:
        os.umask(before)
    wd = Path(rec.work_dir)
    assert stat.S_IMODE(wd.stat().st_mode) == 0o700
    assert stat.S_IMODE(wd.parent.stat().st_mode) == 0o700
    assert not (wd / "cw-started.json").exists()  # the runner knows; no file for it


def test_the_first_job_says_the_engine_is_starting_on_its_row_and_in_the_health(mgr):
    """Parsl's engine takes seconds to start (24 s seen on a loaded machine): meanwhile the
    first job's row says so, not just "pending", with the seconds counted from the engine's
    start; the picker's health says "starting"."""
    from crystalwidgets.widgets._table import COLUMNS, JobTable

    table = JobTable(mgr)
    rows, health = [], []

    def on_changes(changes):  # the row as the table would send it, when the note arrives
        for jid, change in changes.items():
            if (change.get("engine_ref") or {}).get("waiting"):
                rows.append(dict(zip(COLUMNS, table._row(mgr.get(jid)))))

    mgr.subscribe(on_changes)
    t0 = time.time()
    job = mgr.submit(bulk("Cu"), noop_job, "htex")

    def starting():
        runner = mgr.runner("htex")
        if runner is not None:
            health.append(runner.health()["engine"])
        return rows

    [row, *_] = wait_until(starting, 60, "the row's note that the engine starts")
    assert row["id"] == job.id and row["state"] == "pending"
    assert row["error"] == "starting the Parsl engine (the first job of a profile waits for it)"
    assert t0 - 0.01 <= row["note_since"] <= time.time()  # the browser counts on from here
    (done,) = mgr.wait([job.id], timeout=120)
    assert done.state is JobState.COMPLETED
    final = dict(zip(COLUMNS, next(r for r in table._rows() if r[0] == job.id)))
    assert final["error"] is None and final["note_since"] is None  # no note left
    assert any(h.startswith("starting (") for h in health) or mgr.runner("htex").health()["engine"] == "ready"
    table.close()


def test_a_job_that_ends_before_its_start_message_arrives_still_says_where_it_ran(mgr, monkeypatch):
    from crystalwidgets.runners.parsl.runner import ParslRunner

    ends_before_its_start_is_heard(mgr, "htex", ParslRunner, "_on_message", monkeypatch)
