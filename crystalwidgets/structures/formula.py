"""The one formula rule (pymatgen's reduced formula: ``SiO2``, ``LiFePO4``, ``Cu3Au``) used by
the store, the job summaries, the table and the widgets, and a short description of a
structure."""

from __future__ import annotations

import functools
from typing import Any

from ase import Atoms

__all__ = ["describe_structure", "reduced_formula"]


@functools.lru_cache(maxsize=1024)
def _reduced_formula_and_factor(chemical_formula: str) -> tuple[str, float]:
    from pymatgen.core import Composition

    return Composition(chemical_formula).get_reduced_formula_and_factor()


def reduced_formula(atoms: Atoms) -> str:
    """The reduced formula as pymatgen writes it ("Cu", "H2O"); "" for no atoms."""
    return _reduced_formula_and_factor(atoms.get_chemical_formula())[0] if len(atoms) else ""


def describe_structure(atoms: Atoms) -> dict[str, Any]:
    """A short JSON-able description of a structure, for widgets and job tables.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure; it is not changed.

    Returns
    -------
    dict
        ``formula``: reduced formula as pymatgen writes it ("Cu", "H2O",
        "NaCl", "SiO2"); ``formula_units``: how many of them the structure
        holds (4 for a conventional fcc Cu cell); ``n_atoms``; ``elements``:
        sorted element symbols; ``pbc``: 3 bools; ``cell_lengths`` (Å) and
        ``cell_angles`` (degrees): None when the cell has no volume (e.g. a
        molecule without a box); ``volume`` (Å³) and ``density`` (g/cm³):
        only for structures periodic in all three directions, else None.
    """
    n = len(atoms)
    formula, units = _reduced_formula_and_factor(atoms.get_chemical_formula()) if n else ("", 0)
    cell = atoms.cell
    has_volume = abs(cell.volume) > 1e-9
    lengths = cell.lengths().tolist() if has_volume else None
    angles = cell.angles().tolist() if has_volume else None
    volume = density = None
    if has_volume and all(atoms.pbc):
        volume = float(abs(cell.volume))
        # 1 amu / Å³ = 1.66053906660 g/cm³
        density = float(atoms.get_masses().sum() * 1.66053906660 / volume)
    return {
        "formula": formula,
        "formula_units": int(round(units)),
        "n_atoms": n,
        "elements": sorted(set(atoms.get_chemical_symbols())),
        "pbc": [bool(p) for p in atoms.pbc],
        "cell_lengths": lengths,
        "cell_angles": angles,
        "volume": volume,
        "density": density,
    }
