"""Load, check, describe, serialise and hash crystal structures.

Every structure that reaches a recipe goes through :func:`load_structure`, so
a bad file is refused here, with a message that names the file, the format
tried and what was wrong, rather than deep inside a calculation.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import itertools
import json
import os
import re
import tempfile
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from .errors import StructureError

__all__ = [
    "DEFAULT_MIN_DISTANCE",
    "StructureError",
    "check_structure",
    "describe_structure",
    "load_structure",
    "reduced_formula",
    "structure_from_dict",
    "structure_hash",
    "structure_to_dict",
]

#: Atoms closer than this (in Å) are refused as overlapping by default.
DEFAULT_MIN_DISTANCE = 0.5


# Friendly format name -> ase.io format.
_FORMATS = {
    "cif": "cif",
    "poscar": "vasp",
    "contcar": "vasp",
    "vasp": "vasp",
    "xyz": "extxyz",
    "extxyz": "extxyz",
    "json": "json",
    "traj": "traj",
}
# ase.io format -> what users call it, and the name to suggest for format=.
_WHAT = {"cif": "CIF", "vasp": "POSCAR", "extxyz": "XYZ", "json": "JSON", "traj": "ASE trajectory"}
_FRIENDLY = {"vasp": "poscar", "extxyz": "xyz"}
_FORMAT_CHOICES = "'cif', 'poscar' (or 'contcar', 'vasp'), 'xyz', 'extxyz', 'json', 'traj'"

# File name suffix -> friendly format name.
_SUFFIXES = {
    ".cif": "cif",
    ".vasp": "vasp",
    ".poscar": "poscar",
    ".contcar": "contcar",
    ".xyz": "xyz",
    ".extxyz": "extxyz",
    ".json": "json",
    ".traj": "traj",
}
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz")

# What a readable file of each ASE format looks like, said to the user when
# the reader fails.
_SHAPES = {
    "cif": (
        "a CIF file needs a data_ block with _cell_length_a/b/c, "
        "_cell_angle_alpha/beta/gamma and a loop_ of _atom_site_ positions"
    ),
    "vasp": (
        "a POSCAR has a comment line, a scale factor, three lattice-vector lines, "
        "the element symbols, the atom counts, 'Direct' or 'Cartesian', "
        "then one position line per atom"
    ),
    "extxyz": (
        "an XYZ file has the number of atoms on line 1, a comment on line 2, "
        "then one 'symbol x y z' line per atom"
    ),
    "json": (
        "a JSON structure file is one written by ase.io.write(..., format='json'), "
        "by pymatgen (Structure.to(filename='x.json')) or "
        "json.dump(crystalwidgets structure_to_dict(atoms))"
    ),
    "traj": "an ASE trajectory is a binary file written by ase.io.write or ase.io.Trajectory",
}
_TEXT_FORMATS = {"cif", "vasp", "extxyz", "json"}

# Keys the ASE CIF reader adds for its own bookkeeping; checked, then dropped.
_CIF_READER_INFO = ("spacegroup", "unit_cell", "occupancy")
_CIF_READER_ARRAYS = ("spacegroup_kinds",)


def load_structure(
    source: Any,
    format: str | None = None,
    *,
    name: str | None = None,
    index: int = -1,
    min_distance: float = DEFAULT_MIN_DISTANCE,
) -> Atoms:
    """Read one structure, check it, and return it as a new ``ase.Atoms``.

    Parameters
    ----------
    source : str, os.PathLike, bytes, ase.Atoms, pymatgen Structure or Molecule
        Where the structure comes from:

        - a path (``str`` or ``os.PathLike``; ``~`` is expanded);
        - ``bytes``, e.g. an uploaded file: give ``format``, or a ``name``
          whose file name tells the format (``name="POSCAR"``);
        - a ``str`` that is not an existing path and holds a newline (or
          starts with ``{``) is *pasted text*: it is dedented and its
          leading blank lines dropped (so a triple-quoted string works).
          Without ``format`` the text is recognised only when it is plainly
          CIF (a ``data_`` line and ``_atom_site_``/``_cell_length_`` tags),
          POSCAR (a scale line then three lattice-vector lines), XYZ (an atom
          count, a comment, then ``symbol x y z`` lines) or JSON (starts
          with ``{``); anything else needs ``format``;
        - an ``ase.Atoms`` (copied, ``info`` deeply: the result shares
          nothing with it; its calculator is not carried over);
        - a pymatgen ``Structure`` or ``Molecule`` (converted with
          ``AseAtomsAdaptor``; disordered structures are refused).
    format : str, optional
        ``"cif"``, ``"poscar"``/``"contcar"``/``"vasp"``, ``"xyz"``,
        ``"extxyz"``, ``"json"`` or ``"traj"`` (case-insensitive), or any
        format name ``ase.io.read`` knows (e.g. ``"vasp-xml"``). When omitted
        for a path, the format comes from the file name (``*.cif``,
        ``POSCAR*``, ``CONTCAR*``, ``*.vasp``, ``*.xyz``, ``*.extxyz``,
        ``*.json``, ``*.traj``, each optionally ``.gz``/``.bz2``/``.xz``),
        else from the content, else from ``ase.io.formats.filetype``.
        ``"xyz"`` and ``"extxyz"`` both use ASE's extended-XYZ reader, which
        also reads plain XYZ. ``"json"`` reads ASE JSON, pymatgen JSON and
        the JSON form of :func:`structure_to_dict`.
    name : str, optional
        What to call the source in messages (default: the path as given,
        ``<bytes>``, ``<pasted text>``); for bytes and pasted text its file
        name is also used to tell the format, like a path's.
    index : int, default -1
        Which frame of a multi-frame file (trajectory, multi-frame XYZ,
        multi-block CIF, ASE JSON database) to take: by default the **last**
        one, i.e. the final geometry of a relaxation. Sources that hold one
        structure accept only ``0`` or ``-1``.
    min_distance : float, default 0.5
        Atoms (or periodic images) closer than this, in Å, are refused as
        overlapping; ``0`` skips that check. See :func:`check_structure`.

    Returns
    -------
    ase.Atoms
        A new object. Reader results such as energies attached by ASE (a
        ``SinglePointCalculator`` from a trajectory) are kept. For CIF files
        the reader's bookkeeping (``info['spacegroup']``,
        ``info['unit_cell']``, ``info['occupancy']`` and the
        ``spacegroup_kinds`` array) is checked and dropped: the result is the
        full cell with every symmetry-equivalent atom listed.

    Raises
    ------
    StructureError
        When the source cannot be read (missing file, a directory, an empty
        or truncated file, binary garbage, the wrong or an unknown format),
        or the structure is unfit: no atoms, partially occupied sites,
        non-finite coordinates, a degenerate periodic cell, or overlapping
        atoms. The message names the source, the format tried, the reason
        and the fix; it never needs the traceback.

    Examples
    --------
    >>> atoms = load_structure("Cu.cif")                    # doctest: +SKIP
    >>> atoms = load_structure(upload_bytes, name="POSCAR")  # doctest: +SKIP
    >>> atoms = load_structure(relax_dir / "opt.traj")  # last frame  # doctest: +SKIP
    """
    if isinstance(source, Atoms):
        label = repr(name) if name else "the given Atoms"
        _check_single_index(index, label)
        atoms = source.copy()  # copies arrays and constraints, not the calculator
        atoms.info = _copied_info(source.info)
        _refuse_partial_occupancy(atoms, label)  # e.g. from ase.io.read of a disordered CIF
    elif _is_pymatgen(source):
        label = repr(name) if name else f"the given pymatgen {type(source).__name__}"
        _check_single_index(index, label)
        atoms = _from_pymatgen(source, label)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        label = repr(name) if name else "<bytes>"
        atoms = _load_data(bytes(source), format, name, label, index, pasted=False)
    elif isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if isinstance(text, bytes):  # an os.PathLike may give bytes
            text = os.fsdecode(text)
        if (
            isinstance(source, str)
            and ("\n" in source or source.lstrip().startswith("{"))
            and not _exists(source)
        ):
            label = repr(name) if name else "<pasted text>"
            data = _strip_pasted(source).encode("utf-8")
            atoms = _load_data(data, format, name, label, index, pasted=True)
        else:
            path = Path(text).expanduser()
            label = repr(name) if name else repr(text)
            atoms = _load_path(path, format, label, index)
    else:
        raise StructureError(
            f"cannot load a structure from a {type(source).__module__}."
            f"{type(source).__qualname__}: pass a file path, bytes with format=..., "
            "pasted file text, an ase.Atoms, or a pymatgen Structure or Molecule"
        )
    check_structure(atoms, min_distance=min_distance, name=label)
    return atoms


#: (structure hash, min_distance) of structures whose overlap search passed. The
#: hash rounds to 1e-5 Å, far below any min_distance, so a hit means the same answer.
_PASSED: set[tuple[str, float]] = set()
_PASSED_MAX = 4096


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


def structure_to_dict(atoms: Atoms) -> dict[str, Any]:
    """A compact JSON-able form of a structure, read back by :func:`structure_from_dict`.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure; it is not changed.

    Returns
    -------
    dict
        ``symbols`` (list of str), ``positions`` (N x 3, Å), ``cell``
        (3 x 3, Å) and ``pbc`` (3 bools); and only when present:
        ``initial_magmoms`` (N or N x 3), ``initial_charges`` (N),
        ``arrays`` (any other per-atom array, e.g. tags, masses, momenta or
        extended-XYZ columns), ``constraints`` (e.g. FixAtoms) and ``info``.
        Numbers are Python floats (``json`` writes them exactly). ``arrays``,
        ``constraints`` and ``info`` are encoded by ``ase.io.jsonio``, as
        ASE's own JSON files are: numpy arrays tagged
        ``{"__ndarray__": [shape, dtype, flat values]}``, complex numbers
        ``{"__complex__": [re, im]}``, so the round trip keeps shapes and
        dtypes; objects with ``todict()`` are stored as that dict (the
        ``Spacegroup`` that ASE's CIF reader and ``ase.spacegroup.crystal``
        put in ``info['spacegroup']`` comes back as ``{"number": ...,
        "setting": ...}``, as from an ASE JSON file). Tuples in ``info`` come
        back as lists and integer keys as integers. An attached calculator
        and its results are not part of the structure.

    Raises
    ------
    StructureError
        When ``info`` or a constraint holds something JSON cannot carry
        (naming the key), or ``atoms`` has a non-zero ``celldisp``.
    """
    if np.any(atoms.get_celldisp() != 0):
        raise StructureError(
            "structure_to_dict does not carry a cell displacement (atoms.celldisp); "
            "translate the positions instead and set atoms.set_celldisp([0, 0, 0])"
        )
    d: dict[str, Any] = {
        "symbols": list(atoms.get_chemical_symbols()),
        "positions": atoms.positions.tolist(),
        "cell": atoms.cell.array.tolist(),
        "pbc": [bool(p) for p in atoms.pbc],
    }
    for key in ("initial_magmoms", "initial_charges"):
        if atoms.has(key):
            d[key] = atoms.arrays[key].astype(float).tolist()
    others = {
        key: _to_jsonable(value, f"atoms.arrays[{key!r}]")
        for key, value in atoms.arrays.items()
        if key not in ("numbers", "positions", "initial_magmoms", "initial_charges")
    }
    if others:
        d["arrays"] = others
    if atoms.constraints:
        d["constraints"] = [
            _to_jsonable(c.todict(), f"constraint {type(c).__name__}") for c in atoms.constraints
        ]
    if atoms.info:
        d["info"] = {
            _info_key(key): _to_jsonable(value, f"atoms.info[{key!r}]")
            for key, value in atoms.info.items()
        }
    return d


def structure_from_dict(d: Mapping[str, Any]) -> Atoms:
    """Rebuild the structure a :func:`structure_to_dict` call described.

    Parameters
    ----------
    d : Mapping
        The dict (or its JSON, parsed back).

    Returns
    -------
    ase.Atoms
        Equal to the original in symbols, positions, cell, pbc, magnetic
        moments, charges, other per-atom arrays, constraints and info.

    Raises
    ------
    StructureError
        Naming the key that is missing, unknown or malformed.
    """
    if not isinstance(d, Mapping):
        raise StructureError(f"a structure dict must be a mapping, not {type(d).__name__}")
    required = ("symbols", "positions", "cell", "pbc")
    missing = [key for key in required if key not in d]
    if missing:
        raise StructureError(
            f"the structure dict lacks {', '.join(map(repr, missing))}; "
            "it needs 'symbols', 'positions', 'cell' and 'pbc' (see structure_to_dict)"
        )
    known = {*required, "initial_magmoms", "initial_charges", "arrays", "constraints", "info"}
    unknown = sorted(set(d) - known)
    if unknown:
        raise StructureError(
            f"the structure dict has unknown keys {unknown}; allowed: {sorted(known)}"
        )
    symbols = d["symbols"]
    if isinstance(symbols, str) or not all(isinstance(s, str) for s in symbols):
        raise StructureError("the structure dict's 'symbols' must be a list of element symbols")
    try:
        positions = np.array(d["positions"], dtype=float).reshape(len(symbols), 3)
    except (ValueError, TypeError):
        raise StructureError(
            f"the structure dict's 'positions' must be {len(symbols)} rows of 3 numbers "
            "(one per symbol)"
        ) from None
    try:
        cell = np.array(d["cell"], dtype=float).reshape(3, 3)
        pbc = np.array(d["pbc"], dtype=bool).reshape(3)
    except (ValueError, TypeError):
        raise StructureError(
            "the structure dict's 'cell' must be 3 x 3 numbers and 'pbc' 3 booleans"
        ) from None
    try:
        atoms = Atoms(symbols=symbols, positions=positions, cell=cell, pbc=pbc)
    except (KeyError, ValueError) as exc:
        raise StructureError(
            f"the structure dict's 'symbols' hold an unknown element symbol ({exc})"
        ) from None
    try:
        for key in ("initial_magmoms", "initial_charges"):
            if key in d:
                atoms.set_array(key, np.array(d[key], dtype=float))
        for key, value in d.get("arrays", {}).items():
            atoms.set_array(key, np.asarray(_from_jsonable(value)))
    except ValueError as exc:
        raise StructureError(f"the structure dict holds a per-atom array of the wrong length ({exc})") from None
    if "constraints" in d:
        from ase.constraints import dict2constraint

        try:
            atoms.set_constraint([dict2constraint(_from_jsonable(c)) for c in d["constraints"]])
        except Exception as exc:  # noqa: BLE001 - any bad constraint dict
            raise StructureError(
                f"the structure dict's 'constraints' cannot be rebuilt ({type(exc).__name__}: {exc})"
            ) from None
    atoms.info.update(_from_jsonable(dict(d.get("info", {}))))
    return atoms


def structure_hash(atoms: Atoms) -> str:
    """A SHA-256 fingerprint of a structure's geometry.

    The hash covers the atomic numbers, positions, cell and pbc, with
    positions and cell rounded to 1e-5 Å (so float noise from a format or
    library round trip does not change it). Two structures with the same
    atoms in the same order at the same places get the same hash.

    It is sensitive to atom order and to which periodic image a position is
    written in (positions are not wrapped into the cell), and it ignores
    magnetic moments, charges, constraints, info and any calculator. Two
    values within 1e-5 Å of each other can still round differently when
    they straddle a rounding boundary.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure; it is not changed.

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    h = hashlib.sha256(b"crystalwidgets.structure_hash.v1\0")
    h.update(np.asarray(atoms.numbers, dtype="<i8").tobytes())
    h.update(_rounded(atoms.positions).tobytes())
    h.update(_rounded(atoms.cell.array).tobytes())
    h.update(np.asarray(atoms.pbc, dtype=np.uint8).tobytes())
    return h.hexdigest()


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


# --- reading ---------------------------------------------------------------


def _exists(text: str) -> bool:
    try:
        return Path(text).expanduser().exists()
    except (OSError, ValueError):
        return False


def _strip_pasted(text: str) -> str:
    """Pasted text dedented, without its leading blank lines (a triple-quoted string)."""
    return re.sub(r"\A(?:[ \t]*\r?\n)+", "", textwrap.dedent(text))


def _load_path(path: Path, format: str | None, label: str, index: int) -> Atoms:
    fmt = _resolve_format(format, label) if format is not None else _format_from_name(path.name)
    shown = format
    if path.is_dir():
        inside = sorted(p.name for p in path.iterdir() if _format_from_name(p.name))[:5]
        hint = f"; structure files in it: {', '.join(inside)}" if inside else ""
        raise StructureError(
            f"cannot read {label}{_as(fmt, shown)}: it is a directory, not a file{hint}; "
            "pass the path of one file"
        )
    if not path.exists():
        raise StructureError(
            f"cannot read {label}{_as(fmt, shown)}: no such file (looked for "
            f"{path.absolute()}); check the path and the current directory"
        )
    try:
        size = path.stat().st_size
        head = _head(path)
    except OSError as exc:
        raise StructureError(
            f"cannot read {label}{_as(fmt, shown)}: {exc.strerror or exc}"
        ) from None
    if size == 0:
        raise StructureError(
            f"cannot read {label}{_as(fmt, shown)}: the file is empty (0 bytes); "
            "was it still being written, or did the upload or copy fail?"
        )
    if fmt is None:
        fmt = _format_from_content(head) or _format_from_ase(path)
    if fmt is None:
        raise StructureError(
            f"cannot read {label}: its format cannot be told from the file name or content; "
            f"pass format= one of {_FORMAT_CHOICES}, or any ase.io.read format name"
        )
    return _read(path, fmt, shown, label, index, head)


def _load_data(
    data: bytes, format: str | None, name: str | None, label: str, index: int, *, pasted: bool
) -> Atoms:
    fmt = _resolve_format(format, label) if format is not None else None
    if fmt is None and name:
        fmt = _format_from_name(name)
    if fmt is None and pasted:
        fmt = _format_from_content(data[:65536])
        if fmt is None:
            raise StructureError(
                f"cannot read {label}: the text does not look plainly like CIF, POSCAR, XYZ or "
                f"JSON, so its format is unknown; pass format= one of {_FORMAT_CHOICES}"
            )
    if fmt is None:
        told = f"the name {name!r} does not tell" if name else "bytes carry no file name to tell"
        raise StructureError(
            f"cannot read {label}: {told} the format; pass format= one of {_FORMAT_CHOICES} "
            "(or any ase.io.read format name), or name= the original file name "
            "(e.g. name='POSCAR' or name='Cu.cif')"
        )
    if not data.strip():
        raise StructureError(f"cannot read {label}{_as(fmt, format)}: it is empty")
    # ASE's readers want a file (traj needs a seekable binary one; compressed
    # files are known by their suffix), so the data goes to a private
    # temporary file, under its own name when it has one.
    file_name = Path(name).name if name and "\0" not in name else ""
    if file_name in ("", ".", ".."):
        file_name = "POSCAR" if fmt == "vasp" else "structure"
    with tempfile.TemporaryDirectory(prefix="crystalwidgets-") as tmp:
        path = Path(tmp) / file_name
        path.write_bytes(data)
        try:
            return _read(path, fmt, format, label, index, data[:65536])
        except StructureError as exc:
            raise StructureError(str(exc).replace(str(path), label)) from None


def _resolve_format(format: str, label: str) -> str:
    from ase.io.formats import ioformats

    key = str(format).strip().lower()
    if key in _FORMATS:
        return _FORMATS[key]
    if format in ioformats and ioformats[format].can_read:
        return format
    readable = [k for k, v in ioformats.items() if v.can_read]
    close = difflib.get_close_matches(key, [*_FORMATS, *readable], n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise StructureError(
        f"cannot read {label}: unknown format {format!r}; use one of {_FORMAT_CHOICES}, "
        f"or a format name ase.io.read knows (e.g. 'vasp-xml', 'espresso-out').{hint}"
    )


def _format_from_name(file_name: str) -> str | None:
    name = Path(file_name).name.lower()
    for suffix in _COMPRESSION_SUFFIXES:
        name = name.removesuffix(suffix)
    if name.startswith(("poscar", "contcar")):
        return "vasp"
    friendly = _SUFFIXES.get(Path(name).suffix)
    return _FORMATS[friendly] if friendly else None


def _format_from_ase(path: Path) -> str | None:
    from ase.io.formats import filetype

    try:
        return filetype(str(path), guess=False)
    except Exception:  # noqa: BLE001 - ASE raises assorted errors for unknown files
        return None


_FLOAT = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?"
_POSCAR_SCALE = re.compile(rf"^\s*{_FLOAT}(?:\s+{_FLOAT}\s+{_FLOAT})?\s*$")
_THREE_FLOATS = re.compile(rf"^\s*{_FLOAT}\s+{_FLOAT}\s+{_FLOAT}\s*$")
_XYZ_ATOM = re.compile(rf"^\s*[A-Za-z]{{1,3}}\d*\s+{_FLOAT}\s+{_FLOAT}\s+{_FLOAT}(\s|$)")


def _format_from_content(head: bytes) -> str | None:
    """The ASE format the first bytes of a file plainly have, or None.

    Recognised: an ASE trajectory (its magic bytes), JSON (starts with
    ``{``), CIF (a ``data_`` line and ``_atom_site_`` or ``_cell_length_``
    tags), POSCAR (line 2 a scale, lines 3-5 three numbers each) and XYZ
    (line 1 a count, line 3 ``symbol x y z``).
    """
    if head.startswith(b"- of Ulm"):
        return "traj"
    if b"\0" in head:
        return None
    text = head.decode("latin-1")
    lines = text.splitlines()
    if text.lstrip().startswith("{"):
        return "json"
    if re.search(r"^\s*data_", text, re.M) and ("_atom_site_" in text or "_cell_length_" in text):
        return "cif"
    if len(lines) >= 5 and _POSCAR_SCALE.match(lines[1]) and all(
        _THREE_FLOATS.match(line) for line in lines[2:5]
    ):
        return "vasp"
    if len(lines) >= 3 and lines[0].strip().isdigit() and _XYZ_ATOM.match(lines[2]):
        return "extxyz"
    return None


def _head(path: Path) -> bytes:
    """The first 64 KiB of a file, decompressed when its name says it is compressed."""
    if path.name.lower().endswith(_COMPRESSION_SUFFIXES):
        from ase.io.formats import open_with_compression

        try:
            with open_with_compression(str(path), "rb") as fh:
                return fh.read(65536)
        except (OSError, EOFError, ValueError):  # a corrupt archive: the reader says so
            return b""
    with open(path, "rb") as fh:
        return fh.read(65536)


def _read(
    path: Path, fmt: str, shown: str | None, label: str, index: int, head: bytes
) -> Atoms:
    """Read frame ``index`` of ``path`` in ASE format ``fmt``, explaining any failure."""
    what = _what(fmt)
    where = f"cannot read {label}{_as(fmt, shown)}"
    if fmt in _TEXT_FORMATS and b"\0" in head:
        raise StructureError(
            f"{where}: it holds binary data, not {what} text{_looks_like(head, fmt)}"
        )
    if fmt == "json":
        single = _read_single_json(path, where, label)
        if single is not None:
            _check_single_index(index, label)
            return single
    from ase.io import read

    try:
        atoms = read(str(path), index=index, format=fmt)
    except Exception as exc:  # noqa: BLE001 - ASE readers raise anything on bad input
        if index not in (0, -1):
            frames = _count_frames(path, fmt)
            if frames and not -frames <= index < frames:
                raise StructureError(
                    f"{where}: it holds {frames} frame(s), so index={index} does not exist; "
                    f"use an index from {-frames} to {frames - 1}"
                ) from None
        shape = _SHAPES.get(fmt, f"ase.io.read cannot read it as {fmt!r}")
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise StructureError(
            f"{where}: the file is truncated or not a readable {what} file ({shape})"
            f"{_looks_like(head, fmt)}. [ASE's reader stopped at "
            f"{type(exc).__name__}{': ' + detail if detail else ''}]"
        ) from None
    if not isinstance(atoms, Atoms):
        raise StructureError(
            f"{where}: the reader gave a {type(atoms).__name__}, not one structure"
        )
    if fmt == "cif":
        _drop_cif_bookkeeping(atoms, label)
    return atoms


def _read_single_json(path: Path, where: str, label: str) -> Atoms | None:
    """The structure of a pymatgen or structure_to_dict JSON file; None for ASE JSON."""
    from ase.io.formats import open_with_compression

    try:
        with open_with_compression(str(path), "r") as fh:
            data = json.load(fh)
    except UnicodeDecodeError:
        raise StructureError(f"{where}: it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise StructureError(
            f"{where}: it is not valid JSON ({exc.msg} at line {exc.lineno}, column "
            f"{exc.colno}); the file may be truncated, or not JSON at all"
            f"{_looks_like(exc.doc[:65536].encode('latin-1', 'replace'), 'json')}"
        ) from None
    if not isinstance(data, dict):
        raise StructureError(f"{where}: it holds a JSON {type(data).__name__}, not an object")
    if "symbols" in data and "positions" in data:
        try:
            return structure_from_dict(data)
        except StructureError as exc:
            raise StructureError(f"{where}: {exc}") from None
    if str(data.get("@module", "")).startswith("pymatgen"):
        from monty.json import MontyDecoder

        try:
            obj = MontyDecoder().process_decoded(data)
        except Exception as exc:  # noqa: BLE001 - malformed pymatgen dicts raise anything
            raise StructureError(
                f"{where}: pymatgen cannot rebuild its {data.get('@class', 'object')} "
                f"({type(exc).__name__}: {exc})"
            ) from None
        if not _is_pymatgen(obj):
            raise StructureError(
                f"{where}: it holds a pymatgen {type(obj).__name__}, not a Structure or Molecule"
            )
        return _from_pymatgen(obj, label)
    return None


def _count_frames(path: Path, fmt: str) -> int:
    from ase.io import read

    try:
        return len(read(str(path), index=":", format=fmt))
    except Exception:  # noqa: BLE001 - only used to word a message
        return 0


def _copied_info(info: dict[Any, Any]) -> dict[Any, Any]:
    """A deep copy of ``atoms.info``, refusing (by key) a value nested too deeply to copy."""
    out = {}
    for key, value in info.items():
        try:
            out[key] = copy.deepcopy(value)
        except RecursionError:
            raise StructureError(
                f"atoms.info[{key!r}] cannot be copied (RecursionError: it is nested too "
                "deeply or refers to itself); remove it from the structure"
            ) from None
    return out


def _refuse_partial_occupancy(atoms: Atoms, label: str) -> None:
    """Refuse the partially occupied sites ASE's CIF reader notes in ``info['occupancy']``."""
    occupancy = atoms.info.get("occupancy") or {}
    if not isinstance(occupancy, Mapping):
        return
    kinds = atoms.arrays.get("spacegroup_kinds")
    for kind, fractions in occupancy.items():
        if not isinstance(fractions, Mapping):
            continue
        if all(f > 1 - 1e-3 for f in fractions.values()) and len(fractions) == 1:
            continue
        try:
            at = np.flatnonzero(kinds == int(kind)) if kinds is not None else np.array([], int)
        except (TypeError, ValueError):
            at = np.array([], int)
        site = f" (atom {int(at[0])})" if at.size else ""
        shares = " + ".join(f"{s} {f:g}" for s, f in fractions.items())
        raise StructureError(
            f"cannot use {label}: it has partially occupied sites, e.g. "
            f"{shares}{site}, and ASE keeps only one element per site. A calculation "
            "needs an ordered structure: pick an ordered model (e.g. with pymatgen's "
            "OrderDisorderedStructureTransformation) or edit the occupancies"
        )


def _drop_cif_bookkeeping(atoms: Atoms, label: str) -> None:
    """Refuse partially occupied CIF sites, then drop the CIF reader's own keys."""
    _refuse_partial_occupancy(atoms, f"{label} (format='cif')")
    for key in _CIF_READER_INFO:
        atoms.info.pop(key, None)
    for key in _CIF_READER_ARRAYS:
        if atoms.has(key):
            del atoms.arrays[key]


def _what(fmt: str) -> str:
    return _WHAT.get(fmt, f"{fmt!r}")


def _as(fmt: str | None, shown: str | None = None) -> str:
    """' as CIF (format='cif')', with the format name the user gave when there is one."""
    if fmt is None:
        return ""
    return f" as {_what(fmt)} (format={shown or _FRIENDLY.get(fmt, fmt)!r})"


def _looks_like(head: bytes, fmt: str) -> str:
    seen = _format_from_content(head)
    if seen and seen != fmt:
        return f"; its content looks like {_what(seen)}: try format={_FRIENDLY.get(seen, seen)!r}"
    return ""


def _check_single_index(index: int, label: str) -> None:
    if index not in (0, -1):
        raise StructureError(
            f"{label} holds one structure, so index={index} does not exist; use 0 or -1"
        )


# --- pymatgen --------------------------------------------------------------


def _is_pymatgen(obj: Any) -> bool:
    if not type(obj).__module__.startswith("pymatgen"):
        return False
    from pymatgen.core import IMolecule, IStructure

    return isinstance(obj, (IStructure, IMolecule))


def _from_pymatgen(obj: Any, label: str) -> Atoms:
    from pymatgen.io.ase import AseAtomsAdaptor

    if not obj.is_ordered:
        raise StructureError(
            f"{label} is disordered (partially occupied sites); a calculation needs an "
            "ordered structure: order it first (e.g. OrderDisorderedStructureTransformation)"
        )
    try:
        # The adaptor gives pymatgen's MSONAtoms subclass: hand back plain Atoms.
        return Atoms(AseAtomsAdaptor.get_atoms(obj))
    except Exception as exc:  # noqa: BLE001 - the adaptor raises assorted errors
        raise StructureError(
            f"{label} cannot be converted to ase.Atoms ({type(exc).__name__}: {exc})"
        ) from None


# --- overlap search --------------------------------------------------------


def _periodic_basis(cell: np.ndarray, pbc: np.ndarray, label: str) -> np.ndarray:
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
    points, owners, shifted = [home], [np.arange(n)], [np.zeros(n, dtype=bool)]
    for shift in itertools.product(*(range(-r, r + 1) for r in reach)):
        if not any(shift):
            continue
        moved = frac + np.array(shift)
        inside = np.all((moved[:, pbc] > -skin[pbc]) & (moved[:, pbc] < 1 + skin[pbc]), axis=1)
        if inside.any():
            points.append(moved[inside] @ basis)
            owners.append(np.flatnonzero(inside))
            shifted.append(np.ones(int(inside.sum()), dtype=bool))
    owner = np.concatenate(owners)
    image = np.concatenate(shifted)
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


# --- JSON helpers ----------------------------------------------------------


def _rounded(values: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(values, dtype=float) * 1e5).astype("<i8")


def _info_key(key: Any) -> str:
    if not isinstance(key, str):
        raise StructureError(
            f"atoms.info key {key!r} is not a string; JSON keys must be strings: rename it"
        )
    return key


class _Unencodable(TypeError):
    def __init__(self, obj: Any) -> None:
        super().__init__(obj)
        self.obj = obj


def _ase_default(obj: Any) -> Any:
    """``ase.io.jsonio``'s encoder for one object, saying which object it could not take."""
    from ase.io.jsonio import default

    try:
        return default(obj)
    except TypeError:
        raise _Unencodable(obj) from None


def _to_jsonable(value: Any, where: str) -> Any:
    """``value`` as JSON types, encoded as ``ase.io.jsonio`` does.

    numpy arrays become ``{"__ndarray__": [shape, dtype, flat]}``, complex numbers
    ``{"__complex__": [re, im]}``, and objects with ``todict()`` (an
    ``ase.spacegroup.Spacegroup`` from ASE's CIF reader or ``crystal()``, a Cell)
    their dict, exactly as ``ase.io.write(..., format="json")`` stores them.
    """
    try:
        return json.loads(json.dumps(value, default=_ase_default))
    except _Unencodable as exc:
        kind = type(exc.obj)
        raise StructureError(
            f"{where} holds a {kind.__module__}.{kind.__qualname__}, which JSON cannot carry; "
            "remove it or replace it with numbers, strings, lists, dicts or arrays"
        ) from None
    except TypeError as exc:  # e.g. a tuple as a dict key
        raise StructureError(
            f"{where} cannot be written as JSON ({exc}); use string keys and plain values"
        ) from None
    except (ValueError, RecursionError) as exc:  # a circular or absurdly deep container
        raise StructureError(
            f"{where} cannot be written as JSON ({type(exc).__name__}: it refers to itself "
            "or is nested too deeply); remove it from the structure"
        ) from None


def _from_jsonable(value: Any) -> Any:
    """Read back what :func:`_to_jsonable` wrote (and ASE's JSON), as ``ase.io.jsonio`` does."""
    from ase.io.jsonio import decode

    return decode(json.dumps(value), always_array=False)
