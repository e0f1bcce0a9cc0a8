"""The Parsl runner against the real local Slurm (../shared/slurm/start-slurm.sh).

What was submitted, killed and left behind is read from Slurm itself (squeue)
and from the process table (ps), never from the runner's own word. Every test
ends with no job of its own in squeue.
"""

from __future__ import annotations

import json
import os
import shutil
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
from crystalwidgets.profiles import ProfileStore
from crystalwidgets.runners.parsl.profiles import ParslSlurmProfile
from crystalwidgets.widgets import ClusterPicker
from tests.helpers import ROOT, states_seen, wait_until
from tests.runners.cancel import cancel_pending_and_running
from tests.runners.slurm import SCRIPTS as _SCRIPTS
from tests.runners.slurm import slurm_problem as _slurm_problem
from tests.runners.slurm import squeue as _squeue
from tests.runners.jobs import looping_job, noop_job

pytestmark = pytest.mark.slurm

_HOMES: list[Path] = []


def _blocks() -> list[dict[str, str]]:
    """Blocks of this module's tests queued or running now (squeue's default states).

    A block is named ``parsl.<executor label>.block-N...``; the labels are the
    executor dirs Parsl made under each test's home (other users of this Slurm,
    e.g. a notebook run at the same time, are not counted).
    """
    labels = {
        d.name for home in _HOMES for d in home.glob("runners/*/runinfo/*/cw-*") if d.is_dir()
    }
    return [j for j in _squeue() if j["name"].split(".")[1:2] and j["name"].split(".")[1] in labels]


@pytest.fixture(scope="module")
def slurm():
    """The running local Slurm (skips with the reason when there is none); squeue empty after."""
    problem = _slurm_problem()
    if problem:
        pytest.skip(problem)
    yield
    wait_until(
        lambda: not _blocks(), 30, f"squeue empty of this module's blocks, still: {_blocks()}", 0.5
    )


@pytest.fixture(autouse=True)
def no_block_left(cw_home):
    """Each test's blocks are followed; none may be left in squeue after the test."""
    _HOMES.append(cw_home)
    yield
    wait_until(lambda: not _blocks(), 20, f"no block left after the test, still: {_blocks()}", 0.25)


def _profile(**kw):
    base = dict(
        name="slurm",
        partition="debug",
        walltime="00:10:00",
        max_workers_per_node=2,
        address="127.0.0.1",
        max_idletime=30,
    )
    return ParslSlurmProfile(**{**base, **kw})


@pytest.fixture
def smgr(cw_home, slurm):
    """A manager with a Slurm profile; closed after, and then no block of it may be left."""
    ProfileStore().save(_profile())
    mgr = JobManager(monitor_interval=0.5)
    yield mgr
    mgr.close()
    assert not _blocks(), f"close() returned with blocks still in Slurm (completing counts): {_blocks()}"


def test_emt_relax_on_slurm(smgr):
    seen = states_seen(smgr)
    cu = bulk("Cu", cubic=True)
    cu.rattle(0.05, seed=2)
    job = smgr.submit(cu, "emt.relax_job", "slurm", relax_cell=False)
    (rec,) = smgr.wait([job.id], timeout=120)
    assert rec.state is JobState.COMPLETED, rec.error
    assert seen[job.id] == ["pending", "running", "completed"]
    assert rec.summary["converged"] is True and rec.summary["n_atoms"] == 4
    slurm_id = rec.engine_ref["slurm_job_id"]
    (block,) = [b for b in _squeue("-t", "all") if b["id"] == slurm_id]
    assert block["name"].startswith(f"parsl.{rec.engine_ref['executor']}.block-")
    status = smgr.runner("slurm").blocks()
    assert [(b["job_id"], b["state"]) for b in status] == [(slurm_id, "RUNNING")]


