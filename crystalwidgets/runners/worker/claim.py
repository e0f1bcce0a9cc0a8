"""The task's side of a job on an engine's worker: claim it, record its start, run it.

The protocol, through files in the job's work dir (which kernel and worker share):

- **Cancel flag** ``cw-cancel``: written by the runner; a job whose flag exists must not
  start, and a running one is killed by its worker (see :class:`.job_process.JobProcess`).
- **Claim** ``cw-task.json``: written by the task before the job starts (host, worker pid,
  Slurm job); the flag is checked before and after, so a runner that wrote the flag and
  then finds no claim knows the job can never start.
- **Started**: the same file, rewritten with the job process's pid and start time; the
  runner hears of it sooner through the engine's own channel when it has one.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..._files import read_json, write_json
from .job_process import JobProcess

__all__ = ["CANCEL", "TASK", "where", "claim", "record_started", "started_info", "run_in_job_process"]

#: Flag file: the job was cancelled; it must not start, and stop if it runs.
CANCEL = "cw-cancel"
#: Written by the task: its claim, then the running child's pid and where it runs.
TASK = "cw-task.json"


def where(**extra: Any) -> dict[str, Any]:
    """Where this task runs: host, worker pid, Slurm job id, and what the engine adds."""
    return {
        "host": socket.gethostname(),
        "worker_pid": os.getpid(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        **extra,
    }


def claim(job_id: str, work_dir: Path, place: dict[str, Any]) -> bool:
    """Record the claim; False when the job was cancelled (it must not start)."""
    if (work_dir / CANCEL).exists():
        return False
    write_json(work_dir / TASK, {"job_id": job_id, "claimed": time.time(), **place})
    return not (work_dir / CANCEL).exists()


def record_started(job_id: str, work_dir: Path, info: dict[str, Any]) -> None:
    """Rewrite the claim with the running job's process (the runner's fallback record)."""
    write_json(work_dir / TASK, {"job_id": job_id, **info})


def started_info(work_dir: Path) -> dict[str, Any] | None:
    """The runner's read of :func:`record_started`: where the job's process runs (its pid,
    worker, host), or None while the job has not started (a claim only, or nothing)."""
    info = read_json(work_dir / TASK)
    if info is None or info.get("pid") is None:
        return None
    return {k: v for k, v in info.items() if k != "job_id"}


def _preload(wd: Path) -> None:
    """Import what the body needs in the worker itself, so its job process starts warm."""
    try:
        import pickle

        import quacc  # noqa: F401  (quacc's own import is the slow part)

        from ...jobs import summary as _summary  # noqa: F401
        from ...jobs import task as _task

        with open(wd / _task.INPUT, "rb") as fh:
            job = pickle.load(fh)
        _task._load_recipe(job["recipe"])  # imports the recipe's module
    except Exception:  # the job reports any real problem in its outcome
        pass


#: The worker's job processes, one per worker thread that runs jobs (made at its first job).
_JOB_PROCESSES: dict[int, JobProcess] = {}
_LOCK = threading.Lock()


def run_in_job_process(
    work_dir: Path, job_id: str, place: dict[str, Any], started: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Run the job in this worker thread's job process and wait for it (watching the flag).

    ``started`` receives the start record (pid, pgid, create_time, started, and ``place``)
    once the job process has it, after it was written to ``cw-task.json``. Returns
    :meth:`.job_process.JobProcess.run`'s answer.
    """
    ident = threading.get_ident()
    with _LOCK:
        proc = _JOB_PROCESSES.get(ident)
    if proc is None or not proc.alive():  # the first job, or the last one was cancelled
        if proc is not None:
            proc.close()
        _preload(work_dir)
        proc = JobProcess(CANCEL)
        with _LOCK:
            _JOB_PROCESSES[ident] = proc
    info = {
        "pid": proc.pid,
        "pgid": proc.pid,
        "create_time": proc.create_time,
        "started": time.time(),
        **place,
    }
    record_started(job_id, work_dir, info)
    started(info)
    return proc.run(work_dir)
