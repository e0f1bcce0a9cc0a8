"""The Dask task of a crystalwidgets job: what runs on the worker.

:func:`run_dask_job` claims the job (the cancel flag and ``cw-task.json`` of
:mod:`crystalwidgets.runners.worker.claim`), runs it in the worker thread's job process
(forked once, in a session of its own, so cancel kills the job and what it started and
leaves the worker alone), and tells the runner it started through Dask's own event
channel (``Worker.log_event`` on the runner's topic; the file is the fallback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..worker.claim import claim, run_in_job_process, where

__all__ = ["run_dask_job"]


def run_dask_job(work_dir: str, job_id: str, topic: str) -> dict[str, Any]:
    """Dask task body: run the job in ``work_dir`` unless it was cancelled.

    Returns ``{"state": ...}`` as :meth:`~crystalwidgets.runners.worker.job_process.JobProcess.run`
    does (``completed``, ``failed``, ``cancelled``, ``killed``), or ``cancelled`` with
    ``ran`` False when the job was cancelled before it started.
    """
    from distributed import get_worker

    worker = get_worker()
    wd = Path(work_dir)
    place = where(worker=worker.address, worker_name=str(worker.name))
    if not claim(job_id, wd, place):
        return {"state": "cancelled", "ran": False}

    def started(info: dict[str, Any]) -> None:
        worker.log_event(topic, {"job_id": job_id, "info": info})

    return run_in_job_process(wd, job_id, place, started)
