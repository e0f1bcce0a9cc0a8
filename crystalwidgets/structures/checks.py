"""Refuse structures no calculation should run on: no atoms, non-finite values, a degenerate
periodic cell, overlapping atoms (a k-d tree over the atoms and the images near the cell
faces: linear in the number of atoms, faster here than ASE's neighbour list)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from ase import Atoms

from ..errors import StructureError
from .codec import structure_hash

__all__ = ["DEFAULT_MIN_DISTANCE", "check_structure"]


#: Atoms closer than this (in Å) are refused as overlapping by default.
DEFAULT_MIN_DISTANCE = 0.5


#: (structure hash, min_distance) of structures whose overlap search passed. The
#: hash rounds to 1e-5 Å, far below any min_distance, so a hit means the same answer.
_PASSED: set[tuple[str, float]] = set()


_PASSED_MAX = 200_000  # a sweep of 10,000+ structures checked at load is not searched again


def check_structure(
    atoms: Atoms,
    *,
    min_distance: float = DEFAULT_MIN_DISTANCE,
    name: str | None = None,
) -> None:
    """Refuse a structure no calculation should be run on.

    Checks that there is at least one atom, that positions and cell are
    finite, that every periodic direction has a cell vector and that those
    vectors span a non-zero volume, and that no two atoms are closer than
    ``min_distance``. Distances include periodic images along periodic
    directions (the minimum-image distance, in any cell shape); an atom
    closer than ``min_distance`` to its *own* image means the cell is too
    small. The search uses a k-d tree over the atoms and the images near the
    cell faces: time and memory grow linearly with the number of atoms
    (10-30 ms for 10,000 atoms), even when everything overlaps.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure; it is not changed.
    min_distance : float, default 0.5
        Smallest allowed interatomic distance, in Å; ``0`` skips the
        overlap check (the other checks still run).
    name : str, optional
        What to call the structure in messages (default "the structure").

    Raises
    ------
    StructureError
        Naming the problem; for overlaps, the two atom indices (counted from
        0), their elements, their distance, how many atoms are affected and
        what to do.
    """
    label = name or "the structure"
    n = len(atoms)
    if n == 0:
        raise StructureError(
            f"{label} holds no atoms: a calculation needs at least one; "
            "check that the file is complete and that the right frame or data block was read"
        )
    positions = atoms.positions
    if not np.all(np.isfinite(positions)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(positions), axis=1))[0])
        raise StructureError(
            f"{label}: atom {bad} ({atoms.symbols[bad]}) has a non-finite position "
            f"{positions[bad].tolist()}; fix its coordinates"
        )
    cell = atoms.cell.array
    if not np.all(np.isfinite(cell)):
        raise StructureError(f"{label}: the cell {cell.tolist()} has non-finite entries; fix the cell")
    if min_distance <= 0:
        _periodic_basis(cell, atoms.pbc, label)
        return
    key = (structure_hash(atoms), float(min_distance))
    if key in _PASSED:  # a sweep submits one structure many times: search once
        return
    distance, neighbour, across = _nearest_neighbours(atoms, min_distance, label)
    too_close = np.flatnonzero(distance < min_distance)
    if too_close.size == 0:
        if len(_PASSED) >= _PASSED_MAX:
            _PASSED.clear()
        _PASSED.add(key)
        return
    i = int(too_close[np.argmin(distance[too_close])])
    j = int(neighbour[i])
    d = float(distance[i])
    symbols = atoms.symbols
    more = (
        f"; {too_close.size} atoms in all have a neighbour closer than {min_distance} Å"
        if too_close.size > 2
        else ""
    )
    if i == j:
        raise StructureError(
            f"{label}: atom {i} ({symbols[i]}) is only {d:.3f} Å from its own periodic image "
            f"(closer than {min_distance} Å){more}: the cell is too small. "
            f"Check the cell (lengths {np.round(atoms.cell.lengths(), 4).tolist()} Å; "
            "units or lattice constant wrong?)"
        )
    i, j = min(i, j), max(i, j)
    where = " across the periodic boundary" if across[i] or across[j] else ""
    raise StructureError(
        f"{label}: atoms {i} ({symbols[i]}) and {j} ({symbols[j]}) (counted from 0) are "
        f"{d:.3f} Å apart{where}, closer than {min_distance} Å{more}. Overlapping atoms "
        "usually mean duplicated or partially occupied sites, fractional coordinates read "
        f"as Cartesian, or a wrong cell. Remove one of them (e.g. del atoms[{j}]), fix the "
        "positions or cell, or pass min_distance=0 to skip this check"
    )


#: Bases already reduced, by cell and pbc (a sweep's structures often share a cell).
_BASES: dict[tuple[bytes, tuple[bool, ...]], np.ndarray] = {}
_BASES_MAX = 1024


def _periodic_basis(cell: np.ndarray, pbc: Any, label: str) -> np.ndarray:
    """:func:`_reduced_basis`, remembered for the last cells seen (read-only arrays)."""
    key = (np.ascontiguousarray(cell, dtype=float).tobytes(), tuple(bool(p) for p in pbc))
    basis = _BASES.get(key)
    if basis is None:
        basis = _reduced_basis(np.asarray(cell, dtype=float), np.asarray(pbc, dtype=bool), label)
        basis.flags.writeable = False
        if len(_BASES) >= _BASES_MAX:
            _BASES.clear()
        _BASES[key] = basis
    return basis


def _reduced_basis(cell: np.ndarray, pbc: np.ndarray, label: str) -> np.ndarray:
    """An invertible basis whose periodic rows span the same lattice as ``cell``'s.

    The periodic rows are Minkowski-reduced (shortest lattice vectors, as
    little skew as possible); the non-periodic rows are unit vectors
    orthogonal to them, since only periodic directions take images.
    """
    periodic = np.flatnonzero(pbc)
    axes = "abc"
    for a in periodic:
        if np.linalg.norm(cell[a]) < 1e-6:
            raise StructureError(
                f"{label} is periodic along {axes[a]} but its cell vector {axes[a]} is zero; "
                "set the cell (atoms.cell) or make that direction non-periodic (atoms.pbc)"
            )
    basis = np.zeros((3, 3))
    if periodic.size:
        vectors = cell[periodic]
        singular = np.linalg.svd(vectors, compute_uv=False)
        if singular[-1] < 1e-6 * singular[0]:
            raise StructureError(
                f"{label}: the periodic cell vectors {vectors.tolist()} are parallel or "
                "coplanar (the cell has no volume); fix the cell"
            )
        from ase.geometry import minkowski_reduce

        full = np.zeros((3, 3))
        full[periodic] = vectors
        reduced, _ = minkowski_reduce(full, pbc=pbc)
        basis[periodic] = np.asarray(reduced)[periodic]
    free = np.flatnonzero(~np.asarray(pbc, dtype=bool))
    if free.size:
        # Orthonormal complement of the periodic span.
        _, _, vt = np.linalg.svd(np.vstack([basis[periodic], np.zeros((1, 3))]))
        basis[free] = vt[periodic.size :]
    return basis


#: Up to this many (atom pair x image shift) distances, :func:`_nearest_neighbours` computes
#: them all in a few array operations instead of building a k-d tree (a 4-atom cell: 40 µs
#: instead of 350 µs; a sweep checks thousands of small cells).
_BRUTE_MAX = 100_000


def _nearest_brute(
    home: np.ndarray, basis: np.ndarray, shifts: np.ndarray, cutoff: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_nearest_neighbours` for small cells: every pair under every image shift
    (``shifts``: every lattice shift within reach, the zero shift among them)."""
    n = len(home)
    zero = int(np.flatnonzero(~np.any(shifts != 0, axis=1))[0])
    pair = home[None, :, :] - home[:, None, :]  # pair[i, j] = r_j - r_i
    dist = np.linalg.norm(pair[None, :, :, :] + (shifts @ basis)[:, None, None, :], axis=3)
    dist[zero, np.arange(n), np.arange(n)] = np.inf  # an atom is not its own neighbour
    flat = dist.transpose(1, 0, 2).reshape(n, -1)  # per atom i: (shift, j)
    best = flat.argmin(axis=1)
    distance = flat[np.arange(n), best]
    shift, neighbour = np.divmod(best, n)
    found = distance < cutoff
    return (
        np.where(found, distance, np.inf),
        np.where(found, neighbour, -1),
        found & (shift != zero),
    )


