"""Bounded reads: the atom counts a file claims are checked against what the file holds
before ASE's reader sees it.

ASE's XYZ and POSCAR readers trust the count a file states: an ``.xyz`` whose first line
says 10^9 reads empty lines for minutes, a POSCAR claiming 10^9 atoms allocates gigabytes.
Here each count is checked against the bytes left after it (an atom line takes at least
:data:`MIN_XYZ_LINE` or :data:`MIN_POSCAR_LINE` bytes) and the frames are walked line by
line, stopping at the end of the file, so the cost follows the file's real size, never the
number it claims. Compressed files, whose size says nothing, are only walked.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import StructureError

__all__ = ["MIN_POSCAR_LINE", "MIN_XYZ_LINE", "check_claimed_sizes"]

#: Fewest bytes of one atom line of an XYZ frame (``H 0 0 0`` and its newline).
MIN_XYZ_LINE = 8
#: Fewest bytes of one position line of a POSCAR (``0 0 0`` and its newline).
MIN_POSCAR_LINE = 6

_COMPRESSED = (".gz", ".bz2", ".xz")


def check_claimed_sizes(path: Path, fmt: str, where: str) -> None:
    """Refuse a file whose stated atom counts cannot fit in it, naming the line.

    Parameters
    ----------
    path
        The file (compressed when its name ends in ``.gz``, ``.bz2`` or ``.xz``).
    fmt
        The ASE format it is read as; only ``extxyz`` and ``vasp`` state counts.
    where
        The start of the message (``cannot read 'big.xyz' as XYZ (format='xyz')``).

    Raises
    ------
    StructureError
        When a count is more than the rest of the file can hold, or a frame ends
        before its atoms do: the message names the line, the count and the fix.
    """
    if fmt not in ("extxyz", "vasp"):
        return
    from ase.io.formats import open_with_compression

    size = None if path.name.lower().endswith(_COMPRESSED) else path.stat().st_size
    with open_with_compression(str(path), "rb") as fh:
        if fmt == "extxyz":
            _check_xyz(fh, size, where)
        else:
            _check_poscar(fh, size, where)


def _too_many(
    where: str, line_no: int, count: int, what: str, left: int, per_line: int, lines: str, fix: str
) -> StructureError:
    room = max(left // per_line, 0)
    return StructureError(
        f"{where}: line {line_no} says {what} {count:,} atoms, but the {left:,} bytes after it hold "
        f"at most {room:,} {lines}; {fix}"
    )


def _check_xyz(fh, size: int | None, where: str) -> None:  # noqa: ANN001 - a binary file
    fix_count = "make it the number of 'symbol x y z' lines of the frame, or use the complete file"
    line_no = 0
    while True:
        line = fh.readline()
        line_no += 1
        if not line:
            return
        if not line.strip():
            continue  # blank lines between or after frames: the reader judges them
        try:
            count = int(line.split()[0])
        except ValueError:
            return  # not a count: ASE's reader says what is wrong
        if count < 0:
            return
        if size is not None:
            left = size - fh.tell()
            # a comment line (at least its newline), then the atom lines (the last one may lack its newline)
            if count * MIN_XYZ_LINE - 1 > max(left - 1, 0):
                raise _too_many(where, line_no, count, "its frame has", left, MIN_XYZ_LINE, "atom lines", fix_count)
        count_line = line_no
        if not fh.readline():
            raise StructureError(
                f"{where}: line {count_line} says its frame has {count:,} atoms, but the file ends "
                f"there, before the frame's comment line; {fix_count}"
            )
        line_no += 1
        for found in range(count):
            if not fh.readline():  # the end: never read past it, whatever the count says
                raise StructureError(
                    f"{where}: line {count_line} says its frame has {count:,} atoms, but the file "
                    f"ends after {found:,} atom lines; {fix_count}"
                )
        line_no += count


_INTS = re.compile(rb"^\s*\d+(?:\s+\d+)*\s*$")


def _check_poscar(fh, size: int | None, where: str) -> None:  # noqa: ANN001 - a binary file
    head = [fh.readline() for _ in range(7)]
    # the counts: line 6 (VASP 4, symbols in the comment) or line 7 (after the symbols)
    for line_no in (6, 7):
        line = head[line_no - 1]
        if _INTS.match(line):
            break
    else:
        return  # no counts where POSCAR has them: ASE's reader says what is wrong
    counts = [int(n) for n in line.split()]
    total = sum(counts)
    fix = "make the counts match the position lines, or use the complete file"
    if size is not None:
        left = size - sum(len(x) for x in head[:line_no])
        if total * MIN_POSCAR_LINE - 1 > left:
            shown = " + ".join(str(n) for n in counts) if len(counts) > 1 else ""
            what = f"the cell holds {shown} =" if shown else "the cell holds"
            raise _too_many(where, line_no, total, what, left, MIN_POSCAR_LINE, "position lines", fix)
    kind = fh.readline()  # "Selective dynamics" or the coordinate kind
    if kind.strip()[:1] in (b"s", b"S"):
        fh.readline()
    for found in range(total):
        if not fh.readline():  # the end: never read past it, whatever the counts say
            raise StructureError(
                f"{where}: line {line_no} says the cell holds {total:,} atoms, but the file ends "
                f"after {found:,} position lines; {fix}"
            )
