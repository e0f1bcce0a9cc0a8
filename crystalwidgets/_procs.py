"""Process helpers shared by the manager and every runner: identity, kill, owners, threads.

- a process is named by pid *and* start time, so a reused pid is never mistaken for it;
- a job's process group is killed SIGTERM first, SIGKILL after :data:`KILL_GRACE_S`;
- each manager has an owner id (host:pid:start:instance) telling whether it still lives:
  on this host by its process, on another by its heartbeat in the store;
- job processes get their share of the cores for BLAS/OpenMP threads.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from typing import Any

import psutil

__all__ = [
    "HEARTBEAT_EXPIRY_S",
    "HEARTBEAT_S",
    "KILL_GRACE_S",
    "THREAD_VARS",
    "started_at",
    "kill_group",
    "owner_alive",
    "owner_host",
    "owner_id",
    "process_alive",
    "thread_env",
    "worker_prologue",
    "thread_exports",
]

#: Seconds between SIGTERM and SIGKILL when a job's process group is stopped.
KILL_GRACE_S = 3.0


def started_at(pid: int) -> float | None:
    """When process ``pid`` started (psutil's clock), or None when it is gone."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def process_alive(pid: int | None, create_time: float | None) -> bool:
    """True when process ``pid`` exists and started at ``create_time`` (not a reused pid)."""
    if not pid or create_time is None:
        return False
    try:
        proc = psutil.Process(pid)
        return abs(proc.create_time() - create_time) < 0.05 and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def kill_group(pgid: int, sig: int, *, leader: bool = True) -> None:
    """Signal the job's process group; with ``leader``, also its leader before it made the group.

    Pass ``leader=False`` once the leader was reaped: its pid may belong to someone else.
    """
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        if leader:
            try:
                os.kill(pgid, sig)
            except (ProcessLookupError, PermissionError):
                pass
    except PermissionError:
        pass


def owner_id() -> str:
    """host:pid:process start:instance, so two managers in one process are told apart."""
    me = psutil.Process()
    return f"{socket.gethostname()}:{me.pid}:{me.create_time():.3f}:{uuid.uuid4().hex[:8]}"


#: Seconds between a manager's heartbeats in the store (written by its monitor).
HEARTBEAT_S = 30.0
#: A manager on another host whose heartbeat is older than this (three missed beats) is dead.
HEARTBEAT_EXPIRY_S = 3 * HEARTBEAT_S

_UNASKED: Any = object()


def owner_host(owner: str | None) -> str:
    """The host part of an owner id ("" when there is none)."""
    return (owner or "").split(":", 1)[0]


def owner_alive(owner: str | None, manager: Any = _UNASKED, *, now: float | None = None) -> bool:
    """True when ``owner`` is a live manager.

    On this host its process decides (pid and start time). On another host its record
    in the store's managers table (``manager``: a
    :class:`~crystalwidgets.jobs.store.ManagerRecord`, or None when it has none) decides:
    alive while it has not closed, its allocation has not ended and its heartbeat is
    younger than :data:`HEARTBEAT_EXPIRY_S`. Called without ``manager`` (the table was
    not read), an owner on another host cannot be judged and counts as alive.
    """
    if not owner:
        return False
    host, pid, created, *_ = (owner.split(":") + ["", ""])[:4]
    if host == socket.gethostname():
        try:
            return process_alive(int(pid), float(created))
        except ValueError:
            return False
    if manager is _UNASKED:
        return True
    if manager is None or manager.closed is not None:
        return False
    now = time.time() if now is None else now
    if manager.alloc_end is not None and now > manager.alloc_end:
        return False
    return now - manager.heartbeat <= HEARTBEAT_EXPIRY_S


# Threads per job. OpenBLAS, MKL and OpenMP start one thread per core in every process by
# default; jobs sharing a machine (the local runner's processes, the workers of an HTEX
# block) then run cores x jobs threads that spin against each other: two EMT relaxations
# side by side on a 2-core VM took 1.27 s each instead of 0.066 s. Each job process
# therefore gets the cores it was given (cores // max_workers locally, cores_per_worker on
# HTEX), unless the user's environment or worker_init already sets the variable: that wins.

#: The variables each library reads at start-up (the set joblib's loky limits too).
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def _count(cores: float) -> str:
    return str(max(1, int(cores)))


def thread_env(cores: float) -> dict[str, str]:
    """This process's environment with every unset :data:`THREAD_VARS` set to ``cores``."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env.setdefault(var, _count(cores))
    return env


def worker_prologue(worker_init: str, cores: float) -> str:
    """The shell lines before an engine's workers start on a node: ``worker_init`` (or, when
    empty, a line putting this kernel's Python environment first on PATH), then
    :func:`thread_exports` for ``cores`` (where ``worker_init`` set no limit)."""
    import shlex
    import sys
    from pathlib import Path

    first = worker_init if worker_init.strip() else f'export PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"'
    return first + "\n" + thread_exports(cores)


def thread_exports(cores: float) -> str:
    """Shell lines doing what :func:`thread_env` does, for a worker's start script."""
    n = _count(cores)
    return "\n".join(f'export {var}="${{{var}:-{n}}}"' for var in THREAD_VARS)
