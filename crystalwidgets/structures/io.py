"""Read one structure from whatever a user hands over: a path, bytes, pasted text, ase.Atoms,
pymatgen Structure or Molecule.

Every structure that reaches a recipe goes through :func:`load_structure`, so a bad file is
refused here, with a message that names the file, the format tried and what was wrong,
rather than deep inside a calculation."""

from __future__ import annotations

import copy
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

from ..errors import StructureError
from .bounds import check_claimed_sizes
from .checks import DEFAULT_MIN_DISTANCE, check_structure
from .codec import structure_from_dict
from .formats import (
    _FORMAT_CHOICES,
    _SHAPES,
    _TEXT_FORMATS,
    _as,
    _format_from_ase,
    _format_from_content,
    _format_from_name,
    _head,
    _looks_like,
    _resolve_format,
    _what,
)

__all__ = ["load_structure"]


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
    check_claimed_sizes(path, fmt, where)  # a count the file cannot hold never reaches ASE
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


def _check_single_index(index: int, label: str) -> None:
    if index not in (0, -1):
        raise StructureError(
            f"{label} holds one structure, so index={index} does not exist; use 0 or -1"
        )


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
