"""The input preview: the files quacc itself writes for a VASP recipe, in the form too."""

from __future__ import annotations

from ase.build import bulk

from crystalwidgets.recipes import recipes
from crystalwidgets.vasp.preview import preview_inputs
from crystalwidgets.widgets._form import RecipeForm


def incar(text: str) -> dict[str, str]:
    return dict((k.strip(), v.strip()) for k, v in (line.split("=", 1) for line in text.splitlines() if "=" in line))


def test_the_recipes_defaults_the_preset_and_the_users_values_are_in_the_incar(pp_lib, monkeypatch):
    monkeypatch.setenv("QUACC_VASP_PARALLEL_CMD", "srun -n 64")  # never started for a preview
    p = preview_inputs(recipes.resolve("vasp.static_job"), bulk("Si"), {"encut": 400, "ismear": -5})
    assert p["error"] == ""
    tags = incar(p["files"]["INCAR"])
    assert tags["ENCUT"] == "400.000000"  # the user's
    assert tags["ISMEAR"] == "-5"  # the user's, over the recipe's default
    assert tags["NEDOS"] == "3001" and tags["LWAVE"] == ".TRUE."  # static_job's own defaults
    assert tags["GGA"] == "PE" and tags["EFERMI"] == "midgap"  # the preset's (copilot: GGA)
    assert p["files"]["KPOINTS"].startswith("KPOINTS created by Atomic Simulation Environment")
    assert "Si" in p["files"]["POSCAR"]
    assert p["potcars"] == [{"symbol": "Si", "titel": "PAW_PBE Si 05Jan2001", "lexch": "PE", "functional": "PBE"}]
    assert p["unknown_tags"] == ["EFERMI"]  # VASP 6.4's, newer than pymatgen's list: said, not refused
    relax = preview_inputs(recipes.resolve("vasp.relax_job"), bulk("Si"), {"relax_cell": True})
    assert incar(relax["files"]["INCAR"])["ISIF"] == "3"


def test_no_preview_for_recipes_without_one(pp_lib):
    p = preview_inputs(recipes.resolve("vasp.double_relax_flow"), bulk("Si"), {})
    assert p["files"] == {} and "has no input preview" in p["error"]


def test_the_form_shows_the_preview_and_follows_the_edits(pp_lib):
    form = RecipeForm("vasp.static_job")
    assert form.preview == {}
    form.structure = bulk("Si")
    assert "ENCUT = 520.000000" in form.preview["files"]["INCAR"]
    form.entries = {"**calc_kwargs": {"rows": [["encut", "450"]]}}
    assert "ENCUT = 450.000000" in form.preview["files"]["INCAR"]
    form.structure = bulk("Al")  # no Al POTCAR in the library: problems, no preview
    assert not form.valid and form.preview["files"] == {}
    assert form.preview["error"] == "the input preview comes once the problems above are fixed"
    form.recipe = "emt.static_job"
    assert form.preview == {}
