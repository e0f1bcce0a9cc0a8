"""The Parsl task of a crystalwidgets job: what runs on the worker.

:func:`run_job` is the app body the Parsl runner submits; it lives inside the
installed package so any worker that can import crystalwidgets can run it.
It runs the plain job body, :func:`crystalwidgets.jobs.task.run` (quacc's engine
stays unset; RESULTS_DIR is set inside the body, so quacc's files and the
outcome land in the job's work dir), and makes Parsl's jobs observable and
cancellable, which Parsl alone cannot do:

- **Claim.** Before anything runs, the task checks the job's cancel flag
  (``cw-cancel`` in the work dir), records its claim (``cw-task.json``: host,
  worker, Slurm job, block) and checks the flag again. A runner that writes
  the flag and then finds no claim knows the job can never start.
- **Started.** On an HTEX worker the job body runs in the worker's job process
  (see :mod:`crystalwidgets.runners.worker.job_process`: forked once per worker, in its own session, so its
  process group holds everything the recipe spawns). The task records that
  process's pid in ``cw-task.json`` and reports it to the runner at once over
  TCP (one line, HMAC-signed with the runner's per-kernel key).
- **Cancel.** The worker waits for the job while watching the cancel flag; when
  it appears the job process's group gets SIGTERM, then SIGKILL after a grace,
  and the worker's next job gets a new job process. Only the worker knows
  which job its job process runs at that instant, so only the worker kills.
  The worker, its block and other jobs are never touched.

With the thread-pool executor the body runs in the kernel's own thread; the
runner passes an in-process ``link`` instead (see :class:`RemoteLink` for the
methods a link has).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from ..worker.claim import CANCEL, TASK, claim, record_started, run_in_job_process, where

__all__ = ["run_job", "RemoteLink", "JobCancelled", "CANCEL", "TASK", "sign", "verify"]

_NOTIFY_TIMEOUT_S = 1.0


class JobCancelled(BaseException):
    """Raised inside a thread-pool job to stop it (not an ``Exception``: the body lets it pass)."""


def sign(key: str, text: str) -> str:
    """HMAC-SHA256 of ``text`` under the hex ``key``."""
    return hmac.new(bytes.fromhex(key), text.encode(), hashlib.sha256).hexdigest()


def verify(key: str, line: bytes) -> dict[str, Any] | None:
    """The message in a signed notification line, or None when the signature is wrong."""
    try:
        mac, _, text = line.decode().strip().partition(" ")
        if not hmac.compare_digest(mac, sign(key, text)):
            return None
        msg = json.loads(text)
        return msg if isinstance(msg, dict) else None
    except (UnicodeDecodeError, ValueError):
        return None


def _where() -> dict[str, Any]:
    return where(block=os.environ.get("PARSL_WORKER_BLOCK_ID"))


@dataclasses.dataclass(frozen=True)
class RemoteLink:
    """How a task on an HTEX worker claims its job and reports its start.

    Parameters
    ----------
    addresses
        Addresses of the submitting host to try, in order.
    port
        The runner's notification port.
    key
        Hex HMAC key of the runner (travels with the task over Parsl's channel).
    """

    addresses: tuple[str, ...]
    port: int
    key: str
    fork: bool = True

    def claim(self, job_id: str, work_dir: Path) -> bool:
        """Record the claim; False when the job was cancelled (it must not start)."""
        return claim(job_id, work_dir, _where())

    def started(self, job_id: str, work_dir: Path, info: dict[str, Any]) -> None:
        """Record the running child and tell the runner (best effort: the file is the fallback)."""
        record_started(job_id, work_dir, info)
        self.notify(job_id, info)

    def notify(self, job_id: str, info: dict[str, Any]) -> None:
        """Tell the runner over TCP that the job started (one signed line)."""
        text = json.dumps({"job_id": job_id, "info": info}, separators=(",", ":"))
        line = f"{sign(self.key, text)} {text}\n".encode()
        for addr in self.addresses:
            try:
                with socket.create_connection((addr, self.port), timeout=_NOTIFY_TIMEOUT_S) as s:
                    s.sendall(line)
                return
            except OSError:
                continue

    def finished(self, job_id: str) -> None:
        """Nothing to release for a forked job."""


def run_job(work_dir: str, job_id: str, link: Any) -> dict[str, Any]:
    """Parsl app body: run the job in ``work_dir`` unless it was cancelled.

    Returns ``{"state": ...}``: the body's final state (``completed``/``failed``),
    ``cancelled`` (stopped or never started; ``ran`` says which), or ``killed``
    (the job's process died of a signal nobody asked for). A body run in the
    worker's own thread (no fork) also returns its ``outcome``, so the runner
    need not read it back from the work dir.
    """
    wd = Path(work_dir)
    if not link.claim(job_id, wd):
        return {"state": "cancelled", "ran": False}
    if link.fork:
        return run_in_job_process(wd, job_id, _where(), lambda info: link.notify(job_id, info))
    from ...jobs import task as _task

    try:
        try:
            link.started(job_id, wd, {"pid": os.getpid(), "started": time.time(), **_where()})
            outcome = _task.run(wd, own_process=False)  # in the kernel; the link told the runner
        finally:
            link.finished(job_id)
    except JobCancelled:
        return {"state": "cancelled", "ran": True}
    return {"state": outcome["state"], "outcome": outcome}
