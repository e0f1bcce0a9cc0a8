"""The user's INCAR tags VASP does not know: a pure rule, then through quacc's calculator."""

from __future__ import annotations

from ase.build import bulk

from crystalwidgets.recipes import recipes
from crystalwidgets.vasp import vasp_problems
from crystalwidgets.vasp.incar import known_incar_tags, unknown_incar_tags

KNOWN = {"ENCUT", "ISMEAR", "SIGMA", "LREAL"}


def test_a_misspelt_tag_is_named_with_the_closest_one():
    assert unknown_incar_tags(["encutt", "ismear"], {"ENCUTT", "ISMEAR"}, KNOWN) == [
        (
            "calc_kwargs['encutt']",
            "ENCUTT is not an INCAR tag VASP knows (pymatgen's list of INCAR tags has no ENCUTT); ASE would "
            "write it into the INCAR and VASP would ignore it without a word: did you mean encut? Fix the "
            "name, or remove it",
        )
    ]


def test_keys_that_are_not_written_as_tags_and_far_names():
    assert unknown_incar_tags(["kpts", "setups"], {"ENCUT"}, KNOWN) == []  # not INCAR tags at all
    (_, message), = unknown_incar_tags(["zzzz"], {"ZZZZ"}, KNOWN)
    assert message.endswith("without a word: fix the name, or remove it")


def test_pymatgens_list_is_the_reference():
    known = known_incar_tags()
    assert {"ENCUT", "ISMEAR", "KSPACING", "LDAU"} <= known and "ENCUTT" not in known


def test_through_quacc_only_the_users_unknown_tags_are_refused(pp_lib):
    info = recipes.resolve("vasp.static_job")
    problems, _ = vasp_problems(info, bulk("Si"), {"encutt": 500, "kpts": [2, 2, 2], "lreal": "auto"})
    assert [f for f, _ in problems] == ["calc_kwargs['encutt']"]
    assert "did you mean encut?" in problems[0][1]
    # the preset's EFERMI (VASP 6.4, newer than pymatgen's list) is not the user's: not judged
    assert vasp_problems(info, bulk("Si"), {})[0] == []
