"""The Covalent task of a crystalwidgets job: what runs in the server's executor.

:func:`run_job` is the electron's body, a plain function of the installed package (the
executor imports it by name). It runs the plain job body,
:func:`crystalwidgets.jobs.task.run` (quacc's engine stays unset; RESULTS_DIR is set
inside the body, so quacc's files and the outcome land in the job's work dir, never in
Covalent's package dir), and makes the job cancellable, which ``ct.cancel`` alone is not
(it marks the dispatch CANCELLED while the task goes on):

- **Claim.** The task checks the job's cancel flag, records its claim (``cw-task.json``)
  and checks the flag again: a job cancelled before this never starts.
- **Job process.** The body runs in the executor worker's job process
  (:func:`crystalwidgets.runners.worker.claim.run_in_job_process`: its own session, so
  its process group holds everything the recipe starts); the worker watches the flag
  and kills that group when it appears.
- **Ended.** Last, the task writes what became of the job (``cw-covalent.json``: the
  job process's answer and when), so the runner can tell, on any host sharing the work
  dir, that nothing of the job runs any more.

This module imports nothing of Covalent: :mod:`.dispatch` wraps :func:`run_job` in an
electron and a one-electron lattice on the kernel's side.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..._files import write_json
from ..worker.claim import claim, run_in_job_process, where

__all__ = ["ENDED", "run_job"]

#: Written by the task when it returns: ``state`` (the job process's answer) and ``ended``.
ENDED = "cw-covalent.json"


def run_job(work_dir: str, job_id: str) -> dict[str, Any]:
    """The electron: run the job in ``work_dir`` unless it was cancelled.

    Returns the job process's answer (see :meth:`~..worker.job_process.JobProcess.run`):
    ``completed``/``failed`` (the body's state; the outcome is in the work dir),
    ``cancelled`` (``ran`` says whether it had started), ``killed`` (a signal nobody
    asked for) or ``failed`` with an ``exit_code``.
    """
    wd = Path(work_dir)
    place = where(engine="covalent")
    if not claim(job_id, wd, place):
        answer: dict[str, Any] = {"state": "cancelled", "ran": False}
    else:
        answer = run_in_job_process(wd, job_id, place, lambda info: None)
    write_json(wd / ENDED, {**answer, "ended": time.time()})
    return answer
