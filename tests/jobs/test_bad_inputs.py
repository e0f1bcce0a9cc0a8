"""Bad input gets a clear error naming the field and the fix, and nothing is written half-way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ase import Atoms
from ase.build import bulk

from crystalwidgets import CrystalWidgetsError, JobManager, JobState


def _nothing_written(mgr: JobManager) -> None:
    assert mgr.jobs() == []
    assert mgr.store.count() == 0
    assert list(mgr.results_dir.iterdir()) == []


def test_unknown_recipe_names_close_matches(manager):
    with pytest.raises(CrystalWidgetsError) as err:
        manager.submit(bulk("Cu"), "emt.relax_jbo")
    assert "emt.relax_jbo" in str(err.value) and "emt.relax_job" in str(err.value)
    _nothing_written(manager)


def test_bad_kwargs_name_every_field(manager):
    with pytest.raises(CrystalWidgetsError) as err:
        manager.submit(bulk("Cu"), "emt.slabs.bulk_to_slabs_flow", run_statc=True, job_params=3)
    text = str(err.value)
    assert "run_statc" in text and "run_static" in text  # unknown, with the closest name
    assert "job_params" in text
    with pytest.raises(CrystalWidgetsError) as err:
        manager.submit(bulk("Cu"), "emt.relax_job", relax_cell=1, opt_params={"fmax": float("nan")})
    text = str(err.value)
    assert "relax_cell" in text and "fmax" in text and "nan" in text.lower()
    _nothing_written(manager)


def test_unknown_kwargs_of_a_calculator_pass_unchecked_with_a_warning(manager):
    from crystalwidgets.errors import UncheckedKwargsWarning

    with pytest.warns(UncheckedKwargsWarning, match="relax_cell"):
        rec = manager.submit(bulk("Cu"), "emt.relax_job", relax_cel=True)
    assert rec.params == {"relax_cel": True}


def test_wrong_type_names_field_and_fix(manager):
    with pytest.raises(CrystalWidgetsError) as err:
        manager.submit(bulk("Cu"), "emt.relax_job", relax_cell="yes")
    assert "relax_cell" in str(err.value) and "True or False" in str(err.value)
    _nothing_written(manager)


def test_unreadable_and_empty_structures(manager, tmp_path):
    garbage = tmp_path / "broken.cif"
    garbage.write_text("data_x\n_cell_length_a 3.6\nloop_\n_atom_site_label\n")
    with pytest.raises(CrystalWidgetsError) as err:
        manager.submit(garbage, "emt.static_job")
    assert "broken.cif" in str(err.value) and "cif" in str(err.value).lower()
    with pytest.raises(CrystalWidgetsError, match="(?i)empty|no atoms"):
        manager.submit(Atoms(), "emt.static_job")
    with pytest.raises(CrystalWidgetsError, match="missing.xyz"):
        manager.submit(tmp_path / "missing.xyz", "emt.static_job")
    _nothing_written(manager)


def test_unknown_profile_lists_known_ones(manager):
    with pytest.raises(CrystalWidgetsError) as err:
        manager.submit(bulk("Cu"), "emt.static_job", profile="cluster-that-is-not-there")
    assert "cluster-that-is-not-there" in str(err.value) and "local" in str(err.value)
    _nothing_written(manager)


def test_corrupt_store_file_is_a_clear_error(cw_home):
    cw_home.mkdir(parents=True)
    (cw_home / "jobs.sqlite").write_bytes(os.urandom(4096))
    with pytest.raises(CrystalWidgetsError, match="not a crystalwidgets job store"):
        JobManager()


def test_store_in_unwritable_place_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    monkeypatch.setenv("CRYSTALWIDGETS_HOME", str(blocker / "home"))
    with pytest.raises(CrystalWidgetsError, match="CRYSTALWIDGETS_HOME"):
        JobManager()


def test_profiles_refuse_secrets_and_unknown_fields(cw_home):
    from crystalwidgets.errors import ProfileError
    from crystalwidgets.profiles import ProfileStore

    store = ProfileStore()
    with pytest.raises(ProfileError, match="secret"):
        store.save({"kind": "local", "name": "x", "password": "hunter2"})
    with pytest.raises(ProfileError, match="max_wokers"):
        store.save({"kind": "local", "name": "x", "max_wokers": 2})
    with pytest.raises(ProfileError, match="max_workers"):
        store.save({"kind": "local", "name": "x", "max_workers": 0})
    assert not store.path.exists()
    store.save({"kind": "local", "name": "x", "max_workers": 1})
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    assert store.names() == ["local", "x"]
    assert Path(store.path).read_text().count("hunter2") == 0


def test_a_closed_manager_says_so_and_records_nothing(cw_home):
    from crystalwidgets import JobManager

    mgr = JobManager(monitor_interval=0.5)
    job = mgr.submit(bulk("Cu"), "emt.static_job")
    mgr.wait([job.id], timeout=120)
    mgr.close()
    for call in (
        lambda: mgr.submit(bulk("Cu"), "emt.static_job"),
        lambda: mgr.submit_many([bulk("Cu"), bulk("Al")], "emt.static_job"),
        lambda: mgr.resubmit(job.id),
        lambda: mgr.cancel(job.id),
    ):
        with pytest.raises(CrystalWidgetsError, match=r"this JobManager is closed .*JobManager\(\)"):
            call()
    again = JobManager()
    try:
        assert [r.id for r in again.jobs()] == [job.id]  # nothing was recorded
    finally:
        again.close()


def test_resubmit_after_the_work_dir_was_deleted_uses_the_store(manager):
    import shutil

    from tests import jobfuncs

    cu = bulk("Cu", cubic=True)
    job = manager.submit(cu, "emt.relax_job", relax_cell=False, opt_params={"fmax": 0.05}, label="first")
    own = manager.submit(cu, jobfuncs.scaled_volume_job, factor=1.1)
    manager.wait([job.id, own.id], timeout=120)
    shutil.rmtree(job.work_dir)
    shutil.rmtree(own.work_dir)
    again = manager.resubmit(job.id)
    (done,) = manager.wait([again.id], timeout=120)
    assert done.state is JobState.COMPLETED, done.error
    assert (done.recipe, done.params, done.label) == ("emt.relax_job", manager.get(job.id).params, "first")
    assert done.structure_hash == job.structure_hash
    with pytest.raises(CrystalWidgetsError, match="is gone, and its recipe 'scaled_volume_job' is a function of your own"):
        manager.resubmit(own.id)


def test_a_structure_the_recipe_cannot_handle_is_refused_before_recording(manager):
    from ase.build import molecule

    from crystalwidgets.errors import UnfitStructureError

    nacl = bulk("NaCl", "rocksalt", a=5.64)
    with pytest.raises(UnfitStructureError) as err:
        manager.submit(nacl, "emt.relax_job")
    assert str(err.value).startswith("emt.relax_job cannot run on NaCl:\n  - structure: ASE's EMT has no")
    assert "tblite.relax_job" in str(err.value)
    with pytest.raises(CrystalWidgetsError, match=r"job 2 of 2: emt.elastic.elastic_tensor_flow cannot run on CO"):
        manager.submit_many([bulk("Cu"), molecule("CO")], "emt.elastic.elastic_tensor_flow")
    _nothing_written(manager)
