"""What a crystallographer reads first: lattice parameters, space group (spglib) and the
elements, as one JSON-able summary for the viewer and for scripts."""

from __future__ import annotations

import warnings
from typing import Any

from ase import Atoms

from .formula import describe_structure

__all__ = ["SPACEGROUP_MAX_ATOMS", "crystal_summary", "space_group"]

#: Above this many atoms the space group is not searched: spglib takes seconds on a
#: rattled 864-atom cell and tens of seconds on 10,000 atoms (measured, spglib 2.8).
SPACEGROUP_MAX_ATOMS = 200  # spglib on the kernel's thread: a thermalised 256-atom cell takes ~90 ms


def space_group(atoms: Atoms, symprec: float = 1e-3) -> dict[str, Any] | None:
    """The space group of a 3D-periodic structure, found by spglib.

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic along a, b and c with a cell of non-zero volume.
    symprec : float
        Distance tolerance (Å) for symmetry, spglib's ``symprec``.

    Returns
    -------
    dict or None
        ``symbol`` (Hermann-Mauguin, e.g. ``"Fm-3m"``) and ``number`` (1-230); None for
        structures not periodic in three directions or that spglib cannot analyse.
    """
    import spglib

    if len(atoms) == 0 or not all(atoms.pbc) or abs(atoms.cell.volume) < 1e-9:
        return None
    cell = (atoms.cell.array, atoms.get_scaled_positions(wrap=True), atoms.numbers)
    with warnings.catch_warnings():
        # spglib 2.5-2.8 warns about its own error-handling switch on every call
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            dataset = spglib.get_symmetry_dataset(cell, symprec=symprec)
        except spglib.SpglibError:
            return None
    if dataset is None:
        return None
    return {"symbol": str(dataset.international), "number": int(dataset.number)}


def crystal_summary(atoms: Atoms | None, symprec: float = 1e-3) -> dict[str, Any]:
    """Lattice parameters, space group and element counts of a structure.

    Parameters
    ----------
    atoms : ase.Atoms or None
        The structure; it is not changed.
    symprec : float
        spglib's distance tolerance (Å) for the space group.

    Returns
    -------
    dict
        ``formula`` (reduced, pymatgen's rule) and ``n_atoms``; ``lattice``: ``a``, ``b``,
        ``c`` (Å), ``alpha``, ``beta``, ``gamma`` (degrees) and ``volume`` (Å³, only when
        periodic in 3D), or None without a cell of non-zero volume; ``space_group``: see
        :func:`space_group`, None when not 3D-periodic; ``space_group_note``: why it is
        missing, or None; ``elements``: ``[{"symbol", "count"}]`` in order of first
        appearance. Empty dict for None.
    """
    if atoms is None:
        return {}
    described = describe_structure(atoms)
    lattice = None
    if described["cell_lengths"] is not None:
        a, b, c = (round(float(x), 6) for x in described["cell_lengths"])
        alpha, beta, gamma = (round(float(x), 4) for x in described["cell_angles"])
        volume = described["volume"]
        lattice = {
            "a": a, "b": b, "c": c, "alpha": alpha, "beta": beta, "gamma": gamma,
            "volume": None if volume is None else round(volume, 4),
        }
    group = note = None
    if not all(atoms.pbc) or lattice is None:
        note = "no space group: not periodic in three directions"
    elif len(atoms) > SPACEGROUP_MAX_ATOMS:
        note = f"space group not searched above {SPACEGROUP_MAX_ATOMS} atoms"
    else:
        group = space_group(atoms, symprec)
        if group is None:
            note = "spglib found no space group"
    counts: dict[str, int] = {}
    for symbol in atoms.get_chemical_symbols():
        counts[symbol] = counts.get(symbol, 0) + 1
    return {
        "formula": described["formula"],
        "n_atoms": described["n_atoms"],
        "lattice": lattice,
        "space_group": group,
        "space_group_note": note,
        "elements": [{"symbol": s, "count": n} for s, n in counts.items()],
    }
