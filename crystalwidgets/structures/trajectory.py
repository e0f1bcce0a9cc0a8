"""Trajectories kept compact: the positions, cell, energy and forces of each frame.

A relaxation's or an MD's frames share their atoms; only positions (and, in a variable-cell
relaxation, the cell) change. :class:`Frames` holds them as float32 arrays, one row a
frame, so a 10,000-atom trajectory of 50 frames is 6 MB of positions (12 with forces)
instead of 50 whole structures, and the viewer sends them to the browser as binary buffers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MAX_ATOM_FRAMES", "MAX_FRAMES", "Frames", "kept_indices"]

#: Most frames kept of one trajectory (an MD's thousands of steps are thinned evenly,
#: the first and the last always kept).
MAX_FRAMES = 1000
#: Most atoms x frames kept (24 MB of float32 positions): fewer frames for bigger structures.
MAX_ATOM_FRAMES = 2_000_000


def kept_indices(count: int, n_atoms: int) -> list[int]:
    """Which of ``count`` frames of ``n_atoms`` atoms are kept: all of them within
    :data:`MAX_FRAMES` and :data:`MAX_ATOM_FRAMES`, else evenly spaced ones, first and last included."""
    limit = max(2, min(MAX_FRAMES, MAX_ATOM_FRAMES // max(1, n_atoms)))
    if count <= limit:
        return list(range(count))
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})


@dataclass(frozen=True, eq=False)
class Frames:
    """The frames of a trajectory of one set of atoms.

    Attributes
    ----------
    numbers : numpy.ndarray
        Atomic numbers, shape ``(n_atoms,)``.
    pbc : numpy.ndarray
        Periodic directions, shape ``(3,)``.
    positions : numpy.ndarray
        float32, shape ``(n_frames, n_atoms, 3)``, Å.
    cells : numpy.ndarray
        float32, shape ``(n_frames, 3, 3)``, Å.
    energies : numpy.ndarray
        float64, shape ``(n_frames,)``, eV; NaN for a frame without one.
    forces : numpy.ndarray or None
        float32, shape ``(n_frames, n_atoms, 3)``, eV/Å (zeros where :attr:`has_forces` is
        False); None when no frame has forces.
    has_forces : numpy.ndarray
        bool, shape ``(n_frames,)``.
    steps : numpy.ndarray
        int, shape ``(n_frames,)``: the step each frame was (its index in the recipe's
        ``trajectory``), as long trajectories are thinned (:func:`kept_indices`).
    """

    numbers: np.ndarray
    pbc: np.ndarray
    positions: np.ndarray
    cells: np.ndarray
    energies: np.ndarray
    forces: np.ndarray | None
    has_forces: np.ndarray
    steps: np.ndarray

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def n_atoms(self) -> int:
        return len(self.numbers)

    @property
    def max_forces(self) -> np.ndarray:
        """The largest force on an atom in each frame (eV/Å; NaN without forces)."""
        if self.forces is None or not self.n_atoms:
            return np.full(len(self), np.nan)
        largest = np.linalg.norm(self.forces, axis=2).max(axis=1).astype(float)
        return np.where(self.has_forces, largest, np.nan)

    def atoms(self, index: int) -> Any:
        """Frame ``index`` as ASE Atoms, with its energy and forces as a single-point calculator."""
        from ase import Atoms
        from ase.calculators.singlepoint import SinglePointCalculator

        atoms = Atoms(
            numbers=self.numbers,
            positions=self.positions[index].astype(float),
            cell=self.cells[index].astype(float),
            pbc=self.pbc,
        )
        results: dict[str, Any] = {}
        if np.isfinite(self.energies[index]):
            results["energy"] = float(self.energies[index])
        if self.forces is not None and self.has_forces[index]:
            results["forces"] = self.forces[index].astype(float)
        if results:
            atoms.calc = SinglePointCalculator(atoms, **results)
        return atoms

    @classmethod
    def from_atoms(
        cls,
        images: Sequence[Any],
        results: Sequence[dict[str, Any] | None] | None = None,
        steps: Sequence[int] | None = None,
    ) -> Frames:
        """Frames from ASE Atoms of the same atoms (a trajectory, ``ase.io.read(path, ":")``).

        ``results[i]``, when given, holds frame i's ``energy`` and ``forces`` (a recipe's
        ``trajectory_results``); else each image's calculator results are used, if any.
        ``steps`` numbers the frames (default 0, 1, 2...).

        Raises
        ------
        ValueError
            When there are no images or they are not all the same atoms in the same order.
        """
        if not len(images):
            raise ValueError("a trajectory needs at least one frame")
        first = images[0]
        numbers = np.asarray(first.numbers, dtype=np.int32)
        count, n = len(images), len(numbers)
        positions = np.empty((count, n, 3), dtype=np.float32)
        cells = np.empty((count, 3, 3), dtype=np.float32)
        energies = np.full(count, np.nan)
        forces = np.zeros((count, n, 3), dtype=np.float32)
        has_forces = np.zeros(count, dtype=bool)
        for i, image in enumerate(images):
            if len(image) != n or not np.array_equal(image.numbers, numbers):
                raise ValueError(
                    f"frame {i} has other atoms than frame 0 ({image.get_chemical_formula()} "
                    f"vs {first.get_chemical_formula()}): a trajectory's frames share their atoms"
                )
            positions[i] = image.positions
            cells[i] = image.cell.array
            found = (results[i] if results is not None and i < len(results) else None) or _calc_results(image)
            energy = found.get("energy")
            if energy is not None and np.isfinite(float(energy)):
                energies[i] = float(energy)
            value = found.get("forces")
            if value is not None:
                value = np.asarray(value, dtype=float)
                if value.shape == (n, 3):
                    forces[i] = value
                    has_forces[i] = True
        return cls(
            numbers=numbers,
            pbc=np.asarray(first.pbc, dtype=bool),
            positions=positions,
            cells=cells,
            energies=energies,
            forces=forces if has_forces.any() else None,
            has_forces=has_forces,
            steps=np.arange(count) if steps is None else np.asarray(steps, dtype=np.int64),
        )

    def save(self, fh: Any) -> None:
        """Write to an open binary file as an uncompressed ``.npz`` (read back with :meth:`load`)."""
        arrays = {name: getattr(self, name) for name in _FIELDS if getattr(self, name) is not None}
        np.savez(fh, **arrays)

    @classmethod
    def load(cls, path: Any) -> Frames:
        """What :meth:`save` wrote.

        Raises
        ------
        ValueError
            When the file is not such frames (arrays missing or of the wrong shape).
        """
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] if name in data else None for name in _FIELDS}
        frames = cls(**arrays)
        count, n = len(frames.steps), len(frames.numbers)
        shapes = {
            "positions": (count, n, 3),
            "cells": (count, 3, 3),
            "energies": (count,),
            "has_forces": (count,),
            "pbc": (3,),
        }
        if frames.forces is not None:
            shapes["forces"] = (count, n, 3)
        for name, shape in shapes.items():
            value = getattr(frames, name)
            if value is None or value.shape != shape:
                raise ValueError(f"trajectory file: {name} is not of shape {shape}")
        return frames


_FIELDS = ("numbers", "pbc", "positions", "cells", "energies", "forces", "has_forces", "steps")


def _calc_results(atoms: Any) -> dict[str, Any]:
    calc = getattr(atoms, "calc", None)
    return dict(getattr(calc, "results", None) or {})
