"""The input files a VASP recipe will write, from quacc itself: a preview for the form.

The recipe is called for real, in a private temporary folder, with quacc's settings
changed for this thread only so that the "VASP" it starts is ``true`` (no custodian, no
MPI launcher): quacc builds its ``Vasp`` calculator with the recipe's own defaults, the
preset and the user's parameters, its INCAR copilot runs, ASE's ``write_input`` writes
INCAR, KPOINTS, POSCAR and POTCAR, the no-op command returns, and quacc fails the
calculation (nothing to read) leaving the files in its ``failed-quacc-*`` folder. They
are read back, the POTCAR only as its symbols and headers (its content is licensed).
Call it off the kernel's thread: it takes about a tenth of a second once quacc is loaded.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .recipe import checks_potcars

__all__ = ["PREVIEW_FILES", "preview_inputs"]

#: The files shown, in this order.
PREVIEW_FILES = ("INCAR", "KPOINTS", "POSCAR")
_NO_VASP = {
    "VASP_USE_CUSTODIAN": False,
    "VASP_CMD": "true",
    "VASP_GAMMA_CMD": "true",
    "VASP_PARALLEL_CMD": "",
    "GZIP_FILES": False,
    "SCRATCH_DIR": None,
    "CREATE_UNIQUE_DIR": True,
}


def _none(why: str) -> dict[str, Any]:
    return {"files": {}, "potcars": [], "unknown_tags": [], "error": why}


def _potcars(path: Path) -> list[dict[str, Any]]:
    from pymatgen.io.vasp.inputs import Potcar

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [
            {"symbol": p.symbol, "titel": p.TITEL, "lexch": p.LEXCH, "functional": p.functional}
            for p in Potcar.from_file(str(path))
        ]


def preview_inputs(
    info: Any, atoms: Any, cleaned: Mapping[str, Any], *, exports: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """INCAR, KPOINTS and POSCAR as recipe ``info`` writes them for ``atoms`` and ``cleaned``.

    Parameters
    ----------
    info
        A VASP job recipe (:class:`~crystalwidgets.recipes.RecipeInfo`) whose inputs
        are checked (:func:`~.recipe.checks_potcars`).
    atoms
        The structure (ASE Atoms); not changed.
    cleaned
        The recipe's parameters, validated.
    exports
        Variables the profile's workers export (their POTCAR library wins, as on the workers).

    Returns
    -------
    dict
        ``files`` (name: text, for each of :data:`PREVIEW_FILES` written), ``potcars``
        (per POTCAR in the file: ``symbol``, ``titel``, ``lexch``, ``functional``),
        ``unknown_tags`` (INCAR tags pymatgen does not know, e.g. a preset's EFERMI) and
        ``error`` (why there is no preview, or ``""``).
    """
    if not checks_potcars(info) or info.kind != "job":
        return _none(f"{info.name} has no input preview (VASP jobs with a preset only)")
    from quacc import change_settings

    from .library import _Quiet, pp_library

    library, _ = pp_library(exports)
    recipe = info.load()
    with tempfile.TemporaryDirectory(prefix="cw-vasp-preview-") as tmp:
        settings = {**_NO_VASP, "RESULTS_DIR": Path(tmp), "VASP_PP_PATH": Path(library) if library else None}
        failure = ""
        with _Quiet(), warnings.catch_warnings(), change_settings(settings):
            warnings.simplefilter("ignore")
            try:
                recipe(atoms.copy(), **dict(cleaned))
            except Exception as exc:  # expected: quacc's JobFailure, the files are kept
                failure = f"{type(exc).__name__}: {exc}"
        written = [p for p in Path(tmp).rglob("INCAR") if p.is_file()]
        if not written:
            return _none(f"quacc wrote no input files ({failure or 'no error'})")
        folder = written[0].parent
        files = {name: (folder / name).read_text() for name in PREVIEW_FILES if (folder / name).is_file()}
        potcar = folder / "POTCAR"
        potcars = _potcars(potcar) if potcar.is_file() else []
    return {"files": files, "potcars": potcars, "unknown_tags": _unknown_tags(files.get("INCAR", "")), "error": ""}


def _unknown_tags(incar: str) -> list[str]:
    """Tags of the written INCAR that pymatgen does not know (the preset's too), for information."""
    from .incar import known_incar_tags

    tags = [line.split("=", 1)[0].strip().upper() for line in incar.splitlines() if "=" in line]
    return [tag for tag in tags if tag and tag not in known_incar_tags()]
