"""The program a recipe runs, as quacc's settings name it, and whether this machine has it.

"Available" alone means "imports": ``vasp.static_job`` imports everywhere, yet runs only
where ``vasp_std`` does. quacc reads each code's command from its settings
(``QUACC_VASP_CMD``, ``QUACC_ORCA_CMD``, ...; environment, then ``~/.quacc.yaml``), so that
is what is looked up here, on this machine's ``PATH``. A program missing here may still be
installed on a cluster: the manager refuses such a recipe only on profiles that run on
this machine (:attr:`~crystalwidgets.profiles.Profile.runs_here`).

Pure functions: ``settings`` is quacc's settings object or any object with the same
attributes, so tests pass their own; by default :func:`job_settings`, what a new job
process reads (the kernel's own ``quacc.get_settings()`` is fixed at its first use and
``change_settings`` in the kernel never reaches a job).
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Program", "job_settings", "program_of", "missing_program"]

#: code -> the quacc setting holding the command its recipes run (the program is its first word).
_COMMANDS = {
    "vasp": "VASP_CMD",
    "orca": "ORCA_CMD",
    "gaussian": "GAUSSIAN_CMD",
    "gulp": "GULP_CMD",
    "onetep": "ONETEP_CMD",
    "qchem": "QCHEM_CMD",
    "mrcc": "MRCC_CMD",
    "aims": "AIMS_BIN",
}


def job_settings() -> Any:
    """quacc's settings as a job process started now reads them (environment, then its YAML file); ~3 ms."""
    from quacc.settings import QuaccSettings

    return QuaccSettings()


@dataclass(frozen=True)
class Program:
    """The program a recipe runs: ``command`` as quacc would run it, ``setting`` where it comes from."""

    command: str
    setting: str

    @property
    def executable(self) -> str:
        """The command's first word (the program itself, without its arguments)."""
        try:
            words = shlex.split(self.command)
        except ValueError:
            words = self.command.split()
        return words[0] if words else ""

    def found(self) -> str | None:
        """Where the program is on this machine (a path), or None."""
        exe = self.executable
        if not exe:
            return None
        if os.sep in exe:
            return exe if os.path.isfile(exe) and os.access(exe, os.X_OK) else None
        return shutil.which(exe)


def program_of(recipe: str, settings: Any = None, code: str | None = None) -> Program | None:
    """The program recipe ``recipe`` (``"vasp.static_job"``) runs, or None for Python-only codes.

    Parameters
    ----------
    recipe
        The recipe's short name; its code is the part before the first dot.
    settings
        quacc's settings (default: :func:`job_settings`).
    code
        The recipe's code when known (``RecipeInfo.code``; ``custom`` for a user's function).
    """
    code = code or recipe.split(".", 1)[0]
    if code not in _COMMANDS and code not in ("espresso", "dftb"):
        return None
    if code == "dftb":  # ASE's Dftb calculator: its own variable, no quacc setting
        return Program(os.environ.get("ASE_DFTB_COMMAND", "dftb+"), "ASE_DFTB_COMMAND")
    if settings is None:
        settings = job_settings()
    if code == "espresso":  # every espresso recipe starts with pw.x
        binary = (getattr(settings, "ESPRESSO_BINARIES", None) or {}).get("pw", "pw.x")
        folder = Path(getattr(settings, "ESPRESSO_BIN_DIR", ".") or ".")
        command = binary if str(folder) == "." else str(folder / binary)
        return Program(command, "QUACC_ESPRESSO_BIN_DIR / QUACC_ESPRESSO_BINARIES")
    setting = _COMMANDS[code]
    return Program(str(getattr(settings, setting, "") or ""), f"QUACC_{setting}")


def missing_program(recipe: str, settings: Any = None, code: str | None = None) -> str | None:
    """Why ``recipe`` cannot run on this machine for want of its program; None when it can.

    Examples
    --------
    >>> missing_program("emt.relax_job") is None
    True
    >>> missing_program("vasp.static_job")  # doctest: +SKIP
    'needs vasp_std (QUACC_VASP_CMD), which is not on this machine's PATH: ...'
    """
    program = program_of(recipe, settings, code)
    if program is None or program.found():
        return None
    if not program.executable:
        return f"needs a program, but {program.setting} is empty: set it to the command that runs it"
    if program.setting.startswith("QUACC_ESPRESSO"):
        fix = "set QUACC_ESPRESSO_BIN_DIR to the folder holding it"
    else:
        fix = f"set {program.setting} to its command"
    return (
        f"needs {program.executable} ({program.setting}), which is not on this machine's PATH: "
        f"run it on a cluster profile where it is installed, or install it here and {fix}"
    )
