"""Where each widget finds its built front-end bundle (``static/<name>.js`` / ``.css``)."""

from __future__ import annotations

from pathlib import Path

from ..errors import CrystalWidgetsError

__all__ = ["STATIC_DIR", "bundle_path"]

STATIC_DIR = Path(__file__).with_name("static")


def bundle_path(filename: str) -> Path:
    """The path of a built front-end file, for a widget's ``_esm`` or ``_css``.

    Parameters
    ----------
    filename : str
        File name inside ``crystalwidgets/widgets/static``, e.g. ``"viewer.js"``.

    Returns
    -------
    pathlib.Path
        The existing file.

    Raises
    ------
    CrystalWidgetsError
        When the file is missing: this copy of crystalwidgets was installed without its
        JavaScript build. The message says how to build it.
    """
    path = STATIC_DIR / filename
    if not path.is_file():
        raise CrystalWidgetsError(
            f"the widget bundle {path} is missing: this copy of crystalwidgets was installed "
            "without its JavaScript build. Install a released wheel, or in a source checkout "
            "run `pip install -e .` (needs Node.js >= 18 and npm) or "
            "`npm --prefix js install && npm --prefix js run build`."
        )
    return path
