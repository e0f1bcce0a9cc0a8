"""Life inside a Slurm allocation: is this kernel in one, which, until when, on how many cores.

When JupyterHub's batchspawner, Open OnDemand or a user's own ``sbatch``/``salloc``
starts the notebook server as a Slurm job, the kernel (and so the JobManager) lives
inside that job: its walltime ends the kernel, and its cores are there to use.
:func:`current_allocation` reads what Slurm puts in the environment (``SLURM_JOB_ID``,
``SLURMD_NODENAME``, ``SLURM_CPUS_ON_NODE``...) and asks ``squeue`` (bounded) for the
end time; :data:`ALLOCATION_PROFILE` names the built-in ``local`` profile that runs
jobs on the allocation's own cores. :func:`job_outcome` tells, afterwards, how a
Slurm job ended (``squeue -t all``, else ``sacct``), for the reason a later kernel
gives its orphaned jobs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from .base import LocalProfile

__all__ = [
    "ALLOCATION_PROFILE",
    "Allocation",
    "allocation_profile",
    "current_allocation",
    "ended_text",
    "job_outcome",
]

#: Name of the built-in profile running on the allocation's cores.
ALLOCATION_PROFILE = "allocation"
#: Seconds any Slurm command here may take.
_SLURM_TIMEOUT_S = 5.0


def _cpus(env: Mapping[str, str]) -> int | None:
    # SLURM_CPUS_ON_NODE is what this node got; SLURM_JOB_CPUS_PER_NODE reads "4" or "4(x2),2"
    for var in ("SLURM_CPUS_ON_NODE", "SLURM_JOB_CPUS_PER_NODE"):
        text = env.get(var, "").split(",")[0].split("(")[0]
        if text.isdigit() and int(text) > 0:
            return int(text)
    return None


def _slurm_time(text: str) -> float | None:
    """Epoch seconds of Slurm's ``2026-12-02T08:10:00`` (local time); None for Unknown/N/A."""
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        return None


def _run(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_SLURM_TIMEOUT_S)
    except (subprocess.TimeoutExpired, OSError):
        return None
    return proc.stdout if proc.returncode == 0 else None


@dataclass(frozen=True)
class Allocation:
    """The Slurm job this kernel runs in.

    Attributes
    ----------
    job_id : str
        ``SLURM_JOB_ID``.
    node : str
        The node this kernel runs on.
    cpus : int
        Cores allocated on this node.
    end : float or None
        When the walltime ends (epoch seconds), None when Slurm did not say.
    partition : str or None
    """

    job_id: str
    node: str
    cpus: int
    end: float | None = None
    partition: str | None = None

    def describe(self) -> str:
        """One line for the picker: "this kernel runs in Slurm job 123 on node n1, 4 cores, ends at 08:10"."""
        cores = f"{self.cpus} core{'s' if self.cpus != 1 else ''}"
        text = f"this kernel runs in Slurm job {self.job_id} on node {self.node}, {cores}"
        if self.end is not None:
            text += f", ends at {time.strftime('%H:%M', time.localtime(self.end))}"
            if self.end - time.time() > 86400:
                text += time.strftime(" on %Y-%m-%d", time.localtime(self.end))
        return text


def current_allocation(env: Mapping[str, str] | None = None, *, ask_slurm: bool = True) -> Allocation | None:
    """The Slurm allocation this process runs in, or None outside one.

    Parameters
    ----------
    env
        The environment to read (default ``os.environ``).
    ask_slurm
        Ask ``squeue`` (bounded to a few seconds) for the end time when the environment
        does not hold it (``SLURM_JOB_END_TIME``, Slurm 23.02 and newer).
    """
    env = os.environ if env is None else env
    job_id = env.get("SLURM_JOB_ID") or env.get("SLURM_JOBID")
    if not job_id:
        return None
    node = env.get("SLURMD_NODENAME") or env.get("SLURM_TOPOLOGY_ADDR") or os.uname().nodename
    cpus = _cpus(env) or os.cpu_count() or 1
    end: float | None = None
    if env.get("SLURM_JOB_END_TIME", "").isdigit():
        end = float(env["SLURM_JOB_END_TIME"])
    elif ask_slurm:
        out = _run(["squeue", "-h", "-j", job_id, "-o", "%e"])
        end = _slurm_time(out.splitlines()[0]) if out and out.strip() else None
    return Allocation(job_id, node, cpus, end, env.get("SLURM_JOB_PARTITION") or None)


def allocation_profile(alloc: Allocation | None) -> LocalProfile:
    """The built-in profile :data:`ALLOCATION_PROFILE`: local processes on the allocation's cores.

    Outside an allocation (a later kernel recovering such jobs) it is a plain local
    profile of that name, so jobs submitted to it are still found and reattached.
    """
    if alloc is None:
        return LocalProfile(
            name=ALLOCATION_PROFILE,
            description="Jobs ran on the cores of the Slurm job this kernel ran in; "
            "this kernel is not in an allocation now (they run on this machine).",
        )
    return LocalProfile(
        name=ALLOCATION_PROFILE,
        max_workers=alloc.cpus,
        description=f"Jobs run on this allocation's own {alloc.cpus} cores (Slurm job {alloc.job_id} "
        f"on {alloc.node}); they end with it.",
    )


def job_outcome(job_id: str) -> tuple[str, float | None] | None:
    """How Slurm job ``job_id`` stands: (state, end time), e.g. ("CANCELLED", 1764662000.0).

    Asks ``squeue -t all`` (which keeps ended jobs for MinJobAge, 5 min by default),
    then ``sacct`` (where accounting runs). None when neither knows the job. Bounded.
    """
    out = _run(["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T|%e"])
    if out and out.strip():
        state, _, end = out.splitlines()[0].partition("|")
        return state.strip(), _slurm_time(end)
    out = _run(["sacct", "-n", "-P", "-X", "-j", job_id, "-o", "State,End"])
    if out and out.strip():
        state, _, end = out.splitlines()[0].partition("|")
        return state.split()[0], _slurm_time(end)
    return None


def ended_text(job_id: str, host: str, *, alloc_end: float | None, heartbeat: float) -> str:
    """Why a kernel that ran in Slurm job ``job_id`` is gone, in words, for orphaned jobs.

    E.g. "its kernel ran in Slurm job 123 on vm, which ended (CANCELLED) at 07:42".
    """
    head = f"its kernel ran in Slurm job {job_id} on {host}"
    outcome = job_outcome(job_id)
    if outcome is not None and outcome[0] not in ("RUNNING", "PENDING", "COMPLETING", "SUSPENDED"):
        state, end = outcome
        when = end or alloc_end or heartbeat
        return f"{head}, which ended ({state}) at {time.strftime('%H:%M:%S', time.localtime(when))}"
    if alloc_end is not None and alloc_end < time.time():
        return f"{head}, whose walltime ended at {time.strftime('%H:%M:%S', time.localtime(alloc_end))}"
    return f"{head}; it stopped its heartbeat at {time.strftime('%H:%M:%S', time.localtime(heartbeat))}"
