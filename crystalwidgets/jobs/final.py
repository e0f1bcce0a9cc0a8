"""A job's final structure, kept small and apart from its result.

A result JSON can be tens of MB (an MD's trajectory); the widgets need only the final
structure (the per-step energies are in the summary, in the store). The job writes it
beside the result when it ends (``cw-final.json``), so showing it reads kilobytes.

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

__all__ = ["FINAL", "EXTRACT_TIMEOUT_S", "ensure_final", "has_final", "read_final", "write_final"]

#: The final structure of a job, beside its result: ``{"atoms": <MSON Atoms> or null}``.
FINAL = "cw-final.json"
#: Longest a child process may take to take the final structure out of an old result.
EXTRACT_TIMEOUT_S = 120.0
_RESULT = "cw-result.json"  # jobs.task.RESULT (task imports this module)


def _final_atoms(result: Any) -> Any:
    return result.get("atoms") if isinstance(result, dict) else None


def write_final(work_dir: str | os.PathLike, result: Any, *, durable: bool = False) -> None:
    """Write the final structure of ``result`` (a recipe's output, raw or jsanitized)."""
    atoms = _final_atoms(result)
    data = {"atoms": None if atoms is None else jsanitized(atoms, as_dict_first=True)}
    write_json(Path(work_dir) / FINAL, data, durable=durable)


def has_final(work_dir: str | os.PathLike | None) -> bool:
    """Whether the final structure can be read at once (its file is there, or no result is)."""
    if not work_dir:
        return True
    work_dir = Path(work_dir)
    return (work_dir / FINAL).exists() or not (work_dir / _RESULT).exists()


def read_final(work_dir: str | os.PathLike) -> dict[str, Any] | None:
    """``{"atoms": ...}`` from the job's final-structure file, or None when there is none."""
    return read_json(Path(work_dir) / FINAL)


def ensure_final(work_dir: str | os.PathLike, timeout: float = EXTRACT_TIMEOUT_S) -> dict[str, Any]:
    """The final-structure file's content, made from the result in a child process if missing.

    Blocks the calling thread (not the GIL) while the child reads the result.

    Raises
    ------
    CrystalWidgetsError
        When the result cannot be read, naming the file and why.
    """
    data = read_final(work_dir)
    if data is not None:
        return data
    cmd = [sys.executable, "-m", "crystalwidgets.jobs.final", str(work_dir)]
    try:  # as the local runner starts its jobs: this interpreter, this environment
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CrystalWidgetsError(
            f"reading the final structure from {Path(work_dir) / _RESULT} took over {timeout:.0f} s"
        ) from None
    data = read_final(work_dir)
    if data is None:
        why = proc.stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        raise CrystalWidgetsError(f"cannot read the final structure from {Path(work_dir) / _RESULT}: {why[0]}")
    return data


def main(argv: list[str] | None = None) -> int:
    """Write ``cw-final.json`` from ``cw-result.json`` in WORK_DIR (run in a child process)."""
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
