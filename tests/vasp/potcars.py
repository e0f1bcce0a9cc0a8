"""Synthetic POTCAR trees for tests: the real header layout, made-up numbers.

No licensed POTCAR is in this repository: every file here is written by :func:`write_potcar`,
with the keywords pymatgen, ASE and custodian read (TITEL, LEXCH, VRHFIN, POMASS, ZVAL,
ENMAX...) inside ``parameters from PSCTR are:`` ... ``END of PSCTR-controll parameters``,
then a short made-up data block and ``End of Dataset``.
"""

from __future__ import annotations

from pathlib import Path

#: ZVAL and POMASS (made up where it does not matter; ZVAL as VASP's for the elements used)
_ELEMENTS = {"Si": (4.0, 28.085), "O": (6.0, 16.0), "Fe": (8.0, 55.847), "Al": (3.0, 26.982), "Cu": (11.0, 63.546)}

_TEMPLATE = """\
  {titel}
 {zval:.15f}
 parameters from PSCTR are:
   VRHFIN ={element}: s2p2
   LEXCH  = {lexch}
   EATOM  =   103.0669 eV,    7.5752 Ry

   TITEL  = {titel}
   LULTRA =        F    use ultrasoft PP ?
   IUNSCR =        1    unscreen: 0-lin 1-nonlin 2-no
   RPACOR =    1.500    partial core radius
   POMASS =   {pomass:.3f}; ZVAL   =    {zval:.3f}    mass and valenz
   RCORE  =    1.900    outmost cutoff radius
   RWIGS  =    2.480; RWIGS  =    1.312    wigner-seitz radius (au A)
   ENMAX  =  {enmax:.3f}; ENMIN  =  184.009 eV
   ICORE  =        2    local potential
   LCOR   =        T    correct aug charges
   LPAW   =        T    paw PP
   EAUG   =  322.069
   DEXC   =    0.000
   RMAX   =    1.950    core radius for proj-oper
   RAUG   =    1.300    factor for augmentation sphere
   RDEP   =    1.993    radius for radial grids
   RDEPT  =    1.837    core radius for aug-charge

   Atomic configuration
    2 entries
     n  l   j            E        occ.
     3  0  0.50       -10.8785   2.0000
     3  1  0.50        -4.0817   2.0000
   Description
     l       E           TYP  RCUT    TYP  RCUT
     0    -10.8785309     23  1.900
     1     -4.0817325     23  1.900
   Error from kinetic energy argument (eV)
   NDATA  =             100
   STEP   =  20.000   1.050
    10.1    9.04  8.56  7.65  7.23  6.44  5.73  5.40
END of PSCTR-controll parameters
 local part
    98.4158946949460
  0.12345678E+02  0.11345678E+02  0.10345678E+02  0.09345678E+02  0.08345678E+02
  0.07345678E+02  0.06345678E+02  0.05345678E+02  0.04345678E+02  0.03345678E+02
 End of Dataset
"""


def write_potcar(
    path: Path,
    element: str,
    *,
    lexch: str = "PE",
    titel: str | None = None,
    vrhfin_element: str | None = None,
    enmax: float = 245.345,
) -> Path:
    """Write a synthetic POTCAR for ``element`` at ``path`` (its folders created)."""
    zval, pomass = _ELEMENTS.get(element, (4.0, 10.0))
    kind = "PAW" if lexch == "CA" else "PAW_PBE"
    text = _TEMPLATE.format(
        titel=titel or f"{kind} {element} 05Jan2001",
        zval=zval,
        element=vrhfin_element or element,
        lexch=lexch,
        pomass=pomass,
        enmax=enmax,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def potcar_tree(root: Path, folders: dict[str, dict[str, str]]) -> Path:
    """A library ``root`` with ``{folder: {setup: lexch}}``, e.g. ``{"potpaw_PBE.64": {"Si": "PE"}}``."""
    for folder, setups in folders.items():
        for setup, lexch in setups.items():
            write_potcar(root / folder / setup / "POTCAR", setup.split("_")[0], lexch=lexch)
    return root
