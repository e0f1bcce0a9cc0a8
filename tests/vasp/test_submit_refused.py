"""A VASP job with POTCAR problems is refused by the manager before anything is written."""

from __future__ import annotations

import os
import warnings

import pytest
from ase.build import bulk

from crystalwidgets.errors import CrystalWidgetsError, PotcarWarning, RecipeValidationError
from tests.vasp.potcars import write_potcar


def snapshot(root) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, root)] = fh.read()
    return out


def refused(manager, cw_home, *args, **kwargs) -> RecipeValidationError:
    before = snapshot(cw_home)
    with pytest.raises(RecipeValidationError) as info:
        manager.submit(*args, **kwargs)
    assert manager.jobs() == []
    assert snapshot(cw_home) == before  # rows and file bytes unchanged
    assert os.listdir(manager.results_dir) == []
    return info.value


def test_a_missing_potcar_is_refused_with_the_field_and_the_fix(manager, cw_home, pp_lib):
    exc = refused(manager, cw_home, bulk("Al"), "vasp.static_job")
    path = pp_lib / "potpaw_PBE.64" / "Al" / "POTCAR"
    assert exc.problems == [
        ("preset", f"Al: no POTCAR {path} (setup Al, chosen by preset 'DefaultSetGGA'); that folder has no "
                   "POTCAR of Al; install Al/POTCAR there")
    ]
    assert str(exc).startswith("1 problem with the parameters of vasp.static_job:\n  - preset: Al: no POTCAR")


def test_lda_in_a_pbe_preset_is_refused_on_the_xc_field(manager, cw_home, pp_lib):
    exc = refused(manager, cw_home, bulk("Si"), "vasp.relax_job", xc="lda")
    (field, message), = exc.problems
    assert field == "calc_kwargs['xc']" and "is a GGA POTCAR (PBE: LEXCH = PE" in message


def test_lda_files_where_pbe_belong_are_refused(manager, cw_home, pp_lib):
    write_potcar(pp_lib / "potpaw_PBE.64" / "Si" / "POTCAR", "Si", lexch="CA")
    exc = refused(manager, cw_home, bulk("Si"), "vasp.static_job")
    assert "is an LDA POTCAR" in exc.problems[0][1]


def test_a_sweep_with_one_bad_structure_records_nothing(manager, cw_home, pp_lib):
    before = snapshot(cw_home)
    with pytest.raises(Exception, match=r"^job 2 of 2: 1 problem with the parameters of vasp.static_job"):
        manager.submit_many([bulk("Si"), bulk("Al")], "vasp.static_job")
    assert manager.jobs() == [] and snapshot(cw_home) == before


def test_an_unknown_potcar_is_a_warning_and_the_job_is_recorded(manager, pp_lib, monkeypatch):
    # the stand-in is the program (quacc_env): whatever the job then does, it is recorded
    with pytest.warns(PotcarWarning, match=r"^preset: Si: pymatgen does not know the POTCAR "):
        rec = manager.submit(bulk("Si"), "vasp.static_job")
    assert manager.get(rec.id).recipe == "vasp.static_job"


def test_other_recipes_are_not_looked_at(manager, quacc_env):
    with warnings.catch_warnings():
        warnings.simplefilter("error", PotcarWarning)
        rec = manager.submit(bulk("Cu"), "emt.static_job")
    assert rec.recipe == "emt.static_job"


def test_an_unknown_incar_tag_is_refused(manager, cw_home, pp_lib):
    exc = refused(manager, cw_home, bulk("Si"), "vasp.static_job", encutt=520)
    assert exc.problems == [
        (
            "calc_kwargs['encutt']",
            "ENCUTT is not an INCAR tag VASP knows (pymatgen's list of INCAR tags has no ENCUTT); ASE would "
            "write it into the INCAR and VASP would ignore it without a word: did you mean encut? Fix the "
            "name, or remove it",
        )
    ]


def test_a_missing_vasp_is_told_after_the_potcars_and_only_for_this_machine(manager, pp_lib, monkeypatch, cw_home):
    """POTCAR problems (to fix wherever it runs) come first; then a vasp_std missing here refuses
    a local submit, naming QUACC_VASP_CMD, with nothing recorded."""
    monkeypatch.setenv("QUACC_VASP_CMD", "no-vasp-here")
    before = snapshot(cw_home)
    with pytest.raises(CrystalWidgetsError, match=r"no POTCAR"):
        manager.submit(bulk("Al"), "vasp.static_job")
    with pytest.raises(CrystalWidgetsError, match=r"needs no-vasp-here \(QUACC_VASP_CMD\), which is not on this machine's PATH"):
        manager.submit(bulk("Si"), "vasp.static_job")
    assert manager.jobs() == [] and snapshot(cw_home) == before
