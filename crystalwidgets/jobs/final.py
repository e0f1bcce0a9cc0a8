"""A job's final structure, kept small and apart from its result.

A result JSON can be tens of MB (an MD's trajectory); the widgets need only the final
structure (the per-step energies are in the summary, in the store). The job writes it
beside the result when it ends (``cw-final.json``), with the calculator's results for it
(energy, forces, stress...), so showing or exporting it reads kilobytes.

Jobs that ended before this file existed get it on first use from a child process
(``python -m crystalwidgets.jobs.final WORK_DIR``): decoding a big JSON holds the GIL
for seconds and takes hundreds of MB, so it never happens in the kernel's process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .._files import jsanitized, read_json, write_json
from ..errors import CrystalWidgetsError

__all__ = [
    "FINAL",
    "FINAL_RESULTS",
    "EXTRACT_TIMEOUT_S",
    "attach_results",
    "ensure_final",
    "has_final",
    "read_final",
    "write_final",
]

#: The final structure of a job, beside its result: ``{"atoms": <MSON Atoms> or null,
#: "results": {"energy": ..., "forces": [[...], ...], ...} or null}`` (files written before
#: the results were kept there have ``atoms`` only).
FINAL = "cw-final.json"
#: The calculator results of the final structure kept in :data:`FINAL` (each one number or
#: one small array per structure or per atom; ASE's names).
FINAL_RESULTS = ("energy", "free_energy", "forces", "stress", "magmom", "magmoms", "charges", "dipole")
#: Longest a child process may take to take the final structure out of an old result.
EXTRACT_TIMEOUT_S = 120.0
_RESULT = "cw-result.json"  # jobs.task.RESULT (task imports this module)


def _final_atoms(result: Any) -> Any:
    return result.get("atoms") if isinstance(result, dict) else None


def _final_results(result: Any) -> dict[str, Any] | None:
    results = result.get("results") if isinstance(result, dict) else None
    if not isinstance(results, dict):
        return None
    return {key: results[key] for key in FINAL_RESULTS if results.get(key) is not None}


def write_final(work_dir: str | os.PathLike, result: Any, *, durable: bool = False, sanitized: bool = False) -> None:
    """Write the final structure of ``result`` (a recipe's output, raw or jsanitized: say
    ``sanitized`` for the latter, which is then written as it is) and the calculator
    results for it (:data:`FINAL_RESULTS`)."""
    atoms = _final_atoms(result)
    results = _final_results(result) if atoms is not None else None
    if not sanitized:
        atoms = None if atoms is None else jsanitized(atoms, as_dict_first=True)
        results = None if results is None else jsanitized(results)
    data = {"atoms": atoms, "results": results}
    write_json(Path(work_dir) / FINAL, data, durable=durable)


def attach_results(atoms: Any, results: dict[str, Any]) -> None:
    """Give ``atoms`` a single-point calculator holding ``results`` (the file's ``results``);
    per-atom arrays whose length is not the number of atoms are left out."""
    import numpy as np
    from ase.calculators.singlepoint import SinglePointCalculator

    kept: dict[str, Any] = {}
    for key, value in results.items():
        if key not in FINAL_RESULTS or value is None:
            continue
        value = np.asarray(value, dtype=float)
        if key in ("forces", "magmoms", "charges") and (value.ndim == 0 or len(value) != len(atoms)):
            continue
        kept[key] = value.item() if value.ndim == 0 else value
    atoms.calc = SinglePointCalculator(atoms, **kept)


def has_final(work_dir: str | os.PathLike | None) -> bool:
    """Whether the final structure can be read at once (its file is there, or no result is)."""
    if not work_dir:
        return True
    work_dir = Path(work_dir)
    return (work_dir / FINAL).exists() or not (work_dir / _RESULT).exists()


def read_final(work_dir: str | os.PathLike) -> dict[str, Any] | None:
    """``{"atoms": ...}`` from the job's final-structure file, or None when there is none."""
    return read_json(Path(work_dir) / FINAL)


def ensure_final(
    work_dir: str | os.PathLike,
    timeout: float = EXTRACT_TIMEOUT_S,
    *,
    results: bool = False,
    rewrite: bool = False,
) -> dict[str, Any]:
    """The final-structure file's content, made from the result in a child process if missing.

    With ``results``, also when the file predates the calculator results it now holds (it
    is then written again, with them); with ``rewrite``, always (the child also writes the
    trajectory frames, :mod:`.frames`). Blocks the calling thread (not the GIL) while the
    child reads the result.

    Raises
    ------
    CrystalWidgetsError
        When the result cannot be read, naming the file and why.
    """
    data = read_final(work_dir)
    if data is not None and (not results or "results" in data) and not rewrite:
        return data
    cmd = [sys.executable, "-m", "crystalwidgets.jobs.final", str(work_dir)]
    try:  # as the local runner starts its jobs: this interpreter, this environment
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CrystalWidgetsError(
            f"reading the final structure from {Path(work_dir) / _RESULT} took over {timeout:.0f} s"
        ) from None
    data = read_final(work_dir)
    if data is None or (results and "results" not in data):
        why = proc.stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        raise CrystalWidgetsError(f"cannot read the final structure from {Path(work_dir) / _RESULT}: {why[0]}")
    return data


def main(argv: list[str] | None = None) -> int:
    """Write ``cw-final.json`` and the trajectory frames (``cw-frames.npz``, :mod:`.frames`)
    from ``cw-result.json`` in WORK_DIR (run in a child process)."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m crystalwidgets.jobs.final WORK_DIR", file=sys.stderr)
        return 2
    os.umask(0o077)
    work_dir = Path(argv[0])
    try:
        with open(work_dir / _RESULT, encoding="utf-8") as fh:
            result = json.load(fh)["result"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    write_final(work_dir, result)
    from .frames import write_frames

    write_frames(work_dir, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
