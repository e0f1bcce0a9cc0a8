"""Job functions of the engine tests (a module the workers cannot import: they travel by value)."""

from __future__ import annotations

import os
import time


def looping_job(atoms, seconds: float = 60.0, marker: str | None = None):
    """Runs Python for ``seconds`` (short sleeps: a thread can be stopped between them)."""
    if marker:
        with open(marker, "w") as fh:
            fh.write(str(os.getpid()))
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.05)
    return seconds


def noop_job(atoms):
    """Returns the number of atoms."""
    return len(atoms)


def chatty_job(atoms, text: str = "", leave_cwd: str | None = None):
    """Prints ``text``, optionally leaves the process in another directory; returns its pid."""
    print(text, flush=True)
    if leave_cwd:
        os.chdir(leave_cwd)
    return {"pid": os.getpid(), "cwd": os.getcwd()}


def printing_job(atoms, text: str = "", lines: int = 100, seconds: float = 1.0):
    """Prints ``lines`` numbered lines of ``text`` to stdout and to stderr over ``seconds``."""
    import sys

    for i in range(lines):
        print(f"{text} {i}")
        print(f"{text} err {i}", file=sys.stderr)
        time.sleep(seconds / lines)
    return lines


def worker_killer_job(atoms):
    """Kills the worker that runs it (its job process's parent), as an out-of-memory kill would."""
    import signal

    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(30)
    return "survived"


def slurm_env_job(atoms):
    """The Slurm allocation the job runs in, as its own environment tells it."""
    names = ("SLURM_JOB_ID", "SLURM_CPUS_ON_NODE", "SLURM_JOB_CPUS_PER_NODE", "SLURM_MEM_PER_CPU",
             "SLURM_MEM_PER_NODE")
    return {name: os.environ.get(name) for name in names} | {"cpus": len(os.sched_getaffinity(0))}
