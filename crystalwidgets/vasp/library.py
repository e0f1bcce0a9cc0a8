"""Gather the POTCAR facts of a run (:class:`~.potcar.PotcarFacts`) from quacc, ASE and pymatgen.

Nothing is re-implemented that they do: the library comes from quacc's settings
model (read as a job process reads it: ``QUACC_*`` variables, the quacc YAML file),
the POTCAR choice from quacc's own ``Vasp`` calculator built with the recipe's
preset and the user's ``calc_kwargs`` (its presets, setups files and INCAR copilot),
the per-element setups from ASE's ``get_pp_setup``, each header from pymatgen's
``PotcarSingle``. The only rule written here is ASE's choice of the functional
folder (six lines inside ``_build_pp_list`` that ASE does not expose); a test checks
it gives ASE's own ``ppp_list``.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .potcar import PotcarFacts, PotcarHeader, PotcarSlot, functional_folders

__all__ = ["incar_tags", "pp_library", "read_header", "potcar_facts", "resolve_potcar_choice", "settings_file_value"]

_CACHE: OrderedDict[str, dict[str, Any]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 128
_FIELD_MAX = 80

#: Where the library may be set, for messages when it is set nowhere.
_NOWHERE = (
    "quacc's setting VASP_PP_PATH (QUACC_VASP_PP_PATH, the quacc YAML file) and the "
    "VASP_PP_PATH environment variable"
)


def pp_library(exports: Mapping[str, str] | None = None, where: str = "worker_init") -> tuple[str | None, str]:
    """The pseudopotential library a job will use, and where it was set.

    ``exports``: variables the profile's workers set themselves (``worker_init``, named by
    ``where``); they win, as they do on the workers. Then quacc's settings, read anew as a
    job process reads them (a ``change_settings`` in this kernel does not reach a job
    process); then ``VASP_PP_PATH``, which ASE reads. ``$VARS`` in an export are expanded
    with this kernel's environment (a login node and its compute nodes share a home).
    """
    from quacc.settings import QuaccSettings

    exports = exports or {}
    for var in ("QUACC_VASP_PP_PATH", "VASP_PP_PATH"):
        if exports.get(var):
            if var == "VASP_PP_PATH" and (
                os.environ.get("QUACC_VASP_PP_PATH") or settings_file_value("VASP_PP_PATH")
            ):
                break  # quacc's own setting (its variable copied into the blocks, its file) wins
            return os.path.expanduser(os.path.expandvars(exports[var])), f"{var} in {where}"

    value = QuaccSettings().VASP_PP_PATH
    env = os.environ.get("VASP_PP_PATH")
    if value is not None:
        if os.environ.get("QUACC_VASP_PP_PATH"):
            source = "quacc's setting VASP_PP_PATH, from QUACC_VASP_PP_PATH"
        elif env and Path(env) == Path(value):
            source = "the VASP_PP_PATH environment variable"
        else:
            source = "quacc's setting VASP_PP_PATH, from the quacc YAML file"
        return str(value), source
    if env:
        return env, "the VASP_PP_PATH environment variable"
    return None, _NOWHERE


def settings_file_value(name: str) -> str | None:
    """quacc's setting ``name`` when only its settings file sets it (no ``QUACC_<name>``
    variable), read with quacc's own settings model; None when the file does not set it."""
    from quacc.settings import QuaccSettings

    if os.environ.get(f"QUACC_{name}") is not None:
        return None
    value = getattr(QuaccSettings(), name)
    default = QuaccSettings.model_fields[name].default
    return None if value in (None, "") or value == default else str(value)


