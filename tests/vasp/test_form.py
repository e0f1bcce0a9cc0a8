"""The RecipeForm shows the POTCAR problems of the selected structure inline, on their field."""

from __future__ import annotations

from ase.build import bulk

from crystalwidgets.widgets._form import RecipeForm
from tests.vasp.potcars import write_potcar


def test_without_a_structure_only_the_parameters_are_checked(quacc_env):
    form = RecipeForm("vasp.static_job")
    assert form.valid and form.errors == {} and form.notes == []


def test_a_missing_potcar_is_shown_on_the_preset_field_and_blocks_submit(pp_lib):
    form = RecipeForm("vasp.static_job")
    form.structure = bulk("Al")
    assert not form.valid
    assert form.errors == {
        "preset": f"Al: no POTCAR {pp_lib / 'potpaw_PBE.64/Al/POTCAR'} (setup Al, chosen by preset "
                  "'DefaultSetGGA'); that folder has no POTCAR of Al; install Al/POTCAR there"
    }
    write_potcar(pp_lib / "potpaw_PBE.64/Al/POTCAR", "Al")
    form.entries = {"**calc_kwargs": {"rows": [["encut", "400"]]}}  # any edit checks again
    assert form.valid and form.errors == {}
    assert form.notes and form.notes[0].startswith("preset: Al: pymatgen does not know the POTCAR")


def test_lda_typed_into_calc_kwargs_is_shown_on_that_row(pp_lib):
    form = RecipeForm("vasp.relax_job")
    form.structure = bulk("Si")
    assert form.valid
    form.entries = {"**calc_kwargs": {"rows": [["xc", '"lda"']]}}
    assert not form.valid and list(form.errors) == ["calc_kwargs['xc']"]
    assert "an LDA run needs LDA POTCARs: add pp='lda' to calc_kwargs" in form.errors["calc_kwargs['xc']"]
    form.entries = {"**calc_kwargs": {"rows": [["xc", '"lda"'], ["pp", '"lda"']]}}
    assert form.valid and form.errors == {}


def test_the_app_gives_the_form_its_structure_and_shows_a_refused_submit(manager, pp_lib):
    from crystalwidgets.widgets import App

    app = App(manager, bulk("Al"), recipe="vasp.static_job")
    assert app.form.structure is app.structure
    assert not app.form.valid and "Al: no POTCAR" in app.form.errors["preset"]
    app.add_structure(bulk("Si"))
    assert app.form.valid and app.form.errors == {}


def test_in_a_kernel_the_check_runs_off_the_loop_and_a_stale_one_is_dropped(pp_lib):
    import asyncio

    async def main():
        form = RecipeForm("vasp.static_job")
        form.structure = bulk("Al")
        pending = (form.valid, form.status)  # the loop is free while the check runs
        form.structure = bulk("Si")  # a newer round: the Al answer must not win
        for _ in range(1200):
            await asyncio.sleep(0.05)
            if not form.status:
                break
        await asyncio.sleep(0.3)  # the older thread may finish later still
        return form, pending

    form, pending = asyncio.run(main())
    assert pending == (False, "checking the POTCARs of this structure...")
    assert form.valid and form.errors == {} and form.status == ""
    assert form.notes[0].startswith("preset: Si: pymatgen does not know the POTCAR")


def test_a_potcar_gone_after_the_form_checked_is_refused_at_submit_and_shown(manager, pp_lib):
    import pytest

    from crystalwidgets.errors import RecipeValidationError
    from crystalwidgets.widgets import App

    app = App(manager, bulk("Si"), recipe="vasp.static_job")
    assert app.form.valid
    (pp_lib / "potpaw_PBE.64/Si/POTCAR").unlink()
    with pytest.raises(RecipeValidationError):
        app.submit()
    assert manager.jobs() == []
    assert app.form.status.startswith("not submitted: 1 problem with the parameters of vasp.static_job")
    assert app.form.errors["preset"].startswith("Si: no POTCAR")


def test_an_unknown_incar_tag_is_shown_on_its_row(pp_lib):
    form = RecipeForm("vasp.static_job")
    form.structure = bulk("Si")
    form.entries = {"**calc_kwargs": {"rows": [["encutt", "520"]]}}
    assert not form.valid and list(form.errors) == ["calc_kwargs['encutt']"]
    assert "did you mean encut?" in form.errors["calc_kwargs['encutt']"]


def test_the_form_checks_for_the_profiles_workers(pp_lib, monkeypatch):
    from crystalwidgets.runners.parsl.profiles import ParslSlurmProfile

    monkeypatch.delenv("QUACC_VASP_PP_PATH")  # this kernel has no library...
    form = RecipeForm("vasp.static_job")
    form.structure = bulk("Si")
    assert not form.valid and "no pseudopotential library is set" in form.errors["preset"]
    prof = ParslSlurmProfile(name="hpc", walltime="00:10:00", worker_init=f"export VASP_PP_PATH={pp_lib}")
    form.set_profile(prof)  # ... the profile's workers have one
    assert form.valid and form.errors == {}
    assert "ENCUT = 520.000000" in form.preview["files"]["INCAR"]
