"""The POTCAR facts as quacc, ASE and pymatgen give them, on synthetic POTCAR trees."""

from __future__ import annotations

import os

import pytest
from ase.build import bulk

from crystalwidgets.recipes import recipes
from crystalwidgets.vasp import vasp_problems
from crystalwidgets.vasp.library import pp_library, potcar_facts, read_header
from tests.vasp.potcars import write_potcar


def si():
    return bulk("Si")


def fe_o():
    atoms = bulk("Fe") * (3, 1, 1)
    atoms[2].symbol = "O"
    return atoms


def test_library_from_quacc_env_var_yaml_file_and_plain_vasp_pp_path(tmp_path, monkeypatch, quacc_env):
    assert pp_library()[0] is None
    monkeypatch.setenv("VASP_PP_PATH", str(tmp_path / "a"))
    assert pp_library() == (str(tmp_path / "a"), "the VASP_PP_PATH environment variable")
    quacc_env.write_text(f"VASP_PP_PATH: {tmp_path / 'b'}\n")
    assert pp_library() == (str(tmp_path / "b"), "quacc's setting VASP_PP_PATH, from the quacc YAML file")
    monkeypatch.setenv("QUACC_VASP_PP_PATH", str(tmp_path / "c"))
    assert pp_library() == (str(tmp_path / "c"), "quacc's setting VASP_PP_PATH, from QUACC_VASP_PP_PATH")


def test_headers_are_pymatgens_reading_with_its_unknown_potcar_warning(tmp_path):
    header = read_header(write_potcar(tmp_path / "Si" / "POTCAR", "Si", lexch="CA"))
    assert (header.titel, header.lexch, header.vrhfin) == ("PAW Si 05Jan2001", "CA", "Si: s2p2")
    assert (header.element, header.functional, header.functional_class) == ("Si", "Perdew-Zunger81", "LDA")
    assert header.unknown and header.error is None  # made-up numbers: pymatgen knows no such POTCAR
    (tmp_path / "bad").write_text("<3\n")
    assert read_header(tmp_path / "bad").error == "KeyError: 'TITEL'"


def test_paths_are_the_ones_ase_writes_into_the_potcar(pp_lib, monkeypatch):
    """Our folder rule and setups give ASE's own ppp_list, with a setups override and a special index."""
    from quacc import change_settings
    from quacc.calculators.vasp import Vasp

    atoms = fe_o()
    kwargs = {"setups": {"Fe": "_pv", "0": "Fe"}}
    facts = potcar_facts(atoms, "DefaultSetGGA", kwargs)
    monkeypatch.setenv("VASP_PP_PATH", str(pp_lib))
    with change_settings({"VASP_PP_PATH": pp_lib}):  # this thread's settings may be an older test's
        calc = Vasp(atoms.copy(), preset="DefaultSetGGA", **kwargs)
        calc.initialize(atoms)
    assert [s.path for s in facts.slots] == [str(p) for p in calc.ppp_list]
    assert [s.setup for s in facts.slots] == ["Fe", "Fe_pv", "O"]
    assert facts.folder == "potpaw_PBE.64" and facts.found_folders == ("potpaw_LDA.64", "potpaw_PBE.64")


def test_default_preset_finds_the_pbe_potcars_and_warns_they_are_unknown(pp_lib):
    problems, warnings = vasp_problems(recipes.resolve("vasp.static_job"), si(), {})
    assert problems == []
    assert [f for f, _ in warnings] == ["preset"]
    assert warnings[0][1].startswith(f"Si: pymatgen does not know the POTCAR {pp_lib / 'potpaw_PBE.64/Si/POTCAR'}")


def test_missing_potcar_of_a_setup(pp_lib):
    atoms = bulk("Al")
    problems, _ = vasp_problems(recipes.resolve("vasp.relax_job"), atoms, {})
    assert problems == [
        ("preset", f"Al: no POTCAR {pp_lib / 'potpaw_PBE.64/Al/POTCAR'} (setup Al, chosen by preset "
                   "'DefaultSetGGA'); that folder has no POTCAR of Al; install Al/POTCAR there")
    ]
    write_potcar(pp_lib / "potpaw_PBE.64/Al_GW/POTCAR", "Al")  # installed meanwhile: seen at once
    problems, _ = vasp_problems(recipes.resolve("vasp.relax_job"), atoms, {})
    assert problems[0][1].endswith("calc_kwargs setups={'Al': '_GW'}")
    problems, _ = vasp_problems(recipes.resolve("vasp.relax_job"), atoms, {"setups": {"Al": "_GW"}})
    assert problems == []


def test_a_setups_override_that_is_missing_is_on_the_setups_field(pp_lib):
    problems, _ = vasp_problems(recipes.resolve("vasp.static_job"), si(), {"setups": {"Si": "_sv_GW"}})
    (field, message), = problems
    assert field == "calc_kwargs['setups']"
    assert message.startswith(f"Si: no POTCAR {pp_lib / 'potpaw_PBE.64/Si_sv_GW/POTCAR'} (setup Si_sv_GW, chosen "
                              "by preset 'DefaultSetGGA' with setups={'Si': '_sv_GW'}); that folder has Si;")


