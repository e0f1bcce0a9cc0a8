"""Structures as JSON (``ase.io.jsonio`` for arrays, constraints and info) and their geometry
fingerprint."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
from ase import Atoms

from ..errors import StructureError

__all__ = ["structure_from_dict", "structure_hash", "structure_to_dict"]


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
