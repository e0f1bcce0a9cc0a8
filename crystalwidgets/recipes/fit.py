"""What a recipe can handle, checked before anything is submitted: pure functions of the
recipe's name and the structure, each problem a ``(field, message)`` pair saying the fix.

Only what surely fails is refused (each rule was seen to fail with the real recipe):

- **EMT's elements.** ASE's EMT has parameters for a fixed set of elements (read from
  :data:`ase.calculators.emt.parameters`, never copied here); any other element fails
  when the job runs (``No EMT-potential for Na``).
- **A cell where the recipe builds on it.** Recipes that strain the cell (elastic tensors),
  cut slabs from a bulk or put adsorbates on a slab, build phonopy supercells or defect
  supercells fail on a structure without a full cell (``LinAlgError: Singular matrix``),
  and so do the plane-wave codes (VASP, Quantum ESPRESSO), which need a periodic box.

A molecule handed to a recipe with ``relax_cell=True`` is not refused: quacc relaxes the
cell only of periodic structures and ignores it otherwise. Molecular codes (ORCA, Q-Chem,
Psi4, Gaussian...) given a crystal read its atoms as a molecule rather than fail, so
nothing is refused there either.
"""

from __future__ import annotations

import fnmatch
import functools
from typing import Any

__all__ = ["CELL_CODES", "NEEDS_CELL", "emt_elements", "structure_problems"]

Problems = list[tuple[str, str]]

#: Recipes (short-name patterns) that build on their input's cell, and what they do with it.
NEEDS_CELL: dict[str, str] = {
    "*.elastic.elastic_tensor_flow": "it strains the cell to get the elastic tensor",
    "*.slabs.bulk_to_slabs_flow": "it cuts slabs from the crystal's lattice",
    "common.slabs.bulk_to_slabs_subflow": "it cuts slabs from the crystal's lattice",
    "*.slabs.slab_to_ads_flow": "it places adsorbates on the slab's surface cell",
    "common.slabs.slab_to_ads_subflow": "it places adsorbates on the slab's surface cell",
    "*.phonons.phonon_flow": "phonopy builds supercells of the cell",
    "common.phonons.phonon_subflow": "phonopy builds supercells of the cell",
    "*.defects.bulk_to_defects_flow": "it builds defect supercells of the crystal",
    "common.defects.bulk_to_defects_subflow": "it builds defect supercells of the crystal",
}

#: Codes whose calculations need a periodic box, by what they are called.
CELL_CODES: dict[str, str] = {"vasp": "VASP", "espresso": "Quantum ESPRESSO"}

#: Codes suggested, in order, for elements EMT lacks, and what they cover.
_OTHER_METHODS = (("tblite", "GFN2-xTB, elements H to Rn"), ("mlip", "machine-learned potentials"))


@functools.cache
def emt_elements() -> frozenset[str]:
    """The elements ASE's EMT calculator has parameters for (``ase.calculators.emt.parameters``)."""
    from ase.calculators.emt import parameters

    return frozenset(parameters)


def _instead(recipe: str) -> str:
    """A recipe of another method doing what ``recipe`` does (``tblite.relax_job``), or codes to look at."""
    from .catalogue import recipes

    rest = recipe.split(".", 1)[1] if "." in recipe else recipe
    for code, what in _OTHER_METHODS:
        if f"{code}.{rest}" in recipes:
            return f"e.g. {code}.{rest} ({what})"
    return "e.g. one of tblite's or mlip's recipes, or a DFT code's"


def _emt_problems(recipe: str, symbols: list[str]) -> Problems:
    known = emt_elements()
    missing = sorted(set(symbols) - known)
    if not missing:
        return []
    listed = ", ".join(missing)
    return [
        (
            "structure",
            f"ASE's EMT has no parameters for {listed} (only for {', '.join(sorted(known))}), so "
            f"{recipe} would fail when it runs; use a recipe whose method covers {listed}: "
            f"{_instead(recipe)}",
        )
    ]


def _cell_problems(recipe: str, code: str, cell_rank: int) -> Problems:
    if cell_rank >= 3:
        return []
    why = next((what for pattern, what in NEEDS_CELL.items() if fnmatch.fnmatchcase(recipe, pattern)), None)
    if why is None and code in CELL_CODES:
        why = f"{CELL_CODES[code]} computes in a periodic box"
    if why is None:
        return []
    has = "no cell" if cell_rank == 0 else f"only {cell_rank} of the 3 cell vectors"
    return [
        (
            "structure",
            f"{recipe} needs a structure with a full unit cell ({why}), but this one has {has}; "
            "give a crystal (e.g. ase.build.bulk or a CIF file), or put the molecule in a box "
            "first with atoms.center(vacuum=6.0)",
        )
    ]


def structure_problems(recipe: str, atoms: Any, *, code: str | None = None) -> Problems:
    """What keeps ``recipe`` from running on ``atoms``, found before submit.

    Parameters
    ----------
    recipe
        The recipe's short name (``"emt.relax_job"``, :attr:`RecipeInfo.name`).
    atoms : ase.Atoms
        The structure (as :func:`crystalwidgets.load_structure` returns it).
    code
        The recipe's code (:attr:`RecipeInfo.code`); default: the name's first part.
        A user's own function (code ``custom``) is never refused here.

    Returns
    -------
    list of (field, message)
        Empty when nothing surely fails; each message names what is wrong (the elements
        EMT lacks, the missing cell) and the fix.

    Examples
    --------
    >>> structure_problems("emt.relax_job", bulk("NaCl", "rocksalt", a=5.64))[0][1]
    "ASE's EMT has no parameters for Cl, Na (...); use ... e.g. tblite.relax_job (...)"
    """
    code = code if code is not None else recipe.split(".", 1)[0]
    if code == "custom":
        return []
    problems: Problems = []
    if code == "emt":
        problems += _emt_problems(recipe, list(atoms.get_chemical_symbols()))
    problems += _cell_problems(recipe, code, int(atoms.cell.rank))
    return problems
