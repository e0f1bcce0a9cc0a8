"""A job's trajectory frames, kept compact and apart from its result (``cw-frames.npz``).

A relaxation's or MD's result holds every step as a whole structure (tens of MB of JSON
for a big one); the viewer needs positions, cells, energies and forces per step only. The
job writes them beside the result when it ends (also for a relaxation that stopped before
converging, from the steps :mod:`.salvage` kept), as float32 arrays in an uncompressed
``.npz`` (:class:`~crystalwidgets.structures.trajectory.Frames`); a job without a
trajectory gets an empty file, so "none" is known without opening the result.
Jobs that ended before this file existed get it from a child process, as their final
structure (:func:`crystalwidgets.jobs.final.ensure_final`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CrystalWidgetsError
from ..structures.trajectory import Frames, kept_indices

__all__ = ["FRAMES", "ensure_frames", "frames_from_result", "read_frames", "write_frames"]

#: The trajectory frames of a job, beside its result.
FRAMES = "cw-frames.npz"
_RESULT = "cw-result.json"  # jobs.task.RESULT (task imports this module)


def _decoded(item: Any) -> Any:
    """An ASE Atoms from a trajectory entry: Atoms as is, a jsanitized (MSON) dict decoded."""
    if isinstance(item, Mapping):
        from monty.json import MontyDecoder

        return MontyDecoder().process_decoded(dict(item))
    return item


def frames_from_result(result: Any) -> Frames | None:
    """The frames of a recipe's result (raw or jsanitized): its ``trajectory`` with the
    energies and forces of its ``trajectory_results``, thinned to
    :func:`~crystalwidgets.structures.trajectory.kept_indices`; None when it has no
    trajectory (a static run, a flow) or its frames are not of the same atoms."""
    trajectory = result.get("trajectory") if isinstance(result, Mapping) else None
    if not isinstance(trajectory, (list, tuple)) or not trajectory:
        return None
    first = _decoded(trajectory[0])
    if not hasattr(first, "numbers"):
        return None
    keep = kept_indices(len(trajectory), len(first))
    steps = result.get("trajectory_results")
    steps = steps if isinstance(steps, (list, tuple)) and len(steps) == len(trajectory) else None
    try:
        images = [first if i == 0 else _decoded(trajectory[i]) for i in keep]
        results = [steps[i] if isinstance(steps[i], Mapping) else None for i in keep] if steps else None
        return Frames.from_atoms(images, results, steps=keep)
    except (ValueError, TypeError, AttributeError):
        return None


def write_frames(work_dir: str | os.PathLike, result: Any, *, durable: bool = False) -> int:
    """Write the frames of ``result`` (:func:`frames_from_result`) to :data:`FRAMES`,
    private and atomically; returns how many (0: an empty file, saying there are none:
    an ``.npz`` of empty arrays cost a static job 0.8 ms, 12 % of an EMT static run)."""
    frames = frames_from_result(result)
    path = Path(work_dir) / FRAMES
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            if frames is not None:
                frames.save(fh)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(frames) if frames is not None else 0


def read_frames(work_dir: str | os.PathLike) -> Frames | None:
    """The job's frames from :data:`FRAMES`; None when it has none.

    Raises
    ------
    FileNotFoundError
        When the file is not there (see :func:`ensure_frames`).
    CrystalWidgetsError
        When the file cannot be read, naming it.
    """
    path = Path(work_dir) / FRAMES
    try:
        if path.stat().st_size == 0:
            return None  # written for a job without a trajectory
        frames = Frames.load(path)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise CrystalWidgetsError(f"cannot read the trajectory {path}: {exc}") from None
    return frames if len(frames) else None


def ensure_frames(work_dir: str | os.PathLike | None, timeout: float = 120.0) -> Frames | None:
    """The job's frames (None without any), made from its result in a child process when
    the job ended before :data:`FRAMES` was written. Blocks the calling thread (not the
    GIL) while the child reads the result; call it off the kernel's thread.

    Raises
    ------
    CrystalWidgetsError
        When the result cannot be read, naming the file and why.
    """
    if not work_dir:
        return None
    try:
        return read_frames(work_dir)
    except FileNotFoundError:
        pass
    if not (Path(work_dir) / _RESULT).exists():
        return None  # no result (failed, running, cancelled): no frames
    from .final import ensure_final

    ensure_final(work_dir, timeout, rewrite=True)  # the child writes the frames too
    try:
        return read_frames(work_dir)
    except FileNotFoundError:
        raise CrystalWidgetsError(f"cannot read the trajectory from {Path(work_dir) / _RESULT}") from None