def test_slurm_cancel_pending_and_running(smgr, tmp_path, cw_home):
    """squeue and ps show what a cancel killed: the job's processes, never the block."""
    ProfileStore().save(_profile(name="one", max_workers_per_node=1))

    def block_running(ref: dict) -> None:
        assert [b["state"] for b in _blocks() if b["id"] == ref["slurm_job_id"]] == ["RUNNING"]
        # the waiting job's row says what it waits for (block health on the job's own row)
        waiting = [r for r in smgr.jobs() if r.state is JobState.PENDING]
        if waiting:
            reason = wait_until(lambda: (smgr.get(waiting[0].id).engine_ref or {}).get("waiting"), 5, "reason")
            assert reason == f"waiting for a free worker (blocks {ref['slurm_job_id']} running)"

    cancel_pending_and_running(smgr, "one", tmp_path, block_running)


def test_a_job_whose_block_slurm_holds_back_says_so_on_its_row(cw_home, slurm):
    """A block Slurm keeps pending (here: --begin in an hour) names itself and Slurm's reason
    on the waiting job's row; cancelling the job gives the block back at once."""
    from crystalwidgets.widgets import JobTable
    from crystalwidgets.widgets._table import COLUMNS

    ProfileStore().save(_profile(name="later", scheduler_options="#SBATCH --begin=now+1hour"))
    with JobManager(monitor_interval=0.5) as mgr:
        job = mgr.submit(bulk("Cu"), noop_job, "later")
        [block] = wait_until(_blocks, 30, "the block in squeue")
        assert block["state"] == "PENDING"
        text = f"waiting for Slurm to start block {block['id']}, Slurm's reason: BeginTime"
        said = lambda: (mgr.get(job.id).engine_ref or {}).get("waiting")  # noqa: E731
        try:
            wait_until(lambda: said() == text, 30, f"the row to say {text!r}")
        except TimeoutError as exc:  # what it says at the end, not at the start
            raise AssertionError(f"{exc}: it says {said()!r}") from None
        table = JobTable(mgr)
        [row] = [r for r in table._rows() if r[COLUMNS.index("id")] == job.id]
        assert row[COLUMNS.index("error")] == text and mgr.get(job.id).state is JobState.PENDING
        # the row counts the seconds of this wait, from when the job first waited for the block
        since = row[COLUMNS.index("note_since")]
        assert since == mgr.get(job.id).engine_ref["waiting_since"]
        assert job.created - 1 < since <= time.time()
        table.close()
        mgr.cancel(job.id)
        (rec,) = mgr.wait([job.id], timeout=30)
        assert rec.state is JobState.CANCELLED
        # no job needs the block now: it leaves Slurm's queue while the manager lives on
        # (Parsl alone keeps it: the cancelled task stays in its queue)
        wait_until(lambda: not _blocks(), 30, "the held block scancelled", 0.25)
        assert mgr.runner("later").health()["engine"] == "not started"
        # and the next job gets a new engine and a new block
        again = mgr.submit(bulk("Cu"), noop_job, "later")
        [block2] = wait_until(_blocks, 60, "the next job's block in squeue")
        assert block2["id"] != block["id"] and block2["state"] == "PENDING"
        mgr.cancel(again.id)
        assert mgr.wait([again.id], timeout=30)[0].state is JobState.CANCELLED
        wait_until(lambda: not _blocks(), 30, "the second held block scancelled", 0.25)


