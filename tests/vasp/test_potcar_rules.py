"""The POTCAR checks as pure functions, on made-up facts (no file, no quacc)."""

from __future__ import annotations

import pytest

from crystalwidgets.vasp.potcar import (
    PotcarFacts,
    PotcarHeader,
    PotcarSlot,
    functional_folders,
    potcar_problems,
    run_functional_class,
)

PBE = PotcarHeader("PAW_PBE Si 05Jan2001", "PE", "Si: s2p2", "Si", "PBE", "GGA")
LDA = PotcarHeader("PAW Si 05Jan2001", "CA", "Si: s2p2", "Si", "Perdew-Zunger81", "LDA")


def facts(**kw) -> PotcarFacts:
    base = dict(
        library="/lib",
        source="QUACC_VASP_PP_PATH",
        library_exists=True,
        folder="potpaw_PBE.64",
        folder_exists=True,
        found_folders=("potpaw_LDA.64", "potpaw_PBE.64"),
        xc="pbe",
        pp="pbe",
        pp_version="64",
        chosen_by="preset 'DefaultSetGGA'",
        slots=(PotcarSlot("Si", "Si", "/lib/potpaw_PBE.64/Si/POTCAR", PBE, ("Si",)),),
    )
    base.update(kw)
    return PotcarFacts(**base)


def test_a_matching_library_has_no_problem_and_no_warning():
    assert potcar_problems(facts()) == ([], [])


def test_no_library_names_the_elements_the_settings_and_the_folder_to_point_at():
    problems, warnings = potcar_problems(facts(library=None, library_exists=False, source="quacc's setting X"))
    assert warnings == []
    assert problems == [
        (
            "preset",
            "no pseudopotential library is set, so VASP would get no POTCAR for Si: quacc's setting X "
            "are all empty; set QUACC_VASP_PP_PATH (or VASP_PP_PATH) to the folder that holds potpaw_PBE.64/, "
            "here or in the profile's worker_init",
        )
    ]


def test_a_library_that_is_not_a_folder():
    (field, message), = potcar_problems(facts(library_exists=False, folder_exists=False))[0]
    assert field == "preset"
    assert message.startswith("the pseudopotential library /lib (from QUACC_VASP_PP_PATH) is not a folder")


def test_a_missing_functional_folder_lists_what_is_there_and_suggests_one_of_the_same_family():
    f = facts(folder_exists=False, found_folders=("PBE.54", "potpaw_LDA.64"), slots=(
        PotcarSlot("Si", "Si", "/lib/potpaw_PBE.64/Si/POTCAR"), PotcarSlot("O", "O", "/lib/potpaw_PBE.64/O/POTCAR")))
    (field, message), = potcar_problems(f)[0]
    assert field == "preset"
    assert message == (
        "POTCARs for Si, O: /lib (from QUACC_VASP_PP_PATH) has no folder potpaw_PBE.64, which preset "
        "'DefaultSetGGA' asks for (pp='pbe', pp_version='64'); found: PBE.54, potpaw_LDA.64; install "
        "the potpaw_PBE.64 POTCARs there, or use a folder that is there with calc_kwargs pp='PBE.54'"
    )
    (_, message), = potcar_problems(facts(folder_exists=False, found_folders=()))[0]
    assert "found: no functional folder at all; install the potpaw_PBE.64 POTCARs" in message


def test_a_missing_potcar_names_element_path_siblings_and_a_setups_fix():
    slot = PotcarSlot("Fe", "Fe_pv", "/lib/potpaw_PBE.64/Fe_pv/POTCAR", None, ("Fe", "Fe_sv"))
    f = facts(slots=(slot,), fields={"setups": "calc_kwargs['setups']"})
    (field, message), = potcar_problems(f)[0]
    assert field == "calc_kwargs['setups']"
    assert message == (
        "Fe: no POTCAR /lib/potpaw_PBE.64/Fe_pv/POTCAR (setup Fe_pv, chosen by preset 'DefaultSetGGA'); "
        "that folder has Fe, Fe_sv; install Fe_pv/POTCAR there, or pick one that is there with "
        "calc_kwargs setups={'Fe': ''}"
    )
    lonely = facts(slots=(PotcarSlot("Fe", "Fe", "/lib/potpaw_PBE.64/Fe/POTCAR"),))
    assert "that folder has no POTCAR of Fe; install Fe/POTCAR there" in potcar_problems(lonely)[0][0][1]


