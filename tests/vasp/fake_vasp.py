"""A stand-in for ``vasp_std`` (tests only): replays a genuine VASP output set into the cwd.

quacc runs it through custodian exactly as it would run VASP (``QUACC_VASP_CMD``):
it reads the INCAR quacc wrote, then writes vasprun.xml, OUTCAR, CONTCAR and OSZICAR
of the set named by ``CW_FAKE_VASP_SET`` (a folder of ``.gz`` files, see
``outputs/README.md``) and a VASP-like stdout. ``CW_FAKE_VASP_SCENARIO`` picks what
happens:

``clean``
    the set, at once.
``tetrahedron``
    while the INCAR asks for the tetrahedron method (ISMEAR = -5), fail as VASP does
    ("Tetrahedron method fails", no output files); once custodian has changed ISMEAR,
    the set.
``broken``
    always fail ("ERROR RSPHER", which custodian cannot correct), leaving a partial OUTCAR.

Each call appends one line to ``fake-vasp-calls.txt`` (the INCAR's ISMEAR).
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import sys
from pathlib import Path

FILES = ("vasprun.xml", "OUTCAR", "CONTCAR", "OSZICAR")


def _ismear() -> str:
    try:
        text = Path("INCAR").read_text()
    except OSError:
        return "?"
    match = re.search(r"^\s*ISMEAR\s*=\s*(\S+)", text, flags=re.MULTILINE | re.IGNORECASE)
    return match.group(1) if match else "?"


def main() -> int:
    source = Path(os.environ["CW_FAKE_VASP_SET"])
    scenario = os.environ.get("CW_FAKE_VASP_SCENARIO", "clean")
    ismear = _ismear()
    with open("fake-vasp-calls.txt", "a") as fh:
        fh.write(f"ISMEAR={ismear}\n")
    print(" running on    1 total cores")
    print(" vasp.6.4.2 (stand-in for tests: replays a recorded output set)")
    if scenario == "broken":
        Path("OUTCAR").write_text(" vasp.6.4.2 (stand-in)\n ERROR RSPHER: running out of buffer\n")
        print(" ERROR RSPHER: running out of buffer            0           0           0")
        return 1
    if scenario == "tetrahedron" and ismear.startswith("-5"):
        print(" Tetrahedron method fails (number of k-points < 4)")
        return 1
    for name in FILES:
        with gzip.open(source / f"{name}.gz", "rb") as src, open(name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    print(" reached required accuracy - stopping structural energy minimisation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
