"""Structure file formats: names users give, how a file's name or content tells its format, and
the words messages use for each."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from ..errors import StructureError

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
