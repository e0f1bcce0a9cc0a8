"""The cancel story every worker engine tells (Parsl HTEX and Dask; workers on this machine, and blocks on Slurm).

A pending job never starts; a running one's process group dies within seconds while its
worker (and its block) live on and take the next job, in a new job process.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from ase.build import bulk

from crystalwidgets import JobState
from tests.helpers import states_seen, wait_until
from tests.runners.jobs import looping_job, noop_job

#: The worker looks for cancel flags every 0.5 s: after this, a cancelled job that has not
#: started would have been seen (and must not have run).
FLAG_SEEN_S = 1.0


def cancel_pending_and_running(
    mgr, profile: str, tmp_path: Path, block_running: Callable[[dict], None] | None = None
) -> None:
    """Tell the story on ``profile`` (one worker). ``block_running(engine_ref)``, when given,
    asserts that the job's block is still running (Slurm: squeue), before and after."""
    seen = states_seen(mgr)
    cu = bulk("Cu")
    running = mgr.submit(cu, looping_job, profile, seconds=120, marker=str(tmp_path / "run"))
    pending = mgr.submit(cu, looping_job, profile, seconds=120, marker=str(tmp_path / "never"))
    rec = wait_until(
        lambda: ((r := mgr.get(running.id)).state is JobState.RUNNING and (tmp_path / "run").exists() and r),
        90,
        "the first job running",
    )
    ref = rec.engine_ref
    job_proc, worker = psutil.Process(ref["pid"]), psutil.Process(ref["worker_pid"])
    assert job_proc.ppid() == worker.pid and os.getpgid(job_proc.pid) == job_proc.pid
    assert int((tmp_path / "run").read_text()) == job_proc.pid  # the recipe runs in that process
    assert mgr.get(pending.id).state is JobState.PENDING  # one worker: it waits
    if block_running:
        block_running(ref)

    t0 = time.monotonic()
    mgr.cancel(pending.id)
    assert mgr.wait([pending.id], timeout=2)[0].state is JobState.CANCELLED
    mgr.cancel(running.id)
    assert mgr.wait([running.id], timeout=10)[0].state is JobState.CANCELLED
    assert time.monotonic() - t0 < 5
    assert seen[running.id] == ["pending", "running", "cancelled"]
    assert seen[pending.id] == ["pending", "cancelled"]
    # ps: exactly the job's process is gone; its worker and the worker's pool live on
    assert not job_proc.is_running()
    assert worker.is_running() and psutil.pid_exists(worker.ppid())
    if block_running:
        block_running(ref)

    nxt = mgr.submit(cu, noop_job, profile)
    (done,) = mgr.wait([nxt.id], timeout=60)
    assert done.state is JobState.COMPLETED, done.error
    assert done.engine_ref["worker_pid"] == worker.pid  # the same worker took it...
    assert done.engine_ref["pid"] != job_proc.pid  # ...in a new job process
    assert done.engine_ref.get("slurm_job_id") == ref.get("slurm_job_id")  # ...in the same block
    time.sleep(FLAG_SEEN_S)  # a bounded "nothing happened": the cancelled job never ran
    assert not (tmp_path / "never").exists()
    assert not (Path(pending.work_dir) / "cw-started.json").exists()