def test_a_waiting_job_whose_block_slurm_cannot_be_asked_about_says_so(cw_home, slurm, monkeypatch):
    """squeue not answering (a busy controller) is put on the waiting job's row, its clock
    going on from when the wait began; the job goes on waiting, nothing is judged."""
    from crystalwidgets.errors import CrystalWidgetsError
    from crystalwidgets.runners.parsl.engine import Engine

    ProfileStore().save(_profile(name="later", scheduler_options="#SBATCH --begin=now+1hour"))
    with JobManager(monitor_interval=0.5) as mgr:
        job = mgr.submit(bulk("Cu"), noop_job, "later")
        ref = lambda: mgr.get(job.id).engine_ref or {}  # noqa: E731
        wait_until(lambda: "BeginTime" in ref().get("waiting", ""), 60, "the held block named")
        since = ref()["waiting_since"]

        answering, blocks = [False], Engine.blocks

        def silent(self):
            if answering[0]:
                return blocks(self)
            raise CrystalWidgetsError("`squeue` did not answer within 10 s")

        monkeypatch.setattr(Engine, "blocks", silent)
        text = "waiting; could not ask Slurm about the blocks: `squeue` did not answer within 10 s"
        wait_until(lambda: ref().get("waiting") == text, 10, f"the row to say {text!r}")
        assert ref()["waiting_since"] == since and mgr.get(job.id).state is JobState.PENDING
        assert mgr.runner("later").health()["problem"].startswith("could not ask Slurm")
        answering[0] = True  # Slurm answers again: the row says what it says
        wait_until(lambda: "BeginTime" in ref().get("waiting", ""), 10, "the block named again")
        assert ref()["waiting_since"] == since
        mgr.cancel(job.id)
        assert mgr.wait([job.id], timeout=30)[0].state is JobState.CANCELLED
        wait_until(lambda: not _blocks(), 30, "the held block scancelled", 0.25)


def test_block_scancelled_outside_fails_its_jobs_within_seconds(smgr, cw_home):
    ProfileStore().save(_profile(name="one", max_workers_per_node=1))
    cu = bulk("Cu")
    running = smgr.submit(cu, looping_job, "one", seconds=120)
    waiting = smgr.submit(cu, looping_job, "one", seconds=120)
    rec = wait_until(
        lambda: (r := smgr.get(running.id)).state is JobState.RUNNING and r, 90, "running"
    )
    block = rec.engine_ref["slurm_job_id"]
    job_proc = psutil.Process(rec.engine_ref["pid"])

    t0 = time.monotonic()
    subprocess.run(["scancel", block], check=True, timeout=15)
    r, w = smgr.wait([running.id, waiting.id], timeout=15)
    took = time.monotonic() - t0
    assert took < 5, (
        took
    )  # Parsl alone: ManagerLost after its heartbeat threshold (120 s by default)
    assert r.state is JobState.FAILED and w.state is JobState.FAILED
    assert f"Slurm block {block} was cancelled outside crystalwidgets" in r.error
    assert "while the job ran" in r.error
    assert f"Slurm block {block} was cancelled outside" in w.error
    psutil.wait_procs([job_proc], timeout=10)
    assert not job_proc.is_running()
    # the broken DataFlowKernel was replaced: the next job gets a new block and runs
    again = smgr.submit(cu, noop_job, "one")
    (done,) = smgr.wait([again.id], timeout=90)
    assert done.state is JobState.COMPLETED, done.error
    assert done.engine_ref["slurm_job_id"] != block


