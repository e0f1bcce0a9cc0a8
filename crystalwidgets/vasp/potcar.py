"""POTCAR checks as pure functions: facts in (:class:`PotcarFacts`), problems out.

The facts are gathered by :mod:`.library` (quacc's settings, the library's folders,
pymatgen's reading of each header); here they are judged. Every problem is a
``(field, message)`` pair: the field is the form field that chose the POTCAR
(``preset``, or ``calc_kwargs['setups']``, ``calc_kwargs['pp']``, ``calc_kwargs['xc']``
when the user set those), and the message names the element, the path looked in,
what was found there and the fix. Tests call these functions with made-up facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "PotcarFacts",
    "PotcarHeader",
    "PotcarSlot",
    "functional_folders",
    "potcar_problems",
    "run_functional_class",
]

Problems = list[tuple[str, str]]

#: Folder names of VASP pseudopotential sets: potpaw_PBE.64, potpaw_LDA.54, potpaw, PBE.64, LDA, potpaw_GGA...
_FUNCTIONAL_FOLDER = re.compile(r"^(potpaw(_[A-Za-z0-9]+)?|PBE|LDA|PW91|GGA)([._-][0-9A-Za-z.]+)?$")


@dataclass(frozen=True)
class PotcarHeader:
    """What pymatgen's ``PotcarSingle`` read from one POTCAR's header.

    Attributes
    ----------
    titel, lexch, vrhfin
        The header's TITEL, LEXCH and VRHFIN (empty when absent).
    element
        The element the header is for (from VRHFIN), or None.
    functional, functional_class
        pymatgen's name of the LEXCH functional (``PBE``) and its class (``GGA``, ``LDA``),
        None when pymatgen does not know that LEXCH.
    unknown
        pymatgen warned that it does not know this POTCAR (hash and statistics match none).
    error
        Why the file could not be read as a POTCAR, or None.
    """

    titel: str = ""
    lexch: str = ""
    vrhfin: str = ""
    element: str | None = None
    functional: str | None = None
    functional_class: str | None = None
    unknown: bool = False
    error: str | None = None


@dataclass(frozen=True)
class PotcarSlot:
    """One POTCAR the run needs: for which element, the setup, where it was looked for.

    Attributes
    ----------
    element
        The chemical symbol of the atoms this POTCAR is for.
    setup
        The POTCAR's folder name (``Fe_pv``): element and setup suffix.
    path
        Where it was looked for.
    header
        What was read there, or None when there is no file.
    siblings
        The POTCAR folders of the same element in that functional folder (``Fe``, ``Fe_sv``).
    """

    element: str
    setup: str
    path: str
    header: PotcarHeader | None = None
    siblings: tuple[str, ...] = ()


@dataclass(frozen=True)
class PotcarFacts:
    """Everything the POTCAR checks judge, for one run (recipe, parameters, structure).

    Attributes
    ----------
    library
        The pseudopotential library (``VASP_PP_PATH``), or None when none is set.
    source
        Where ``library`` was set (quacc's setting, or the environment variable).
    library_exists
        Whether ``library`` is a folder.
    folder
        The functional folder the run takes its POTCARs from (``potpaw_PBE.64``).
    folder_exists
        Whether ``library/folder`` is a folder.
    found_folders
        The functional folders present in the library (``potpaw_PBE.54``, ``PBE.64``...).
    xc, pp, pp_version
        The run's exchange-correlation functional and POTCAR family as quacc resolves them.
    fields
        The form field that chose each of ``setups``, ``pp`` and ``xc`` (``preset`` by default).
    chosen_by
        Human words for where the POTCAR choice comes from (``preset 'DefaultSetGGA'``).
    slots
        One :class:`PotcarSlot` per POTCAR the run needs, in POTCAR order.
    """

    library: str | None
    source: str
    library_exists: bool
    folder: str
    folder_exists: bool
    found_folders: tuple[str, ...]
    xc: str | None
    pp: str
    pp_version: str | None
    fields: Mapping[str, str] = field(default_factory=dict)
    chosen_by: str = "the recipe's defaults"
    slots: tuple[PotcarSlot, ...] = ()

    def field_of(self, what: str) -> str:
        """The form field that chose ``what`` (``setups``, ``pp``, ``xc``)."""
        return self.fields.get(what, "preset")


def functional_folders(names: Iterable[str]) -> tuple[str, ...]:
    """The names among ``names`` that look like VASP functional folders, sorted.

    >>> functional_folders(["potpaw_PBE.64", "README", "PBE.54", "potpaw_LDA", "vdw_kernel.bindat"])
    ('PBE.54', 'potpaw_LDA', 'potpaw_PBE.64')
    """
    return tuple(sorted(n for n in names if _FUNCTIONAL_FOLDER.match(n)))


def run_functional_class(xc: str | None, pp: str) -> str | None:
    """The class of POTCAR a run needs: ``LDA`` for an LDA run, ``GGA`` (PBE POTCARs) for
    every other functional (GGAs, meta-GGAs, hybrids), None when it cannot be told."""
    if xc:
        return "LDA" if xc.lower() == "lda" else "GGA"
    return {"lda": "LDA", "pbe": "GGA"}.get(pp.lower())


def _family(folder: str) -> str | None:
    low = folder.lower()
    if "lda" in low or low == "potpaw":
        return "LDA"
    if "pbe" in low or "gga" in low or "pw91" in low:
        return "GGA"
    return None


def potcar_problems(facts: PotcarFacts) -> tuple[Problems, Problems]:
    """Every POTCAR problem of a run, and the warnings the user should see.

    Returns
    -------
    problems, warnings
        ``(field, message)`` pairs. A problem stops the submit; a warning (pymatgen
        does not know a POTCAR) is shown and lets it go.
    """
    where = f"{facts.library} (from {facts.source})"
    pp_field = facts.field_of("pp")
    elements = ", ".join(dict.fromkeys(s.element for s in facts.slots))
    if facts.library is None:
        return [
            (
                pp_field,
                f"no pseudopotential library is set, so VASP would get no POTCAR for {elements}: "
                f"{facts.source} are all empty; set QUACC_VASP_PP_PATH (or VASP_PP_PATH) to the "
                f"folder that holds {facts.folder}/, here or in the profile's worker_init",
            )
        ], []
    if not facts.library_exists:
        return [
            (
                pp_field,
                f"the pseudopotential library {where} is not a folder, so VASP would get no POTCAR "
                f"for {elements}; set QUACC_VASP_PP_PATH (or VASP_PP_PATH) to the folder that "
                f"holds {facts.folder}/",
            )
        ], []
    if not facts.folder_exists:
        return [(pp_field, _missing_folder(facts, where, elements))], []
    problems: Problems = []
    warnings: Problems = []
    for slot in facts.slots:
        if slot.header is None:
            problems.append((facts.field_of("setups"), _missing_potcar(facts, slot)))
        elif slot.header.error:
            problems.append(
                (
                    facts.field_of("setups"),
                    f"{slot.element}: {slot.path} is not a POTCAR pymatgen can read "
                    f"({slot.header.error}); replace it with {slot.setup}/POTCAR of your VASP "
                    "distribution",
                )
            )
        else:
            problems += _header_problems(facts, slot, slot.header)
            if slot.header.unknown:
                warnings.append(
                    (
                        facts.field_of("setups"),
                        f"{slot.element}: pymatgen does not know the POTCAR {slot.path} "
                        f"(TITEL = {slot.header.titel or '?'}): its hash and statistics match no "
                        "POTCAR pymatgen has on record, so it may be corrupted, edited or from "
                        "another release; check that it is the file your VASP distribution shipped",
                    )
                )
    return problems, warnings


def _a(word: str) -> str:
    return "an" if word[:1] in "AEFHILMNORSX" else "a"


def _missing_folder(facts: PotcarFacts, where: str, elements: str) -> str:
    family = _family(facts.folder)
    same = [f for f in facts.found_folders if _family(f) == family]
    found = ", ".join(facts.found_folders) or "no functional folder at all"
    text = (
        f"POTCARs for {elements}: {where} has no folder {facts.folder}, which {facts.chosen_by} "
        f"asks for (pp={facts.pp!r}, pp_version={facts.pp_version!r}); found: {found}; "
    )
    if same:
        return text + (
            f"install the {facts.folder} POTCARs there, or use a folder that is there with "
            f"calc_kwargs pp={same[-1]!r}"
        )
    return text + f"install the {facts.folder} POTCARs of your VASP distribution there"


def _missing_potcar(facts: PotcarFacts, slot: PotcarSlot) -> str:
    others = [s for s in slot.siblings if s != slot.setup]
    found = f"that folder has {', '.join(others)}" if others else f"that folder has no POTCAR of {slot.element}"
    fix = f"install {slot.setup}/POTCAR there"
    if others:
        # calc_kwargs setups replaces the preset's whole table: name every element's setup
        setups = {s.element: s.setup[len(s.element) :] for s in facts.slots if s.setup.startswith(s.element)}
        setups[slot.element] = others[0][len(slot.element) :]
        fix += f", or pick one that is there with calc_kwargs setups={setups!r}"
    return (
        f"{slot.element}: no POTCAR {slot.path} (setup {slot.setup}, chosen by {facts.chosen_by}); "
        f"{found}; {fix}"
    )


def _header_problems(facts: PotcarFacts, slot: PotcarSlot, header: PotcarHeader) -> Problems:
    problems: Problems = []
    said = f"LEXCH = {header.lexch or '?'}, TITEL = {header.titel or '?'}, VRHFIN = {header.vrhfin or '?'}"
    if header.element and header.element != slot.element:
        problems.append(
            (
                facts.field_of("setups"),
                f"{slot.element}: {slot.path} is a POTCAR of {header.element} ({said}); replace it "
                f"with the POTCAR of {slot.element} ({slot.setup}/POTCAR of your VASP distribution)",
            )
        )
    wanted = run_functional_class(facts.xc, facts.pp)
    got = header.functional_class
    if wanted and got and wanted != got:
        xc = f"this run's xc is {facts.xc!r}" if facts.xc else f"this run asks for pp={facts.pp!r}"
        if wanted == "LDA":
            fix = (
                f"an LDA run needs LDA POTCARs: add pp='lda' to calc_kwargs (pp is {facts.pp!r} "
                f"now, from {facts.chosen_by}), or use another xc"
            )
            field_ = facts.field_of("xc")
        elif "pp" in facts.fields:
            fix = f"a {facts.xc or 'GGA'} run needs PBE POTCARs: drop pp={facts.pp!r} from calc_kwargs"
            field_ = facts.field_of("pp")
        else:
            fix = (
                f"a {facts.xc or 'GGA'} run needs PBE POTCARs, and {facts.folder}/ of the library "
                f"holds {_a(got)} {got} file where a PBE one belongs: replace it with {slot.setup}/POTCAR "
                "of your VASP distribution's PBE set"
            )
            field_ = facts.field_of("xc")
        problems.append(
            (
                field_,
                f"{slot.element}: {slot.path} is {_a(got)} {got} POTCAR ({header.functional}: {said}) "
                f"but {xc} ({wanted}); {fix}",
            )
        )
    elif wanted and header.lexch and got is None:
        problems.append(
            (
                facts.field_of("setups"),
                f"{slot.element}: {slot.path} has LEXCH = {header.lexch}, a functional pymatgen "
                f"does not know ({said}), so it cannot be matched to this run's xc "
                f"{facts.xc!r}; replace it with the {slot.setup} POTCAR of your VASP distribution",
            )
        )
    return problems