def test_xc_lda_with_the_gga_preset_takes_pbe_potcars_and_is_refused(pp_lib):
    info = recipes.resolve("vasp.static_job")
    (field, message), = vasp_problems(info, si(), {"xc": "lda"})[0]
    assert field == "calc_kwargs['xc']"
    assert message.startswith(f"Si: {pp_lib / 'potpaw_PBE.64/Si/POTCAR'} is a GGA POTCAR (PBE: LEXCH = PE")
    assert "this run's xc is 'lda' (LDA); an LDA run needs LDA POTCARs: add pp='lda' to calc_kwargs" in message
    assert vasp_problems(info, si(), {"xc": "lda", "pp": "lda"})[0] == []


def test_lda_files_in_the_pbe_folder_are_refused(pp_lib):
    write_potcar(pp_lib / "potpaw_PBE.64/Si/POTCAR", "Si", lexch="CA")
    (field, message), = vasp_problems(recipes.resolve("vasp.static_job"), si(), {})[0]
    assert field == "preset"
    assert "is an LDA POTCAR (Perdew-Zunger81: LEXCH = CA" in message and "this run's xc is 'pbe' (GGA)" in message


def test_pp_version_missing_folder_on_the_pp_field(pp_lib):
    (field, message), = vasp_problems(recipes.resolve("vasp.static_job"), si(), {"pp_version": "54"})[0]
    assert field == "calc_kwargs['pp_version']"
    assert "has no folder potpaw_PBE.54" in message and "found: potpaw_LDA.64, potpaw_PBE.64" in message
    assert message.endswith("or use a folder that is there with calc_kwargs pp='potpaw_PBE.64'")


def test_no_library_is_refused_naming_the_settings(quacc_env):
    (field, message), = vasp_problems(recipes.resolve("vasp.static_job"), si(), {})[0]
    assert field == "preset"
    assert message.startswith("no pseudopotential library is set, so VASP would get no POTCAR for Si: quacc's setting")


def test_quacc_refusing_the_parameters_is_a_problem_of_the_field(pp_lib):
    (field, message), = vasp_problems(recipes.resolve("vasp.static_job"), si(), {"xc": "no-such-xc"})[0]
    assert field == "calc_kwargs['xc']"
    assert message.startswith(
        "quacc's VASP calculator cannot be built with these parameters and quacc's settings: "
        "ValueError: no-such-xc is not supported for xc"
    )
    assert message.endswith("; change this field to a value quacc takes")


def test_recipes_without_a_preset_and_other_codes_are_not_checked(quacc_env):
    assert vasp_problems(recipes.resolve("emt.static_job"), si(), {}) == ([], [])
    assert vasp_problems(recipes.resolve("vasp.mp_legacy.mp_gga_static_job"), si(), {}) == ([], [])


def test_quaccs_copilot_report_stays_out_of_the_kernels_log(pp_lib, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="quacc")
    vasp_problems(recipes.resolve("vasp.static_job"), si(), {"encut": 401})
    assert [r for r in caplog.records if r.name.startswith("quacc")] == []
    assert logging.getLogger("quacc").level == logging.INFO  # put back


def test_headers_are_read_again_when_the_file_changes_and_cut_to_a_line(tmp_path):
    path = write_potcar(tmp_path / "Si" / "POTCAR", "Si", lexch="CA")
    assert read_header(path).functional_class == "LDA"
    write_potcar(path, "Si", lexch="PE", titel="PAW_PBE Si " + "x" * 500)
    os.utime(path, ns=(1, 1))  # a replaced file: another mtime
    header = read_header(path)
    assert header.functional_class == "GGA" and len(header.titel) == 80
    assert read_header(tmp_path / "nope").error.startswith("FileNotFoundError")


def test_a_library_exported_by_the_profiles_worker_init_wins(tmp_path, quacc_env, monkeypatch):
    from crystalwidgets.profiles.checks import worker_exports

    init = 'module load vasp\nexport QUACC_VASP_PP_PATH="$CW_TEST_ROOT/pp"\nexport OTHER=1'
    exports = worker_exports(init)
    assert exports == {"QUACC_VASP_PP_PATH": "$CW_TEST_ROOT/pp", "OTHER": "1"}
    monkeypatch.setenv("CW_TEST_ROOT", str(tmp_path))
    monkeypatch.setenv("QUACC_VASP_PP_PATH", str(tmp_path / "kernel"))
    assert pp_library(exports, "the worker_init of profile 'x'") == (
        str(tmp_path / "pp"), "QUACC_VASP_PP_PATH in the worker_init of profile 'x'"
    )
    plain = worker_exports(f"export VASP_PP_PATH={tmp_path / 'plain'}")
    assert pp_library(plain)[0] == str(tmp_path / "kernel")  # quacc's own variable wins over the plain one
    monkeypatch.delenv("QUACC_VASP_PP_PATH")
    assert pp_library(plain) == (str(tmp_path / "plain"), "VASP_PP_PATH in worker_init")
    assert worker_exports('export BAD="unclosed') == {}