def _nearest_neighbours(
    atoms: Atoms, cutoff: float, label: str = "the structure"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each atom's nearest other atom or periodic image closer than ``cutoff``.

    Raises StructureError (see :func:`_periodic_basis`) for a degenerate cell.

    Returns
    -------
    distance : ndarray of float
        Per atom, the distance to its nearest neighbour, ``inf`` when none
        is closer than ``cutoff``.
    neighbour : ndarray of int
        That neighbour's index (the atom's own index for its own image;
        ``-1`` when none).
    across : ndarray of bool
        Whether that neighbour is a periodic image (across a cell face).
    """
    from scipy.spatial import cKDTree

    n = len(atoms)
    pbc = np.asarray(atoms.pbc, dtype=bool)
    basis = _periodic_basis(atoms.cell.array, pbc, label)
    if pbc.any():
        shortest = float(np.linalg.norm(basis[pbc], axis=1).min())
        if shortest < cutoff:  # every atom meets its own image
            return np.full(n, shortest), np.arange(n), np.ones(n, dtype=bool)
    inverse = np.linalg.inv(basis)
    frac = atoms.positions @ inverse
    frac[:, pbc] %= 1.0
    home = frac @ basis
    # Atoms within ``cutoff`` of a point in the cell lie within ``skin`` of it
    # in fractional units (cutoff over the spacing of the lattice planes).
    skin = cutoff * np.linalg.norm(inverse, axis=0)
    reach = [int(np.ceil(skin[a])) if pbc[a] else 0 for a in range(3)]
    shifts = np.array(list(itertools.product(*(range(-r, r + 1) for r in reach))), dtype=float)
    if n * n * len(shifts) <= _BRUTE_MAX:
        return _nearest_brute(home, basis, shifts, cutoff)
    # image shifts many at a time (a loop over 26 shifts costs a small cell 1 ms: a sweep
    # checks thousands), in chunks of at most ~10^6 moved atoms to bound the memory
    shifts = shifts[np.any(shifts != 0, axis=1)]
    points, owners = [home], [np.arange(n)]
    chunk = max(1, 1_000_000 // max(n, 1))
    for start in range(0, len(shifts), chunk):
        moved = frac[None, :, :] + shifts[start : start + chunk, None, :]  # (shift, atom, axis)
        inside = np.all((moved[..., pbc] > -skin[pbc]) & (moved[..., pbc] < 1 + skin[pbc]), axis=2)
        which_shift, which_atom = np.nonzero(inside)
        points.append(moved[which_shift, which_atom] @ basis)
        owners.append(which_atom)
    owner = np.concatenate(owners)
    image = np.arange(len(owner)) >= n
    tree = cKDTree(np.vstack(points))
    dist, idx = tree.query(home, k=2, distance_upper_bound=cutoff)
    first_is_self = idx[:, 0] == np.arange(n)
    col = np.where(first_is_self, 1, 0)
    rows = np.arange(n)
    nearest = idx[rows, col]
    distance = dist[rows, col]
    found = nearest < len(owner)
    neighbour = np.where(found, owner[np.minimum(nearest, len(owner) - 1)], -1)
    across = found & image[np.minimum(nearest, len(owner) - 1)]
    distance = np.where(found, distance, np.inf)
    return distance, neighbour, across
