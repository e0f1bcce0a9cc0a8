"""How far a running relaxation or MD has got, read from what ASE already writes.

quacc runs a recipe in ``tmp-quacc-*`` under the job's work dir (its RESULTS_DIR); ASE's
optimisers log a line per step to ``opt.log`` (``BFGS:   12 10:31:02   -3.141593   0.0512``)
and its MD to ``md.log`` (time, total, potential and kinetic energy, temperature), each
line flushed as it is written. Reading those lines gives the step count, the latest energy
and max force, and the energy per step while the job runs, for every runner whose work dir
is readable here. A line still being written (no newline yet) is not counted, so a reader
never shows half a step; a file that vanishes (quacc moves it when the job ends) gives None.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

__all__ = ["LOGS", "find_log", "newest_in_run_dirs", "read_progress", "parse_log"]

#: The logs looked for in quacc's run dirs, in order.
LOGS = ("opt.log", "md.log")
#: Most of a log read (its end): a relaxation of 100,000 steps still reads in milliseconds.
MAX_READ = 2 * 2**20
#: Most energies kept for the plot (the last ones).
MAX_POINTS = 5000

_OPT = re.compile(r"^\s*[A-Za-z][\w-]*:\s+(\d+)\s+\S+\s+(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\*?\s+(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*$")
_NUMBER = r"-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?"
_MD = re.compile(rf"^\s*({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})\s*$")


def newest_in_run_dirs(
    work_dir: str | os.PathLike, prefixes: tuple[str, ...], names: tuple[str, ...], since: float = 0.0
) -> Path | None:
    """The newest of ``names`` in the work dir's subdirs starting with one of ``prefixes``
    (quacc's run dirs), modified at or after ``since``; None when there is none."""
    best: tuple[float, Path] | None = None
    try:
        entries = list(os.scandir(work_dir))
    except OSError:
        return None
    for entry in entries:
        if not entry.name.startswith(prefixes):
            continue
        for name in names:
            path = Path(entry.path) / name
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            if mtime >= since and (best is None or mtime > best[0]):
                best = (mtime, path)
    return None if best is None else best[1]


def find_log(work_dir: str | os.PathLike) -> Path | None:
    """The newest optimiser or MD log in the job's running quacc dirs, or None."""
    return newest_in_run_dirs(work_dir, ("tmp-quacc-",), LOGS)


def parse_log(text: str, name: str) -> dict[str, Any] | None:
    """Progress from a log's complete lines: ``n_steps``, ``energy_ev``, ``max_force_ev_ang``
    (None for MD), ``energies_ev`` (per step, the last :data:`MAX_POINTS`), ``kind``
    (``relax`` or ``md``), and for MD ``temperature_k``. None before the first step."""
    lines = text.split("\n")[:-1]  # the last piece has no newline yet: not a whole step
    energies: list[float] = []
    if name == "md.log":
        temps: list[float] = []
        for line in lines:
            m = _MD.match(line)
            if m:
                energies.append(float(m.group(3)))  # potential energy
                temps.append(float(m.group(5)))
        if not energies:
            return None
        return {"kind": "md", "n_steps": len(energies) - 1, "energy_ev": energies[-1], "max_force_ev_ang": None,
                "temperature_k": temps[-1], "energies_ev": energies[-MAX_POINTS:]}
    step = force = None
    for line in lines:
        m = _OPT.match(line)
        if m:
            step, force = int(m.group(1)), float(m.group(3))
            energies.append(float(m.group(2)))
    if not energies:
        return None
    return {"kind": "relax", "n_steps": step, "energy_ev": energies[-1], "max_force_ev_ang": force,
            "energies_ev": energies[-MAX_POINTS:]}


def read_progress(work_dir: str | os.PathLike, log: Path | None = None) -> dict[str, Any] | None:
    """The running job's progress (see :func:`parse_log`) with ``progress`` True, or None."""
    log = log or find_log(work_dir)
    if log is None:
        return None
    try:
        with open(log, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - MAX_READ))
            data = fh.read(MAX_READ)
    except OSError:
        return None
    text = data.decode("utf-8", "replace")
    if size > MAX_READ:
        text = text.split("\n", 1)[-1]  # from the first whole line
    found = parse_log(text, log.name)
    return None if found is None else {"progress": True, **found}