def test_bad_slurm_profiles_fail_check_and_submit_fast(cw_home, slurm):
    store = ProfileStore()
    unknown = _profile(name="nopart", partition="nosuchpartition")
    (msg,) = unknown.check()
    assert msg.startswith("partition:") and "nosuchpartition" in msg and "debug, short" in msg
    too_long = _profile(name="toolong", partition="short", walltime="00:30:00")
    (msg,) = too_long.check()
    assert msg.startswith("walltime:") and "00:10:00" in msg
    too_wide = _profile(name="wide", cores_per_worker=(os.cpu_count() or 1) * 4)
    assert [p.split(":")[0] for p in too_wide.check()] == ["cores_per_worker"]
    no_venv = _profile(name="novenv", worker_init="export PATH=/usr/bin:/bin")
    (here,) = no_venv.check()
    assert here.startswith("worker_init:") and "this host" in here
    (on_node,) = no_venv.check(deep=True, timeout=60)
    assert on_node.startswith("worker_init:") and "compute node" in on_node
    assert _profile(name="good").check(deep=True, timeout=60) == []
    # an MPI code started by srun inside a worker the srun launcher holds: the seed's pitfall
    venv = Path(sys.executable).parent
    vasp = _profile(
        name="vasp",
        launcher="srun",
        worker_init=f'export PATH={venv}:"$PATH"\nexport QUACC_VASP_PARALLEL_CMD="srun -n 4"',
    )
    msgs = vasp.check()
    assert [m.split(":")[0] for m in msgs] == ["launcher", "cores_per_worker"], msgs
    assert "--overlap" in msgs[0] and "cores_per_worker=4" in msgs[1]

    for prof in (unknown, too_long, no_venv):
        store.save(prof)
    with JobManager(monitor_interval=0.5) as mgr:
        for name in ("nopart", "toolong"):
            t0 = time.monotonic()
            with pytest.raises(ProfileError, match="cannot run jobs") as err:
                mgr.submit(bulk("Cu"), noop_job, name)
            assert [f for f, _ in err.value.problems] == [
                {"nopart": "partition"}.get(name, "walltime")
            ]
            assert time.monotonic() - t0 < 5
        assert mgr.jobs() == []  # refused before recording
        # worker_init is judged where it runs: the block fails, the job says why, fast
        t0 = time.monotonic()
        job = mgr.submit(bulk("Cu"), noop_job, "novenv")
        (rec,) = mgr.wait([job.id], timeout=60)
        assert rec.state is JobState.FAILED
        assert "process_worker_pool.py: command not found" in rec.error, rec.error
        assert time.monotonic() - t0 < 30
        assert [r.state for r in mgr.jobs()] == [JobState.FAILED]
    wait_until(lambda: not _blocks(), 20, "no block left", 0.25)


def _restart_slurm(enforce: str) -> None:
    subprocess.run(
        ["bash", str(_SCRIPTS / "stop-slurm.sh")], check=True, timeout=60, capture_output=True
    )
    env = {**os.environ, "SLURM_ENFORCE_PART_LIMITS": enforce}
    subprocess.run(
        ["bash", str(_SCRIPTS / "start-slurm.sh")],
        check=True,
        timeout=120,
        env=env,
        capture_output=True,
    )


def _enforce_setting() -> str:
    out = subprocess.run(
        ["scontrol", "show", "config"], capture_output=True, text=True, timeout=15
    ).stdout
    for line in out.splitlines():
        if line.startswith("EnforcePartLimits"):
            return line.split("=", 1)[1].strip()
    return "ALL"


@pytest.fixture
def slurm_enforce_no(slurm):
    """Slurm restarted with its own default EnforcePartLimits=NO, restored after."""
    if os.geteuid() != 0 or not (_SCRIPTS / "start-slurm.sh").exists():
        pytest.skip(f"restarting Slurm needs root and {_SCRIPTS}/start-slurm.sh")
    before = _enforce_setting()
    if _squeue("-t", "PENDING,RUNNING,COMPLETING"):
        pytest.skip("other jobs are in Slurm's queue: not restarting Slurm under them")
    _restart_slurm("NO")
    try:
        assert _enforce_setting() == "NO"
        yield
    finally:
        _restart_slurm(before)


def test_walltime_over_limit_pending_forever_fails_with_slurms_reason(cw_home, slurm_enforce_no):
    over = _profile(name="over", partition="short", walltime="00:30:00")
    (msg,) = over.check()
    assert msg.startswith("walltime:") and "MaxTime 00:10:00" in msg
    # submitted anyway (a site where the check is off): Slurm takes the block and never starts it
    ProfileStore().save(over.model_copy(update={"preflight_on_submit": False}))
    with JobManager(monitor_interval=0.5) as mgr:
        job = mgr.submit(bulk("Cu"), noop_job, "over")
        blocks = wait_until(_blocks, 30, "the block in squeue")
        (rec,) = mgr.wait([job.id], timeout=30)
        assert rec.state is JobState.FAILED
        assert f"Slurm will never start block {blocks[0]['id']}" in rec.error
        assert "PartitionTimeLimit" in rec.error and "lower walltime" in rec.error
        assert blocks[0]["state"] == "PENDING"
        wait_until(lambda: not _blocks(), 20, "the never-starting block scancelled", 0.25)


