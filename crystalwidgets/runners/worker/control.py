"""The kernel's side of jobs run in workers' job processes (see :mod:`.claim`).

Given a job's start record (``cw-task.json``, or the engine's message: ``pid``,
``create_time``, ``host``, ``worker_pid``, ``slurm_job_id``), these tell whether the
job process or its worker still lives and kill what runs on this host. A job running on
another host is stopped by its own worker, which watches the cancel flag.
"""

from __future__ import annotations

import signal
import socket
import threading
from typing import Any

from ..._procs import KILL_GRACE_S, kill_group, process_alive

__all__ = ["kill", "here", "worker_alive", "job_alive_here", "where_text", "ended_text"]


def here(info: dict[str, Any]) -> bool:
    """Whether the record names this host."""
    return info.get("host") == socket.gethostname()


def kill(info: dict[str, Any]) -> bool:
    """SIGTERM a running job's process group when it runs on this host, SIGKILL after a grace.

    Returns whether a signal was sent (False: nothing of it runs here).
    """
    pid, create_time = info.get("pid"), info.get("create_time")
    if not pid or not here(info) or not process_alive(pid, create_time):
        return False
    kill_group(pid, signal.SIGTERM)

    def finish() -> None:
        if process_alive(pid, create_time):
            kill_group(pid, signal.SIGKILL)

    timer = threading.Timer(KILL_GRACE_S, finish)
    timer.daemon = True
    timer.start()
    return True


def worker_alive(info: dict[str, Any]) -> bool:
    """Whether the job's worker may still be alive (it is assumed so on another host)."""
    pid = info.get("worker_pid")
    if not pid or not here(info):
        return bool(pid)
    import psutil

    return psutil.pid_exists(pid)


def job_alive_here(info: dict[str, Any]) -> bool:
    """Whether the job's process runs on this host (same pid and start time)."""
    return here(info) and process_alive(info.get("pid"), info.get("create_time"))


def where_text(info: dict[str, Any], *, block: str = "Slurm block") -> str:
    """`` (pid 123 on node1 in Slurm block 45)``, or ``""`` when nothing is known."""
    parts = []
    if info.get("pid"):
        parts.append(f"pid {info['pid']}")
    if info.get("host"):
        parts.append(f"on {info['host']}")
    if info.get("slurm_job_id"):
        parts.append(f"in {block} {info['slurm_job_id']}")
    return f" ({' '.join(parts)})" if parts else ""


def ended_text(answer: dict[str, Any], info: dict[str, Any]) -> str:
    """Why a job whose job process answered ``answer`` (see
    :meth:`~.job_process.JobProcess.run`) left no result: killed by a signal, or its exit code."""
    where = where_text(info)
    if answer.get("state") == "killed":
        return (
            f"the job's process{where} was killed by {answer.get('signal')} without writing a "
            "result (out of memory, or killed by the system or another user?)"
        )
    return f"the job's process{where} exited with code {answer.get('exit_code')} without writing a result"
