"""What kernels that died left running: their local engines' interchanges, stopped by the
next manager (:func:`stop_dead_engines`), and their Slurm blocks, listed
(:func:`leftover_blocks`) and cancelled (:func:`cleanup_leftovers`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..._files import home_dir, read_json
from ..._procs import owner_alive
from ...profiles import slurm as _slurm
from .engine import ENGINES_DIR

__all__ = ["cleanup_leftovers", "leftover_blocks", "stop_dead_engines"]


def _dead_engines(runners_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted(Path(runners_dir).glob(f"*/{ENGINES_DIR}/*.json")):
        entry = read_json(path)
        if entry is None or not entry.get("label"):
            continue
        if not owner_alive(entry.get("owner")):
            out.append((path, entry))
    return out


def _stop_interchange(entry: dict[str, Any]) -> int | None:
    """Kill the interchange a registry entry names, when it is still that process; its pid."""
    import psutil

    pid = entry.get("interchange_pid")
    if not pid:
        return None
    try:
        proc = psutil.Process(pid)
        # the same process: an interchange, started before its engine registered it (not a reused pid)
        if "interchange" not in " ".join(proc.cmdline()) or proc.create_time() > entry.get("created", 0) + 1:
            return None
        proc.kill()
        proc.wait(5)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.TimeoutExpired):
        return None
    return pid


def stop_dead_engines(runners_dir: str | os.PathLike) -> list[int]:
    """Stop the interchanges of local engines (``parsl-local``) whose kernel died; forget them.

    A kernel killed on its own (not its process group: the OOM killer, ``kill -9`` of the
    kernel) leaves its interchange running for minutes, and the interchange its worker pool
    (which ends by itself once the interchange is gone). Engines of live kernels, and Slurm
    engines (their blocks are listed in the picker for :func:`cleanup_leftovers`), are left
    alone.

    Parameters
    ----------
    runners_dir
        ``<home>/runners``.

    Returns
    -------
    list of int
        The pids of the interchanges stopped.
    """
    stopped = []
    for path, entry in _dead_engines(Path(runners_dir)):
        if entry.get("kind") == "parsl-slurm":
            continue
        pid = _stop_interchange(entry)
        if pid is not None:
            stopped.append(pid)
        path.unlink(missing_ok=True)
    return stopped


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
    runners_dir = Path(runners_dir) if runners_dir is not None else home_dir() / "runners"
    blocks = leftover_blocks(runners_dir)
    ids = [b["job_id"] for b in blocks]
    _slurm.cancel(ids)
    for path, entry in _dead_engines(runners_dir):
        _stop_interchange(entry)
        path.unlink(missing_ok=True)
    return ids
