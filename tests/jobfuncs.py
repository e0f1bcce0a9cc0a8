"""A user's own job functions, in a module the job process cannot import by name
(as a helper module next to a notebook): they travel by value."""

from __future__ import annotations

import os
import time

from quacc import job


@job
def scaled_volume_job(atoms, factor: float = 1.0):
    """A user's own quacc job: scale the cell and return a small dict.

    Parameters
    ----------
    atoms
        The structure.
    factor
        Volume scale factor.
    """
    atoms = atoms.copy()
    atoms.set_cell(atoms.cell * factor ** (1 / 3), scale_atoms=True)
    return {"volume": atoms.get_volume(), "n": len(atoms)}


def failing_job(atoms, message: str = "boom"):
    """Writes a file into the job's results dir, then raises with ``message``."""
    from quacc import get_settings  # per thread: the job's own RESULTS_DIR

    with open(os.path.join(get_settings().RESULTS_DIR, "partial-output.txt"), "w") as fh:
        fh.write("written before the failure\n")
    raise RuntimeError(message)


def sleeping_job(
    atoms, seconds: float = 5.0, marker: str | None = None, until: str | None = None
):
    """Sleeps, then returns a number; writes ``marker`` (a path) when it starts.

    With ``until`` (a path), it first waits (at most 5 minutes) for that file to
    appear, so a test decides when the job may end however slow the machine is.
    """
    if marker:
        with open(marker, "w") as fh:
            fh.write(str(os.getpid()))
    deadline = time.monotonic() + 300
    while until and not os.path.exists(until) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(seconds)
    return seconds


def thread_limits_job(atoms):
    """What the job process's numerical libraries were told, and the threads it runs."""
    import numpy as np

    from crystalwidgets._procs import THREAD_VARS

    a = np.ones((200, 200))
    a @ a  # BLAS in use: its thread pool, if any, exists
    return {
        "env": {var: os.environ.get(var) for var in THREAD_VARS},
        "threads": len(os.listdir("/proc/self/task")),
    }


def schema_job(atoms):
    """A user's job returning what quacc's recipes return: the atoms and their results."""
    return {"atoms": atoms.copy(), "results": {"energy": -1.0}, "converged": True}