def read_header(path: str | os.PathLike) -> PotcarHeader:
    """pymatgen's reading of one POTCAR's header; its unknown-POTCAR warning is kept.

    Cached per path, size and modification time (a sweep reads each file once; an edited
    or replaced file is read again).
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        return PotcarHeader(error=f"{type(exc).__name__}: {exc.strerror}")
    return _read_header(os.fspath(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=512)
def _read_header(path: str, size: int, mtime_ns: int) -> PotcarHeader:
    from pymatgen.io.vasp.inputs import PotcarSingle, UnknownPotcarWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            pot = PotcarSingle.from_file(str(path))
            keywords = pot.keywords
            # file text, untrusted: cut to a line's length before it goes into messages
            titel, lexch, vrhfin = (str(keywords.get(k, ""))[:_FIELD_MAX] for k in ("TITEL", "LEXCH", "VRHFIN"))
            try:
                element: str | None = pot.element
            except Exception:  # a VRHFIN pymatgen cannot turn into an element
                element = None
            functional = pot.functional if lexch else None
            functional_class = pot.functional_class if lexch else None
        except Exception as exc:  # not a POTCAR: pymatgen's own words
            return PotcarHeader(error=f"{type(exc).__name__}: {str(exc)[:_FIELD_MAX]}")
    if not titel:
        return PotcarHeader(error="its header has no TITEL (no 'parameters from PSCTR are:' block)")
    unknown = any(issubclass(w.category, UnknownPotcarWarning) for w in caught)
    return PotcarHeader(titel, lexch, vrhfin, element, functional, functional_class, unknown)


class _Quiet:
    """quacc's INFO logs (its INCAR copilot's report) stay out of the kernel's output.

    One at a time (a form's thread and the kernel may both build a calculator), so the
    logger's level is always put back. quacc's own setting of ``os.environ['VASP_PP_PATH']``
    when it builds a ``Vasp`` is left as quacc does it: undoing it could break a VASP run of
    this very process (``parsl-threads``) that quacc set it for.
    """

    _lock = threading.RLock()

    def __enter__(self) -> None:
        self._lock.acquire()
        self._logger = logging.getLogger("quacc")
        self._level = self._logger.level
        self._logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: Any) -> None:
        try:
            self._logger.setLevel(self._level)
        finally:
            self._lock.release()


def resolve_potcar_choice(atoms: Any, preset: str | None, calc_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """xc, pp, pp_version, setups and the INCAR's tags as quacc's ``Vasp`` calculator resolves them.

    Cached per symbols, preset and parameters (a form asks on every edit); a copy is returned.

    Raises
    ------
    Exception
        Whatever quacc or ASE raise for these parameters (their own message).
    """
    try:
        key = json.dumps([atoms.get_chemical_symbols(), preset, dict(calc_kwargs)], sort_keys=True)
    except (TypeError, ValueError):  # values JSON cannot carry: not cached
        return _resolve(atoms, preset, calc_kwargs)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return copy.deepcopy(_CACHE[key])
    choice = _resolve(atoms, preset, calc_kwargs)
    with _CACHE_LOCK:
        _CACHE[key] = choice
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return copy.deepcopy(choice)


def _resolve(atoms: Any, preset: str | None, calc_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    from ase.config import cfg
    from quacc.calculators.vasp import Vasp

    with _Quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calc = Vasp(atoms.copy(), preset=preset, **dict(calc_kwargs))
        calc.check_xc()  # ASE's guess of pp when only gga is given
    p = calc.input_params
    version = p.get("pp_version") or cfg.get("VASP_PP_VERSION") or None
    return {
        "xc": p.get("xc"),
        "pp": str(p["pp"]),
        "pp_version": version,
        "setups": p.get("setups"),
        "incar_tags": sorted(incar_tags(calc)),
    }


def incar_tags(calc: Any) -> set[str]:
    """The tags ASE's ``write_incar`` writes from a calculator's parameter tables (upper case)."""
    tables = (
        calc.float_params, calc.exp_params, calc.string_params, calc.int_params, calc.bool_params,
        calc.list_bool_params, calc.list_int_params, calc.list_float_params, calc.special_params,
        calc.input_params.get("custom") or {},
    )
    return {key.upper() for table in tables for key, value in table.items() if value is not None}


def _folder(pp: str, pp_version: str | None) -> str:
    # ASE's rule (ase.calculators.vasp.create_input.GenerateVaspInput._build_pp_list)
    aliases = {
        "lda": f"potpaw_LDA.{pp_version}" if pp_version else "potpaw",
        "pbe": f"potpaw_PBE.{pp_version}" if pp_version else "potpaw_PBE",
    }
    return aliases.get(pp.lower(), pp)


def _siblings(folder: Path, element: str) -> tuple[str, ...]:
    try:
        names = os.listdir(folder)
    except OSError:
        return ()
    mine = re.compile(rf"^{re.escape(element)}(?![a-z])")
    return tuple(sorted(n for n in names if mine.match(n) and (folder / n / "POTCAR").is_file()))


def potcar_facts(
    atoms: Any,
    preset: str | None,
    calc_kwargs: Mapping[str, Any],
    *,
    fields: Mapping[str, str] | None = None,
    chosen_by: str = "the recipe's defaults",
    choice: Mapping[str, Any] | None = None,
    exports: Mapping[str, str] | None = None,
    where: str = "worker_init",
) -> PotcarFacts:
    """The facts :func:`~.potcar.potcar_problems` judges, for ``atoms`` with these parameters.

    Parameters
    ----------
    atoms
        The structure (ASE Atoms).
    preset, calc_kwargs
        As given to the VASP recipe.
    fields
        The form field that chose ``setups``, ``pp`` and ``xc`` (default ``preset``).
    chosen_by
        Words for where the choice comes from, for messages.
    choice
        :func:`resolve_potcar_choice` of these parameters, when the caller has it.
    exports, where
        Variables the profile's workers export, and where (see :func:`pp_library`).
    """
    from ase.calculators.vasp.create_input import count_symbols, get_pp_setup

    if choice is None:
        choice = resolve_potcar_choice(atoms, preset, calc_kwargs)
    library, source = pp_library(exports, where)
    folder = _folder(choice["pp"], choice["pp_version"])
    lib = Path(library) if library else None
    library_exists = bool(lib and lib.is_dir())
    base = lib / folder if lib else Path(folder)
    folder_exists = bool(library_exists and base.is_dir())
    found = functional_folders(os.listdir(lib)) if library_exists and lib else ()
    setups, special = get_pp_setup(choice["setups"])
    wanted: list[tuple[str, str]] = []
    for index in special:
        key = index if index in setups else str(index)
        wanted.append((atoms[index].symbol, setups[key]))
    symbols, _ = count_symbols(atoms, exclude=special)
    for symbol in symbols:
        suffix = setups.get(symbol, "")
        wanted.append((symbol, symbol + suffix if isinstance(suffix, str) else symbol))
    slots = []
    for element, setup in wanted:
        path = base / setup / "POTCAR"
        if not path.is_file() and Path(f"{path}.Z").is_file():
            path = Path(f"{path}.Z")
        header = read_header(path) if folder_exists and path.is_file() else None
        siblings = _siblings(base, element) if folder_exists else ()
        slots.append(PotcarSlot(element, setup, str(path), header, siblings))
    return PotcarFacts(
        library=library,
        source=source,
        library_exists=library_exists,
        folder=folder,
        folder_exists=folder_exists,
        found_folders=found,
        xc=choice["xc"],
        pp=choice["pp"],
        pp_version=choice["pp_version"],
        fields=dict(fields or {}),
        chosen_by=chosen_by,
        slots=tuple(slots),
    )