def test_lda_potcars_in_a_pbe_run_are_refused():
    f = facts(slots=(PotcarSlot("Si", "Si", "/lib/potpaw_PBE.64/Si/POTCAR", LDA),))
    (field, message), = potcar_problems(f)[0]
    assert field == "preset"
    assert message.startswith(
        "Si: /lib/potpaw_PBE.64/Si/POTCAR is an LDA POTCAR (Perdew-Zunger81: LEXCH = CA, TITEL = PAW Si "
        "05Jan2001, VRHFIN = Si: s2p2) but this run's xc is 'pbe' (GGA); a pbe run needs PBE POTCARs"
    )
    chosen = facts(pp="lda", folder="potpaw_LDA.64", fields={"pp": "calc_kwargs['pp']"},
                   slots=(PotcarSlot("Si", "Si", "/lib/potpaw_LDA.64/Si/POTCAR", LDA),))
    (field, message), = potcar_problems(chosen)[0]
    assert field == "calc_kwargs['pp']" and message.endswith("drop pp='lda' from calc_kwargs")


def test_pbe_potcars_in_an_lda_run_are_refused_on_the_xc_field():
    f = facts(xc="lda", fields={"xc": "calc_kwargs['xc']"})
    (field, message), = potcar_problems(f)[0]
    assert field == "calc_kwargs['xc']"
    assert "is a GGA POTCAR (PBE: LEXCH = PE" in message
    assert message.endswith("an LDA run needs LDA POTCARs: add pp='lda' to calc_kwargs (pp is 'pbe' now, "
                            "from preset 'DefaultSetGGA'), or use another xc")
    assert potcar_problems(facts(xc="lda", pp="lda", slots=(PotcarSlot("Si", "Si", "/p", LDA),))) == ([], [])


def test_a_potcar_of_another_element_and_an_unknown_lexch():
    wrong = PotcarHeader("PAW_PBE O 08Apr2002", "PE", "O: s2p4", "O", "PBE", "GGA")
    (_, message), = potcar_problems(facts(slots=(PotcarSlot("Si", "Si", "/p/Si/POTCAR", wrong),)))[0]
    assert message.startswith("Si: /p/Si/POTCAR is a POTCAR of O (LEXCH = PE")
    odd = PotcarHeader("PAW_XX Si", "XX", "Si: s2p2", "Si", None, None)
    (_, message), = potcar_problems(facts(slots=(PotcarSlot("Si", "Si", "/p/Si/POTCAR", odd),)))[0]
    assert "has LEXCH = XX, a functional pymatgen does not know" in message


def test_unreadable_potcar_is_a_problem_and_an_unknown_one_a_warning():
    bad = PotcarHeader(error="KeyError: 'TITEL'")
    (_, message), = potcar_problems(facts(slots=(PotcarSlot("Si", "Si", "/p/Si/POTCAR", bad),)))[0]
    assert message == ("Si: /p/Si/POTCAR is not a POTCAR pymatgen can read (KeyError: 'TITEL'); replace it "
                       "with Si/POTCAR of your VASP distribution")
    unknown = PotcarHeader(**{**PBE.__dict__, "unknown": True})
    problems, warnings = potcar_problems(facts(slots=(PotcarSlot("Si", "Si", "/p/Si/POTCAR", unknown),)))
    assert problems == []
    assert warnings == [("preset", "Si: pymatgen does not know the POTCAR /p/Si/POTCAR (TITEL = PAW_PBE Si "
                         "05Jan2001): its hash and statistics match no POTCAR pymatgen has on record, so it "
                         "may be corrupted, edited or from another release; check that it is the file your "
                         "VASP distribution shipped")]


@pytest.mark.parametrize("xc, pp, wanted", [("pbe", "pbe", "GGA"), ("LDA", "pbe", "LDA"), ("r2scan", "pbe", "GGA"),
                                            (None, "lda", "LDA"), (None, "PBE", "GGA"), (None, "PBE.64", None)])
def test_run_functional_class(xc, pp, wanted):
    assert run_functional_class(xc, pp) == wanted


def test_functional_folders():
    names = ["potpaw_PBE.64", "README", "PBE.54", "potpaw_LDA", "vdw_kernel.bindat", "potpaw", "potpaw_GGA", "x.tgz"]
    assert functional_folders(names) == ("PBE.54", "potpaw", "potpaw_GGA", "potpaw_LDA", "potpaw_PBE.64")


def test_a_setups_fix_names_every_elements_setup_as_calc_kwargs_setups_replaces_the_presets():
    slots = (
        PotcarSlot("Fe", "Fe_pv", "/lib/potpaw_PBE.64/Fe_pv/POTCAR", PotcarHeader(**{**PBE.__dict__, "element": "Fe"})),
        PotcarSlot("O", "O_h", "/lib/potpaw_PBE.64/O_h/POTCAR", None, ("O", "O_s")),
    )
    (_, message), = potcar_problems(facts(slots=slots))[0]
    assert message.endswith("calc_kwargs setups={'Fe': '_pv', 'O': ''}")
    assert message.startswith("O: no POTCAR /lib/potpaw_PBE.64/O_h/POTCAR (setup O_h,")
