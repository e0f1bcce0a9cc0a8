"""The local Slurm of the engine tests (../shared/slurm/start-slurm.sh): is it up, and what
does squeue say (read from Slurm itself, never from a runner's own word)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.helpers import ROOT

SCRIPTS = Path(os.environ.get("SLURM_SCRIPTS", ROOT.parent / "shared" / "slurm"))


def squeue(*args: str) -> list[dict[str, str]]:
    """squeue's lines (id, state, reason, name); ``args`` are squeue's own options."""
    out = subprocess.run(
        ["squeue", "-h", "-o", "%i|%T|%r|%j", *args], capture_output=True, text=True, timeout=15
    ).stdout
    return [
        dict(zip(("id", "state", "reason", "name"), ln.split("|", 3), strict=False))
        for ln in out.splitlines()
    ]


def slurm_problem() -> str | None:
    """Why the local Slurm cannot be used now, or None when a node is usable."""
    if shutil.which("sinfo") is None:
        return f"Slurm's commands (sinfo) are not on PATH; start the local Slurm: {SCRIPTS}/start-slurm.sh"
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 10 s: Slurm's controller is down"
    states = proc.stdout.split()
    if proc.returncode != 0 or not states:
        return f"no Slurm controller answers ({proc.stderr.strip()}); run {SCRIPTS}/start-slurm.sh"
    if not {"idle", "mix", "alloc"} & set(states):
        return f"Slurm runs but no node is usable (states: {', '.join(states)})"
    return None
