"""What a failed relaxation produced, kept: every step ASE recorded before it stopped.

A relaxation that reaches ``max_steps`` (or whose calculator fails part way) raises, yet
quacc's run dir (``quacc-*``, ``failed-quacc-*`` or ``tmp-quacc-*`` in the job's work dir)
holds ASE's ``opt.traj`` (gzipped or not) with the energy, forces and structure of each
step. :func:`salvage` reads it into the same shape a finished recipe gives (a schema-like
result: ``atoms`` the last structure, ``results``, ``trajectory``, ``trajectory_results``,
``converged`` False), so the summary, the energy plot and the last structure come from the
same code as for a completed job, and the job can be continued from where it stopped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .progress import newest_in_run_dirs

__all__ = ["salvage", "find_trajectory"]

_TRAJ = ("opt.traj", "opt.traj.gz")
_RUN_DIRS = ("quacc-", "failed-quacc-", "tmp-quacc-")


def find_trajectory(work_dir: str | os.PathLike, since: float = 0.0) -> Path | None:
    """The newest optimiser trajectory in the job's quacc run dirs written after ``since``."""
    return newest_in_run_dirs(work_dir, _RUN_DIRS, _TRAJ, since)


def salvage(work_dir: str | os.PathLike, since: float = 0.0) -> dict[str, Any] | None:
    """The steps of a stopped relaxation as a schema-like result, or None when none was
    recorded (or the file cannot be read)."""
    path = find_trajectory(work_dir, since)
    if path is None:
        return None
    try:
        import ase.io

        frames = ase.io.read(path, ":")
    except Exception:  # noqa: BLE001  (a file cut mid-frame: nothing to keep)
        return None
    frames = [f for f in frames if f.calc is not None and "energy" in f.calc.results]
    if not frames:
        return None
    last = frames[-1]
    steps = [dict(f.calc.results) for f in frames]
    return {
        "atoms": last,
        "results": steps[-1],
        "converged": False,
        "trajectory": frames,
        "trajectory_results": steps,
        "dir_name": str(path.parent),
        "unconverged": True,
    }
