"""Slurm's own commands, wrapped: bounded, parsed, with errors that say what to do.

Engine-free (no Parsl): profiles use these for their pre-flight check and the
Parsl runner for block health. Every call runs the real command with a timeout
(:data:`TIMEOUT_S` unless told) and raises :class:`SlurmError` naming the command
and the fix; nothing here can hang the kernel.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import SlurmError

__all__ = [
    "SlurmError",
    "Partition",
    "SlurmJob",
    "COMMANDS",
    "NEVER_STARTS",
    "missing_commands",
    "run",
    "partitions",
    "partition",
    "parse_walltime",
    "format_minutes",
    "test_submit",
    "queue",
    "cancel",
    "ALLOCATION_PREFIXES",
    "CONFIG_VARS",
    "submit_env",
]

#: Seconds any one Slurm command may take.
TIMEOUT_S = 15.0

#: The commands crystalwidgets uses.
COMMANDS = ("sinfo", "squeue", "sbatch", "scancel", "scontrol")

#: Reasons Slurm gives for a pending job that will not start as submitted: waiting
#: cannot help, the request itself must change (e.g. under ``EnforcePartLimits=NO``
#: a walltime over the partition's MaxTime pends forever as PartitionTimeLimit).
NEVER_STARTS = frozenset(
    {
        "PartitionTimeLimit",
        "PartitionNodeLimit",
        "BadConstraints",
        "InvalidAccount",
        "InvalidQOS",
        "QOSMaxWallDurationPerJobLimit",
        "QOSMaxNodePerJobLimit",
        "QOSMaxCpuPerJobLimit",
        "QOSMaxMemoryPerJob",
        "AssocMaxWallDurationPerJobLimit",
        "AssocMaxNodesPerJobLimit",
        "AssocMaxCpuPerJobLimit",
        "AccountNotAllowed",
        "QOSNotAllowed",
        "PartitionNotAllowed",
        "DependencyNeverSatisfied",
    }
)

#: Slurm job states after which nothing of the job runs.
FINISHED = frozenset(
    {
        "COMPLETED",
        "CANCELLED",
        "FAILED",
        "TIMEOUT",
        "NODE_FAIL",
        "PREEMPTED",
        "BOOT_FAIL",
        "DEADLINE",
        "OUT_OF_MEMORY",
        "REVOKED",
        "SPECIAL_EXIT",
    }
)


@dataclasses.dataclass(frozen=True)
class Partition:
    """What ``scontrol show partition`` says about one partition (limits as numbers)."""

    name: str
    state: str
    default: bool
    #: MaxTime in minutes; None when UNLIMITED.
    max_time_min: float | None
    #: MaxNodes per job; None when UNLIMITED.
    max_nodes: int | None
    total_nodes: int
    total_cpus: int
    #: Smallest CPU count and memory (MiB) of the partition's nodes.
    cpus_per_node: int | None
    mem_per_node_mb: int | None


@dataclasses.dataclass(frozen=True)
class SlurmJob:
    """One line of ``squeue``: a job's id, name, state and Slurm's reason."""

    job_id: str
    name: str
    state: str
    reason: str
    nodes: str
    time_limit: str

    @property
    def finished(self) -> bool:
        """True when nothing of the job runs any more."""
        return self.state in FINISHED

    @property
    def never_starts(self) -> bool:
        """True for a pending job Slurm will not start as it was submitted."""
        return self.state == "PENDING" and self.reason in NEVER_STARTS

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return dataclasses.asdict(self)


#: Prefixes of the variables Slurm sets inside a job (and its steps) describing that job's
#: allocation. ``sbatch`` copies the submitter's environment into the new job, so from
#: inside an allocation (a Jupyter server started by batchspawner, an ``salloc`` shell)
#: they would reach the new job too: its ``srun`` then reads the parent's memory and CPU
#: requests beside its own (``srun: fatal: SLURM_MEM_PER_CPU, SLURM_MEM_PER_GPU, and
#: SLURM_MEM_PER_NODE are mutually exclusive``). ``SBATCH_*`` are the user's own defaults
#: for sbatch (Slurm never sets them in a job) and stay.
ALLOCATION_PREFIXES = ("SLURM_", "SLURMD_", "SRUN_")

#: Variables with those prefixes that configure Slurm's commands, not describe a job: kept.
CONFIG_VARS = frozenset({"SLURM_CONF", "SLURM_CLUSTERS", "SLURM_TIME_FORMAT"})


def submit_env(environ: os._Environ | dict[str, str] | None = None) -> dict[str, str]:
    """The environment to run Slurm's commands with: ``environ`` (default: this process's)
    without the variables of the allocation this process may run in.

    Every ``sbatch`` crystalwidgets or an engine (Parsl's ``SlurmProvider``, dask-jobqueue)
    runs gets it, so a block submitted from a kernel inside a Slurm job asks for, and gets,
    its own resources. Outside an allocation it changes nothing but the rare user-set
    ``SLURM_*`` input variable (:data:`CONFIG_VARS` such as ``SLURM_CONF`` stay).

    Parameters
    ----------
    environ
        The environment to clean; not modified.

    Returns
    -------
    dict
        A new mapping for ``subprocess``'s ``env``.
    """
    source = os.environ if environ is None else environ
    return {k: v for k, v in source.items() if k in CONFIG_VARS or not k.startswith(ALLOCATION_PREFIXES)}


def missing_commands() -> list[str]:
    """The Slurm commands not found on PATH."""
    return [c for c in COMMANDS if shutil.which(c) is None]


def _call(args: Sequence[str], timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env=submit_env(),
        )
    except FileNotFoundError:
        raise SlurmError(
            f"{args[0]} not found: Slurm's commands are not on PATH on this machine "
            "(run where Slurm is installed, e.g. a login node, or load its module)"
        ) from None
    except subprocess.TimeoutExpired:
        raise SlurmError(
            f"`{' '.join(args)}` did not answer within {timeout:.0f} s: Slurm's controller is "
            "down or overloaded; try again later or ask your site's support"
        ) from None


def run(args: Sequence[str], *, timeout: float = TIMEOUT_S, check: bool = True) -> str:
    """Run a Slurm command; return its stdout.

    Raises
    ------
    SlurmError
        When the command is missing, times out, or (``check``) exits non-zero; the
        message names the command and quotes Slurm's own error.
    """
    proc = _call(args, timeout)
    if check and proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip()
        raise SlurmError(f"`{' '.join(args)}` failed (exit {proc.returncode}): {err}")
    return proc.stdout


def _fields(line: str) -> dict[str, str]:
    # scontrol -o: "Key=Value Key=Value ..."; values may hold spaces only in a few
    # keys we do not use, so split on " Key=" boundaries.
    out = {}
    for m in re.finditer(r"(\w+)=(.*?)(?=\s+\w+=|$)", line.strip()):
        out[m.group(1)] = m.group(2)
    return out


def _limit(text: str | None) -> int | None:
    if text is None or text.upper() in ("UNLIMITED", "INFINITE", "NONE", "N/A"):
        return None
    try:
        return int(text)
    except ValueError:
        return None


def parse_walltime(text: str) -> float | None:
    """Minutes in a Slurm time (``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH[:MM[:SS]]``).

    Returns None for ``UNLIMITED``/``INFINITE``.

    Raises
    ------
    ValueError
        For text that is not a Slurm time, naming the accepted forms.
    """
    t = text.strip()
    if t.upper() in ("UNLIMITED", "INFINITE"):
        return None
    m = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", t)
    if not m:
        raise ValueError(
            f"{text!r} is not a Slurm time; use HH:MM:SS (e.g. 01:30:00), MM, or D-HH:MM:SS"
        )
    days, a, b, c = m.groups()
    nums = [int(x) for x in (a, b, c) if x is not None]
    # after the leading number, minutes and seconds count to 59 (and hours to 23 after a day)
    bounded = nums[1:] if days is None else nums
    limits = ([23] if days is not None else []) + [59, 59]
    for value, limit in zip(bounded, limits):
        if value > limit:
            unit = {23: "hours after a day count", 59: "minutes and seconds count"}[limit]
            raise ValueError(
                f"{text!r} is not a Slurm time: {unit} from 0 to {limit}; "
                "use HH:MM:SS (e.g. 01:30:00), MM, or D-HH:MM:SS"
            )
    if days is not None:  # D-HH, D-HH:MM, D-HH:MM:SS
        hours, minutes, seconds = (nums + [0, 0])[:3]
        return int(days) * 1440 + hours * 60 + minutes + seconds / 60
    if len(nums) == 1:  # MM
        return float(nums[0])
    if len(nums) == 2:  # MM:SS
        return nums[0] + nums[1] / 60
    return nums[0] * 60 + nums[1] + nums[2] / 60  # HH:MM:SS


def format_minutes(minutes: float | None) -> str:
    """``HH:MM:SS`` for a number of minutes (``UNLIMITED`` for None)."""
    if minutes is None:
        return "UNLIMITED"
    secs = int(round(minutes * 60))
    return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"


def partitions(*, timeout: float = TIMEOUT_S) -> dict[str, Partition]:
    """Every partition the user can see, by name, with its limits and node sizes."""
    parts = [
        _fields(ln)
        for ln in run(["scontrol", "show", "partition", "-o"], timeout=timeout).splitlines()
        if ln.strip()
    ]
    sizes: dict[str, tuple[int | None, int | None]] = {}
    for line in run(["sinfo", "-h", "-o", "%R|%c|%m"], timeout=timeout).splitlines():
        name, _, rest = line.partition("|")
        cpus, _, mem = rest.partition("|")
        c, m = _limit(cpus.rstrip("+")), _limit(mem.rstrip("+"))
        old_c, old_m = sizes.get(name, (None, None))
        sizes[name] = (
            c if old_c is None else min(old_c, c or old_c),
            m if old_m is None else min(old_m, m or old_m),
        )
    out = {}
    for p in parts:
        name = p.get("PartitionName", "")
        if not name:
            continue
        max_time = p.get("MaxTime", "UNLIMITED")
        cpus, mem = sizes.get(name, (None, None))
        out[name] = Partition(
            name=name,
            state=p.get("State", "UNKNOWN"),
            default=p.get("Default") == "YES",
            max_time_min=parse_walltime(max_time) if max_time else None,
            max_nodes=_limit(p.get("MaxNodes")),
            total_nodes=_limit(p.get("TotalNodes")) or 0,
            total_cpus=_limit(p.get("TotalCPUs")) or 0,
            cpus_per_node=cpus,
            mem_per_node_mb=mem,
        )
    return out


def partition(name: str | None, *, timeout: float = TIMEOUT_S) -> Partition:
    """The partition called ``name`` (the default one for None).

    Raises
    ------
    SlurmError
        When there is no such partition, listing those there are.
    """
    parts = partitions(timeout=timeout)
    if name is None:
        for p in parts.values():
            if p.default:
                return p
        raise SlurmError(
            f"this cluster has no default partition; set partition to one of {', '.join(parts)}"
        )
    if name not in parts:
        raise SlurmError(
            f"Slurm has no partition {name!r}; the partitions are: {', '.join(parts) or 'none'}"
        )
    return parts[name]


def test_submit(options: Iterable[str], *, timeout: float = TIMEOUT_S) -> str | None:
    """Ask Slurm whether a job with ``options`` would be accepted (``sbatch --test-only``).

    Nothing is queued. Returns None when accepted, else Slurm's error text.
    """
    proc = _call(["sbatch", "--test-only", *options, "--wrap", "true"], timeout)
    if proc.returncode == 0:
        return None
    lines = [ln.removeprefix("sbatch: error: ").strip() for ln in proc.stderr.splitlines()]
    return "; ".join(ln for ln in lines if ln) or f"sbatch exited {proc.returncode}"


def queue(
    *,
    user: str | None = None,
    name_prefix: str | None = None,
    job_ids: Iterable[str] | None = None,
    timeout: float = TIMEOUT_S,
) -> list[SlurmJob]:
    """The user's jobs known to Slurm, finished ones included (``squeue -t all``).

    Filtered by job name prefix and/or ids. Finished jobs stay visible only for
    Slurm's ``MinJobAge`` (300 s by default).
    """
    user = user or getpass.getuser()
    out = run(["squeue", "-h", "-t", "all", "-u", user, "-o", "%i|%T|%r|%N|%l|%j"], timeout=timeout)
    ids = None if job_ids is None else {str(i) for i in job_ids}
    jobs = []
    for line in out.splitlines():
        parts = line.split("|", 5)
        if len(parts) != 6:
            continue
        job_id, state, reason, nodes, limit, name = parts
        if ids is not None and job_id not in ids:
            continue
        if name_prefix is not None and not name.startswith(name_prefix):
            continue
        jobs.append(SlurmJob(job_id, name, state, reason, nodes, limit))
    return jobs


def cancel(job_ids: Iterable[str], *, timeout: float = TIMEOUT_S) -> None:
    """``scancel`` the jobs (already finished ones are fine)."""
    ids = [str(i) for i in job_ids]
    if ids:
        run(["scancel", *ids], timeout=timeout, check=False)


def cancel_until_gone(name_prefix: str, *, timeout: float = 15.0) -> list[SlurmJob]:
    """scancel the user's jobs named ``name_prefix...`` and wait (at most ``timeout``
    seconds) until none is left, completing ones included.

    Returns those still in Slurm at the deadline (empty when all are gone). Raises
    :class:`SlurmError` when Slurm does not answer.
    """
    deadline = time.monotonic() + timeout
    while True:
        alive = [j for j in queue(name_prefix=name_prefix) if not j.finished]
        if not alive or time.monotonic() > deadline:
            return alive
        cancel([j.job_id for j in alive if j.state != "COMPLETING"])
        time.sleep(0.2)
