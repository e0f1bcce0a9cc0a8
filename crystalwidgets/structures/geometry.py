"""Geometry the viewer draws and measures, periodic images taken into account: bonds across
the cell boundary, the images of atoms on cell faces, edges and corners, and distances /
angles between selected atoms (ASE's minimum-image convention)."""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms

__all__ = [
    "BOND_TOLERANCE",
    "MIN_BOND_LENGTH",
    "boundary_images",
    "measure",
    "periodic_bonds",
]

#: Bond when distance < r1 + r2 + BOND_TOLERANCE (Å, covalent radii): the rule NGL uses.
BOND_TOLERANCE = 0.3
#: Two atoms closer than this (Å) are overlapping copies, not bonded.
MIN_BOND_LENGTH = 0.1


def periodic_bonds(atoms: Atoms, tolerance: float = BOND_TOLERANCE) -> np.ndarray:
    """Bonds by covalent radii, including those across the periodic boundary.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure; images are taken along its periodic directions only.
    tolerance : float
        Added to the sum of the two covalent radii (Å).

    Returns
    -------
    numpy.ndarray of int, shape (m, 5)
        One row ``(i, j, sa, sb, sc)`` per bond: atom ``j`` shifted by ``sa a + sb b + sc c``
        is bonded to atom ``i`` (unshifted). Each bond appears once (``i < j``, or ``i == j``
        with the first non-zero shift positive: an atom bonded to its own image).
    """
    from ase.data import covalent_radii
    from ase.neighborlist import neighbor_list

    if len(atoms) < 1:
        return np.zeros((0, 5), dtype=int)
    cutoffs = covalent_radii[atoms.numbers] + tolerance / 2
    if not np.any(atoms.pbc):  # a molecule or cluster: a k-d tree (ASE's neighbour list of a
        return _molecule_bonds(atoms.positions, cutoffs)  # cell-less 20,000-atom cluster took > 10 GB)
    i, j, d, shifts = neighbor_list("ijdS", atoms, cutoffs, self_interaction=False)
    keep = d > MIN_BOND_LENGTH
    first = np.array([next((s for s in row if s), 0) for row in shifts]) if len(i) else i
    keep &= (i < j) | ((i == j) & (first > 0))
    return np.column_stack([i[keep], j[keep], shifts[keep]]).astype(int)


def _molecule_bonds(positions: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    """:func:`periodic_bonds` without periodic directions: pairs closer than the sum of
    their cutoffs (and longer than MIN_BOND_LENGTH), shifts all zero."""
    from scipy.spatial import cKDTree

    pairs = cKDTree(positions).query_pairs(r=2 * float(cutoffs.max()), output_type="ndarray")
    if not len(pairs):
        return np.zeros((0, 5), dtype=int)
    i, j = pairs[:, 0], pairs[:, 1]
    d = np.linalg.norm(positions[j] - positions[i], axis=1)
    keep = (d <= cutoffs[i] + cutoffs[j]) & (d > MIN_BOND_LENGTH)
    i, j = np.minimum(i, j)[keep], np.maximum(i, j)[keep]
    order = np.lexsort((j, i))
    return np.column_stack([i[order], j[order], np.zeros((len(order), 3), dtype=int)]).astype(int)


def boundary_images(atoms: Atoms, tolerance: float = 1e-3) -> np.ndarray:
    """Images of atoms lying on cell faces, edges and corners, onto the opposite ones.

    A conventional rock-salt cell of 8 atoms drawn with its images shows the 27 atoms of
    the cube (8 corners, 12 edge centres, 6 face centres, the body centre).

    Parameters
    ----------
    atoms : ase.Atoms
        The structure; only periodic directions with a non-zero cell vector count.
    tolerance : float
        How close (in fractional coordinates) to 0 or 1 an atom must be to lie on a face.

    Returns
    -------
    numpy.ndarray of int, shape (k, 4)
        One row ``(i, sa, sb, sc)`` per image: atom ``i`` shifted by whole cell vectors,
        each shift -1, 0 or +1 (+1 for an atom at fractional 0, -1 at fractional 1).
        Atoms outside the cell get no images.
    """
    lengths = atoms.cell.lengths()
    axes = [bool(atoms.pbc[k]) and lengths[k] > 1e-6 for k in range(3)]
    if len(atoms) == 0 or not any(axes) or atoms.cell.rank < 3:
        return np.zeros((0, 4), dtype=int)
    frac = atoms.cell.scaled_positions(atoms.positions)
    inside = np.all((frac > -tolerance) & (frac < 1 + tolerance), axis=1)
    rows = []
    for index in np.flatnonzero(inside):
        options = []
        for axis in range(3):
            f = frac[index, axis]
            choice = [0]
            if axes[axis] and abs(f) < tolerance:
                choice.append(1)
            elif axes[axis] and abs(f - 1) < tolerance:
                choice.append(-1)
            options.append(choice)
        for sa in options[0]:
            for sb in options[1]:
                for sc in options[2]:
                    if sa or sb or sc:
                        rows.append((int(index), sa, sb, sc))
    return np.array(rows, dtype=int).reshape(-1, 4)


def _label(atoms: Atoms, index: int) -> str:
    return f"#{index} {atoms[index].symbol}"


def measure(atoms: Atoms | None, indices: list[int]) -> dict[str, Any] | None:
    """Distance (two atoms), angle (three) or dihedral (four) between atoms, using the
    nearest periodic images (ASE's ``mic=True``).

    Parameters
    ----------
    atoms : ase.Atoms or None
    indices : list of int
        The atoms in selection order; the angle is at the middle one.

    Returns
    -------
    dict or None
        ``kind`` ("distance", "angle" or "dihedral"), ``indices``, ``value`` (float),
        ``unit`` ("Å" or "°") and ``text`` (e.g. ``"distance #0 Na – #1 Cl: 2.8200 Å"``);
        None for fewer than two or more than four atoms.
    """
    if atoms is None or not 2 <= len(indices) <= 4:
        return None
    indices = [int(i) for i in indices]
    if len(indices) == 2:
        kind, unit = "distance", "Å"
        value = float(atoms.get_distance(*indices, mic=True))
    elif len(indices) == 3:
        kind, unit = "angle", "°"
        value = float(atoms.get_angle(*indices, mic=True))
    else:
        kind, unit = "dihedral", "°"
        value = float(atoms.get_dihedral(*indices, mic=True))
    digits = 4 if unit == "Å" else 2
    names = " – ".join(_label(atoms, i) for i in indices)
    return {
        "kind": kind,
        "indices": indices,
        "value": value,
        "unit": unit,
        "text": f"{kind} {names}: {value:.{digits}f} {unit}",
    }
