"""Structure tools: new structures made from one, by ASE and pymatgen (not re-implemented).

Each tool returns the new structure and a short provenance text ("supercell 2×2×2",
"Na→K (4 sites)"), which the App appends to the new structure's name. The structure
passed is never changed. :data:`TOOLS` names the tools and what the App's one text field
means for each; :func:`parse_tool_text` turns that text into the keyword arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from ase import Atoms

from ..errors import StructureError
from .checks import check_structure

__all__ = ["TOOLS", "parse_tool_text", "transform"]

#: tool name -> (what its text field takes, an example)
TOOLS: dict[str, tuple[str, str]] = {
    "supercell": ("copies along a b c, or the 3x3 matrix row by row", "2 2 2"),
    "substitute": ("element -> element", "Na -> K"),
    "vacancy": ("index of the atom to remove (from 0)", "0"),
    "strain": ("strain in %: one value (isotropic) or three (along a, b, c)", "1.5"),
    "rattle": ("standard deviation in Å, and optionally a seed", "0.05 42"),
    "primitive": ("nothing", ""),
    "conventional": ("nothing", ""),
}


def transform(atoms: Atoms, tool: str, **params: Any) -> tuple[Atoms, str]:
    """A new structure made from ``atoms`` by ``tool``, and its provenance text.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (not changed).
    tool : str
        One of :data:`TOOLS`.
    **params
        ``supercell``: ``matrix`` (three ints, or a 3x3 int matrix);
        ``substitute``: ``old``, ``new`` (element symbols; every site of ``old``);
        ``vacancy``: ``index``; ``strain``: ``percent`` (one value or three);
        ``rattle``: ``stdev`` (Å), ``seed`` (int, default 0);
        ``primitive``, ``conventional``: ``symprec`` (Å, default 1e-3), by spglib
        through pymatgen.

    Returns
    -------
    (ase.Atoms, str)
        The new structure (checked like any loaded one) and what was done.

    Raises
    ------
    StructureError
        Naming the tool, the parameter and the fix.
    """
    if tool not in TOOLS:
        raise StructureError(f"tool: {tool!r} is not a structure tool; use one of {', '.join(TOOLS)}")
    made, what = _TOOLS[tool](atoms.copy(), **params)
    made.info = {k: v for k, v in made.info.items() if k != "spacegroup"}
    check_structure(made, name=f"the {tool} result")
    return made, what


def _supercell(atoms: Atoms, matrix: Any = (2, 2, 2)) -> tuple[Atoms, str]:
    from ase.build import make_supercell

    m = np.asarray(matrix)
    if m.shape == (3,):
        m = np.diag(m)
    if m.shape != (3, 3) or not np.all(np.equal(np.round(m), m)):
        raise StructureError(f"supercell: matrix {matrix!r} is not three whole numbers or a 3x3 matrix of them; e.g. 2 2 2")
    m = m.astype(int)
    det = round(np.linalg.det(m))
    if det < 1:
        raise StructureError(f"supercell: matrix {m.tolist()} has determinant {det}; it must be at least 1 (a right-handed, non-empty cell)")
    for axis in range(3):
        if not atoms.pbc[axis] and not np.array_equal(m[axis], np.eye(3, dtype=int)[axis]):
            unit = " ".join(map(str, np.eye(3, dtype=int)[axis]))
            raise StructureError(
                f"supercell: the structure is not periodic along {'abc'[axis]}; take 1 copy "
                f"along it (row {'abc'[axis]} of the matrix: {unit})"
            )
    diagonal = np.count_nonzero(m - np.diag(np.diag(m))) == 0
    made = atoms.repeat(np.diag(m).tolist()) if diagonal else make_supercell(atoms, m)
    return made, f"supercell {'×'.join(map(str, np.diag(m))) if diagonal else m.tolist()}"


def _substitute(atoms: Atoms, old: str = "", new: str = "") -> tuple[Atoms, str]:
    from ase.data import atomic_numbers

    for name, symbol in (("old", old), ("new", new)):
        if symbol not in atomic_numbers or not symbol:
            raise StructureError(f"substitute: {name}={symbol!r} is not an element symbol; e.g. Na -> K")
    sites = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == old]
    if not sites:
        raise StructureError(f"substitute: the structure has no {old}; its elements are {', '.join(sorted(set(atoms.get_chemical_symbols())))}")
    symbols = atoms.get_chemical_symbols()
    for i in sites:
        symbols[i] = new
    atoms.set_chemical_symbols(symbols)
    return atoms, f"{old}→{new} ({len(sites)} sites)"


def _vacancy(atoms: Atoms, index: int = 0) -> tuple[Atoms, str]:
    if not isinstance(index, (int, np.integer)) or isinstance(index, bool) or not 0 <= index < len(atoms):
        raise StructureError(f"vacancy: index {index!r} is not an atom of this structure; use 0 to {len(atoms) - 1}")
    if len(atoms) == 1:
        raise StructureError("vacancy: the structure has one atom; removing it leaves nothing")
    symbol = atoms[index].symbol
    del atoms[int(index)]
    return atoms, f"vacancy at {symbol} {index}"


def _strain(atoms: Atoms, percent: float | Sequence[float] = 1.0) -> tuple[Atoms, str]:
    values = np.atleast_1d(np.asarray(percent, dtype=float))
    if values.shape not in ((1,), (3,)) or not np.all(np.isfinite(values)) or np.any(values <= -50) or np.any(values > 100):
        raise StructureError(f"strain: {percent!r} is not one or three percentages between -50 and 100; e.g. 1.5 or 1 1 -2")
    if atoms.cell.rank < 3:
        raise StructureError("strain: the structure has no full cell to strain (a molecule?)")
    factors = 1 + (np.repeat(values, 3) if values.size == 1 else values) / 100
    atoms.set_cell(atoms.cell.array * factors[:, None], scale_atoms=True)
    shown = f"{values[0]:g} %" if values.size == 1 else " ".join(f"{v:g}" for v in values) + " %"
    return atoms, f"strained {shown}"


def _rattle(atoms: Atoms, stdev: float = 0.05, seed: int = 0) -> tuple[Atoms, str]:
    if not np.isfinite(stdev) or not 0 < stdev <= 1:
        raise StructureError(f"rattle: stdev {stdev!r} Å is not between 0 and 1 Å; e.g. 0.05")
    atoms.rattle(stdev=float(stdev), seed=int(seed))
    return atoms, f"rattled {stdev:g} Å (seed {seed})"


def _symmetrised(which: str):
    def tool(atoms: Atoms, symprec: float = 1e-3) -> tuple[Atoms, str]:
        from pymatgen.io.ase import AseAtomsAdaptor
        from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

        if not all(atoms.pbc) or atoms.cell.rank < 3:
            raise StructureError(f"{which}: needs a crystal periodic along a, b and c")
        try:
            analyzer = SpacegroupAnalyzer(AseAtomsAdaptor.get_structure(atoms), symprec=symprec)
            cell = (analyzer.get_primitive_standard_structure() if which == "primitive"
                    else analyzer.get_conventional_standard_structure())
        except Exception as exc:  # noqa: BLE001 - spglib's failures are a message for the user
            raise StructureError(f"{which}: spglib found no symmetry to use ({exc}); try a larger symprec") from None
        return AseAtomsAdaptor.get_atoms(cell), f"{which} cell ({analyzer.get_space_group_symbol()})"

    return tool


_TOOLS = {
    "supercell": _supercell,
    "substitute": _substitute,
    "vacancy": _vacancy,
    "strain": _strain,
    "rattle": _rattle,
    "primitive": _symmetrised("primitive"),
    "conventional": _symmetrised("conventional"),
}


def parse_tool_text(tool: str, text: str) -> dict[str, Any]:
    """The keyword arguments of ``tool`` from the App's one text field (see :data:`TOOLS`)."""
    if tool not in TOOLS:
        raise StructureError(f"tool: {tool!r} is not a structure tool; use one of {', '.join(TOOLS)}")
    text = text.strip()
    what, example = TOOLS[tool]
    if tool == "substitute":
        parts = text.replace("->", " ").replace("→", " ").replace(":", " ").split()
        if len(parts) != 2:
            raise StructureError(f"substitute: {text!r} is not 'element -> element'; e.g. {example}")
        return {"old": parts[0], "new": parts[1]}
    if tool in ("primitive", "conventional"):
        return {}
    try:
        numbers = [float(p) for p in text.replace(",", " ").split()]
    except ValueError:
        raise StructureError(f"{tool}: {text!r} is not {what}; e.g. {example}") from None
    whole = [int(n) for n in numbers if n == int(n)]
    if tool == "supercell" and len(numbers) in (3, 9) and len(whole) == len(numbers):
        return {"matrix": whole if len(whole) == 3 else np.reshape(whole, (3, 3)).tolist()}
    if tool == "vacancy" and len(numbers) == 1 and len(whole) == 1:
        return {"index": whole[0]}
    if tool == "strain" and len(numbers) in (1, 3):
        return {"percent": numbers[0] if len(numbers) == 1 else numbers}
    if tool == "rattle" and len(numbers) in (1, 2) and (len(numbers) == 1 or numbers[1] == int(numbers[1])):
        return {"stdev": numbers[0], **({"seed": int(numbers[1])} if len(numbers) == 2 else {})}
    raise StructureError(f"{tool}: {text!r} is not {what}; e.g. {example}")
