"""The program a recipe runs, looked up as quacc's settings name it; refused only where it runs here.

The refusal is held against the real recipe: ORCA's recipe with no ``orca`` really fails
when it runs, and a program put on the PATH is found.
"""

from __future__ import annotations

import os
import sys
import warnings
from types import SimpleNamespace

import pytest
from ase.build import bulk, molecule

from crystalwidgets.errors import RecipeUnavailableError
from crystalwidgets.recipes import recipes
from crystalwidgets.recipes.executables import job_settings, missing_program, program_of


def _executable(path):
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o700)
    return path


def test_python_only_codes_and_a_users_function_need_no_program():
    for name in ("emt.relax_job", "tblite.static_job", "lj.static_job", "mlip.static_job"):
        assert program_of(name) is None and missing_program(name) is None
    assert program_of("vasp.my_own", code="custom") is None  # a user's function named like one


def test_the_command_comes_from_quacc_settings_as_a_job_reads_them(monkeypatch, tmp_path):
    monkeypatch.setenv("QUACC_VASP_CMD", "vasp_ncl -x")
    monkeypatch.setenv("QUACC_ESPRESSO_BIN_DIR", str(tmp_path))
    settings = job_settings()  # fresh: the kernel's get_settings() would still say vasp_std
    assert program_of("vasp.static_job", settings).executable == "vasp_ncl"
    assert program_of("espresso.static_job", settings).command == str(tmp_path / "pw.x")
    assert program_of("orca.static_job", settings).setting == "QUACC_ORCA_CMD"


def test_a_missing_program_is_named_with_its_setting_and_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    why = missing_program("vasp.relax_job", SimpleNamespace(VASP_CMD="vasp_std"))
    assert why == (
        "needs vasp_std (QUACC_VASP_CMD), which is not on this machine's PATH: run it on a cluster "
        "profile where it is installed, or install it here and set QUACC_VASP_CMD to its command"
    )
    espresso = SimpleNamespace(ESPRESSO_BIN_DIR=tmp_path, ESPRESSO_BINARIES={"pw": "pw.x"})
    assert missing_program("espresso.static_job", espresso).endswith(
        "set QUACC_ESPRESSO_BIN_DIR to the folder holding it"
    )
    assert "QUACC_ORCA_CMD is empty" in missing_program("orca.static_job", SimpleNamespace(ORCA_CMD=""))


def test_a_program_on_the_path_or_at_a_path_is_found(monkeypatch, tmp_path):
    _executable(tmp_path / "vasp_std")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert missing_program("vasp.static_job", SimpleNamespace(VASP_CMD="vasp_std")) is None
    stand_in = f"{sys.executable} {tmp_path / 'fake.py'}"  # a command with arguments: its first word
    assert missing_program("vasp.static_job", SimpleNamespace(VASP_CMD=stand_in)) is None
    espresso = SimpleNamespace(ESPRESSO_BIN_DIR=tmp_path, ESPRESSO_BINARIES={"pw": "pw.x"})
    assert missing_program("espresso.static_job", espresso) is not None
    _executable(tmp_path / "pw.x")
    assert missing_program("espresso.static_job", espresso) is None
    (tmp_path / "pw.x").chmod(0o600)  # there but not executable: not found
    assert missing_program("espresso.static_job", espresso) is not None


def test_what_is_refused_really_fails_when_it_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("QUACC_ORCA_CMD", str(tmp_path / "no-orca"))
    monkeypatch.setenv("QUACC_RESULTS_DIR", str(tmp_path))
    assert missing_program("orca.static_job") is not None
    from quacc import change_settings

    with warnings.catch_warnings(), change_settings({"RESULTS_DIR": tmp_path, "ORCA_CMD": str(tmp_path / "no-orca")}):
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as info:
            recipes.resolve("orca.static_job").load()(molecule("H2"))
    chain, exc = [], info.value
    while exc is not None:
        chain.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    assert any(text.startswith("FileNotFoundError") and "no-orca" in text for text in chain), chain


def test_the_manager_refuses_it_on_this_machine_before_recording_and_allows_it_on_a_cluster(manager, monkeypatch, tmp_path):
    from crystalwidgets.profiles import ProfileStore

    monkeypatch.setenv("QUACC_ORCA_CMD", str(tmp_path / "no-orca"))
    with pytest.raises(RecipeUnavailableError, match=r"orca.static_job cannot run on profile 'local' \(this machine\): needs "):
        manager.submit(molecule("H2"), "orca.static_job")
    assert manager.jobs() == []  # nothing recorded
    kinds = {k: ProfileStore.validate({"kind": k, "name": "p"}).runs_here
             for k in ("local", "parsl-threads", "parsl-local", "dask-local", "parsl-slurm", "dask-slurm", "covalent")}
    assert kinds == {"local": True, "parsl-threads": True, "parsl-local": True, "dask-local": True,
                     "parsl-slurm": False, "dask-slurm": False, "covalent": True}
    assert not ProfileStore.validate({"kind": "parsl-local", "name": "p", "worker_init": "module load orca"}).runs_here
    assert not ProfileStore.validate({"kind": "covalent", "name": "p", "server_address": "http://h:1"}).runs_here


def test_the_form_lists_it_as_needing_its_program_but_lets_it_be_picked(monkeypatch, tmp_path, cw_home):
    from crystalwidgets.widgets._form import RecipeForm

    monkeypatch.setenv("QUACC_VASP_CMD", "vasp_std_nowhere")
    form = RecipeForm("emt.relax_job")
    entry = next(e for e in form.catalogue if e["name"] == "vasp.static_job")
    assert entry["program"] == "vasp_std_nowhere" and entry["needs"].startswith("needs vasp_std_nowhere (QUACC_VASP_CMD)")
    assert next(e for e in form.catalogue if e["name"] == "emt.relax_job")["needs"] is None
    form.recipe = "vasp.static_job"  # picked: a cluster profile may have it
    form.structure = bulk("Si")
    assert form.recipe == "vasp.static_job"
