"""Slurm blocks left by kernels that died: listed (:func:`leftover_blocks`) and cancelled
(:func:`cleanup_leftovers`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..._files import home_dir, read_json
from ..._procs import owner_alive
from ...profiles import slurm as _slurm
from .engine import ENGINES_DIR

__all__ = ["cleanup_leftovers", "leftover_blocks"]


def _dead_engines(runners_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted(Path(runners_dir).glob(f"*/{ENGINES_DIR}/*.json")):
        entry = read_json(path)
        if entry is None or not entry.get("label"):
            continue
        if not owner_alive(entry.get("owner")):
            out.append((path, entry))
    return out


def leftover_blocks(runners_dir: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Slurm blocks still queued or running for DataFlowKernels of kernels that ended.

    Parameters
    ----------
    runners_dir
        ``<home>/runners`` (default: under ``$CRYSTALWIDGETS_HOME`` or the user data dir).

    Returns
    -------
    list of dict
        ``job_id``, ``name``, ``state``, ``reason``, ``profile``, ``owner`` of each block.
    """
    runners_dir = Path(runners_dir) if runners_dir is not None else home_dir() / "runners"
    # only Slurm engines have blocks to look for (and Slurm may not be there at all)
    dead = [(path, entry) for path, entry in _dead_engines(runners_dir) if entry.get("kind") == "parsl-slurm"]
    if not dead or _slurm.missing_commands():
        return []
    jobs = _slurm.queue()
    out = []
    for _, entry in dead:
        prefix = f"parsl.{entry['label']}."
        for j in jobs:
            if j.name.startswith(prefix) and not j.finished:
                out.append(
                    {
                        **j.to_dict(),
                        "profile": entry.get("profile"),
                        "owner": entry.get("owner"),
                        "label": entry["label"],
                    }
                )
    return out


def cleanup_leftovers(runners_dir: str | os.PathLike | None = None) -> list[str]:
    """Cancel the :func:`leftover_blocks` and stop their kernels' orphaned interchanges.

    Returns the Slurm job ids cancelled.
    """
    import psutil

    runners_dir = Path(runners_dir) if runners_dir is not None else home_dir() / "runners"
    blocks = leftover_blocks(runners_dir)
    ids = [b["job_id"] for b in blocks]
    _slurm.cancel(ids)
    for path, entry in _dead_engines(runners_dir):
        pid = entry.get("interchange_pid")
        if pid:
            try:
                proc = psutil.Process(pid)
                if "interchange" in " ".join(proc.cmdline()):
                    proc.kill()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        path.unlink(missing_ok=True)
    return ids