_KERNEL = """
import json, sys, time
sys.path.insert(0, {tests!r})
from ase.build import bulk
from crystalwidgets import JobManager
from tests.runners import jobs as t
mgr = JobManager(monitor_interval=0.5)
cu = bulk("Cu")
ids = [mgr.submit(cu, t.looping_job, "one", seconds=s).id for s in (3, 120)]
print(json.dumps(ids), flush=True)
while mgr.get(ids[0]).state.value != "running":
    time.sleep(0.05)
print(mgr.get(ids[0]).engine_ref["slurm_job_id"], flush=True)
time.sleep(600)
"""


def test_kernel_killed_on_slurm_leftover_block_listed_and_cleaned(cw_home, slurm, tmp_path):
    """The kernel process alone is SIGKILLed: its interchange and block live on until cleanup."""
    from crystalwidgets.runners.parsl import cleanup_leftovers

    ProfileStore().save(_profile(name="one", max_workers_per_node=1))
    script = tmp_path / "kernel.py"
    script.write_text(_KERNEL.format(tests=str(ROOT)))
    kernel = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        ids = json.loads(kernel.stdout.readline())
        block = kernel.stdout.readline().strip()
    finally:
        kernel.send_signal(signal.SIGKILL)
        kernel.wait(10)
    home = Path(os.environ["CRYSTALWIDGETS_HOME"])
    try:
        _recover_and_clean(home, ids, block)
    finally:  # whatever failed: leave no block or interchange behind
        cleanup_leftovers(home / "runners")


def _recover_and_clean(home: Path, ids: list[str], block: str) -> None:
    from crystalwidgets.runners.parsl import leftover_blocks

    # the job that was running finishes in the block on its own
    wait_until(lambda: (home / "results" / ids[0] / "cw-outcome.json").exists(), 30, "its outcome")
    with JobManager(monitor_interval=0.5) as mgr:
        done = mgr.get(ids[0])
        assert done.state is JobState.COMPLETED, done.error
        # a job the dead kernel's interchange was handing to the worker just then is pending
        # until its task reports (running) or the runner gives it up (orphaned): never lost
        orphan = wait_until(
            lambda: (r := mgr.get(ids[1])).state in (JobState.ORPHANED, JobState.RUNNING) and r,
            20,
            "the waiting job to be followed or orphaned",
        )
        # the dead kernel's interchange may already have handed the waiting job to the worker
        if orphan.state is JobState.ORPHANED:
            assert "Parsl queue of a kernel that ended" in orphan.error
        else:
            assert orphan.state is JobState.RUNNING and orphan.engine_ref["slurm_job_id"] == block
        left = mgr.leftover_blocks()
        assert [(b["job_id"], b["state"], b["profile"], b["engine"]) for b in left] == [(block, "RUNNING", "one", "parsl")]
        # the picker lists it (looked for off the kernel's thread) and its button cancels it
        picker = ClusterPicker(mgr)
        wait_until(lambda: [b["job_id"] for b in picker.leftovers] == [block], 30, "the picker to list the block")
        picker._on_frontend_msg(picker, {"kind": "cleanup_leftovers"}, [])
        result = wait_until(lambda: picker.leftovers_result.get("state") not in (None, "running")
                            and picker.leftovers_result, 60, "the picker's cleanup to finish")
        assert result["state"] == "done" and block in result["message"], result
        wait_until(lambda: not _blocks(), 20, "the leftover block scancelled", 0.25)
        wait_until(lambda: picker.leftovers == [], 30, "the picker to list no block any more")
        assert mgr.leftover_blocks() == [] and mgr.cleanup_leftovers() == []
        assert leftover_blocks(home / "runners") == []
        if orphan.state is JobState.RUNNING:  # its process died with the block: orphaned, with why
            (rec,) = mgr.wait([orphan.id], timeout=10)
            assert rec.state is JobState.ORPHANED and "without leaving a result" in rec.error
