"""jobs.export: real EMT jobs written as CSV, an ASE database and extended XYZ, read back
with ASE and compared with the jobs' own results; skipped jobs counted; bad input refused."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path

import ase.db
import ase.io
import numpy as np
import pytest
from ase.build import bulk

from crystalwidgets import JobManager, JobState
from crystalwidgets.errors import ExportError
from crystalwidgets.jobs import export
from crystalwidgets.jobs.final import FINAL
from tests import jobfuncs
from tests.helpers import close_and_kill, wait_until

LABEL = '=1+1 "quoted"\nsecond line'  # a spreadsheet formula, quotes, a line break


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    """One manager with a relaxation, a static run (labelled), an unconverged relaxation,
    a failed job, a job whose result has no structure and a job still running; its own
    home for the module (the jobs take ~10 s each to start)."""
    root = tmp_path_factory.mktemp("export")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRYSTALWIDGETS_HOME", str(root / "home"))
        mp.setenv("CRYSTALWIDGETS_CONFIG", str(root / "config"))
        mgr = JobManager(monitor_interval=0.5)
        try:
            relaxing = bulk("Cu", cubic=True)
            relaxing.rattle(0.05, seed=1)
            stopping = bulk("Cu", cubic=True) * (2, 1, 1)
            stopping.rattle(0.2, seed=2)
            ids = {
                "relax": mgr.submit(relaxing, "emt.relax_job", relax_cell=False).id,
                "static": mgr.submit(bulk("Cu", a=3.7), "emt.static_job", label=LABEL).id,
                "unconverged": mgr.submit(
                    stopping, "emt.relax_job", opt_params={"fmax": 1e-6, "max_steps": 3}
                ).id,
                "failed": mgr.submit(bulk("Cu"), jobfuncs.failing_job).id,
                "no_atoms": mgr.submit(bulk("Cu"), jobfuncs.scaled_volume_job, factor=2.0).id,
                "running": mgr.submit(
                    bulk("Cu"), jobfuncs.sleeping_job, seconds=0, until=str(root / "never")
                ).id,
            }
            finished = [ids[k] for k in ("relax", "static", "unconverged", "failed", "no_atoms")]
            mgr.wait(finished, timeout=240)
            wait_until(lambda: mgr.get(ids["running"]).state is JobState.RUNNING, 60, "the running job")
            yield mgr, ids
        finally:
            close_and_kill(mgr)


def private(path: Path) -> bool:
    return stat.S_IMODE(os.stat(path).st_mode) == 0o600


def expected_results(mgr, ids, names=("relax", "static", "unconverged")):
    """The jobs' own results and final structures (read before the export is watched)."""
    return {
        name: (mgr.result(ids[name])["results"], mgr.structure(ids[name], final=True)) for name in names
    }


def test_the_states_the_module_needs(jobs):
    mgr, ids = jobs
    assert mgr.get(ids["relax"]).state is JobState.COMPLETED
    assert mgr.get(ids["unconverged"]).state is JobState.FAILED
    assert mgr.get(ids["unconverged"]).summary["unconverged"] is True
    assert mgr.get(ids["no_atoms"]).state is JobState.COMPLETED


def test_an_ase_database_holds_the_final_structures_with_the_jobs_energies_and_forces(
    jobs, tmp_path, monkeypatch
):
    mgr, ids = jobs
    expected = expected_results(mgr, ids)
    # the export reads the small final-structure files, never the whole results
    monkeypatch.setattr(mgr, "result", lambda job_id: pytest.fail("the export read a whole result"))
    order = ["static", "running", "failed", "relax", "no_atoms", "unconverged"]
    path = tmp_path / "jobs.db"
    report = export.to_ase_db(mgr, [ids[n] for n in order], path)

    assert report.written == 3 and report.unconverged == 1 and report.path == str(path)
    assert report.skipped == {
        "running: not finished": [ids["running"]],
        "failed: no result": [ids["failed"]],
        "completed: no final structure in its result": [ids["no_atoms"]],
    }
    assert report.n_skipped == 3
    assert "wrote 3 structures" in str(report) and "skipped 3 jobs" in str(report)
    assert private(path)
    rows = list(ase.db.connect(path).select(sort="id"))
    assert [row.job_id for row in rows] == [ids["static"], ids["relax"], ids["unconverged"]]
    for row, name in zip(rows, ["static", "relax", "unconverged"]):
        results, final = expected[name]
        rec = mgr.get(ids[name])
        assert row.energy == results["energy"]
        assert np.array_equal(row.forces, np.array(results["forces"]))
        assert np.array_equal(row.stress, np.array(results["stress"]))
        assert np.array_equal(row.positions, final.positions) and np.array_equal(row.cell, final.cell)
        assert row.recipe == rec.recipe and row.state == rec.state.value
        assert row.reduced_formula == "Cu" and row.profile == "local"
    assert rows[0].label == LABEL  # the database keeps the text as it is
    assert rows[1].converged is True
    assert rows[2].converged is False and rows[2].state == "failed"  # the last step, marked
    assert "converged" not in rows[0].key_value_pairs  # a static run: no such thing


def test_extxyz_frames_carry_energies_forces_and_the_jobs_keys(jobs, tmp_path):
    mgr, ids = jobs
    expected = expected_results(mgr, ids)
    path = tmp_path / "jobs.extxyz"
    report = export.to_extxyz(mgr, [ids[n] for n in ("relax", "running", "static", "unconverged")], path)
    assert (report.written, report.n_skipped) == (3, 1) and private(path)
    frames = ase.io.read(path, index=":")
    assert [f.info["job_id"] for f in frames] == [ids["relax"], ids["static"], ids["unconverged"]]
    for frame, name in zip(frames, ["relax", "static", "unconverged"]):
        results, final = expected[name]
        assert frame.get_potential_energy() == pytest.approx(results["energy"], rel=1e-12)
        assert np.allclose(frame.get_forces(), results["forces"], atol=1e-8)  # %.8f per atom
        assert np.allclose(frame.get_stress(), results["stress"], rtol=1e-12)
        assert np.allclose(frame.positions, final.positions, atol=1e-8)
        assert frame.info["recipe"] == mgr.get(ids[name]).recipe
    assert frames[1].info["label"] == LABEL.replace("\n", " ")  # one comment line per frame
    assert frames[0].info["converged"] is True and frames[2].info["converged"] is False

    buffer = io.StringIO()
    assert export.to_extxyz(mgr, [ids["relax"]], buffer).path is None
    assert buffer.getvalue().startswith("4\n")


def test_csv_has_one_row_per_job_in_the_order_given(jobs, tmp_path):
    mgr, ids = jobs
    records = [mgr.get(ids[n]) for n in ("static", "running", "relax")]
    path = tmp_path / "jobs.csv"
    report = export.to_csv(records, path)
    assert (report.written, report.n_skipped, report.unit) == (3, 0, "row") and private(path)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(export.CSV_COLUMNS)
    assert [r["id"] for r in rows] == [ids["static"], ids["running"], ids["relax"]]
    relax = mgr.get(ids["relax"])
    assert float(rows[2]["energy_ev"]) == relax.summary["energy_ev"]
    assert float(rows[2]["max_force_ev_ang"]) == relax.summary["max_force_ev_ang"]
    assert rows[2]["converged"] == "True" and rows[2]["n_steps"] == str(relax.summary["n_steps"])
    assert rows[1]["state"] == "running" and rows[1]["energy_ev"] == ""
    assert rows[0]["label"] == "'" + LABEL  # kept whole, and not run as a spreadsheet formula

    failed = io.StringIO()
    export.to_csv([mgr.get(ids["failed"])], failed)
    [row] = csv.DictReader(io.StringIO(failed.getvalue()))
    assert row["error"] == "RuntimeError: boom"


def test_a_final_structure_file_without_results_is_completed_from_the_result(jobs, tmp_path):
    mgr, ids = jobs
    final = Path(mgr.get(ids["relax"]).work_dir) / FINAL
    data = json.loads(final.read_text())
    final.write_text(json.dumps({"atoms": data["atoms"]}))  # as jobs of earlier versions wrote it
    export.to_ase_db(mgr, [ids["relax"]], tmp_path / "old.db")
    [row] = ase.db.connect(tmp_path / "old.db").select()
    assert row.energy == mgr.result(ids["relax"])["results"]["energy"]
    assert json.loads(final.read_text())["results"]["energy"] == row.energy  # written again, with them


def test_bad_input_is_refused_naming_the_argument_and_the_fix(jobs, tmp_path):
    mgr, ids = jobs
    with pytest.raises(ExportError, match=r"job_ids: no job 'nope' in the store .*; pass ids of this manager's jobs"):
        export.to_ase_db(mgr, [ids["relax"], "nope"], tmp_path / "a.db")
    with pytest.raises(ExportError, match=r"job_ids: expected a list of job ids, got str; for one job pass \[job_id\]"):
        export.to_extxyz(mgr, ids["relax"], tmp_path / "a.xyz")
    missing = tmp_path / "no" / "such" / "dir" / "a.db"
    with pytest.raises(ExportError, match=r"path: the directory .*dir does not exist; create it first"):
        export.to_ase_db(mgr, [ids["relax"]], missing)
    with pytest.raises(ExportError, match=r"path_or_buffer: .* is a directory; give a file name in it"):
        export.to_extxyz(mgr, [ids["relax"]], tmp_path)
    with pytest.raises(ExportError, match=r"records: expected job records"):
        export.to_csv([ids["relax"]], tmp_path / "a.csv")
    assert not list(tmp_path.iterdir())  # nothing written, not even half

    existing = tmp_path / "jobs.db"
    export.to_ase_db(mgr, [ids["relax"]], existing)
    with pytest.raises(ExportError, match=r"path: .*jobs.db exists; pass overwrite=True to replace it"):
        export.to_ase_db(mgr, [ids["static"]], existing)
    export.to_ase_db(mgr, [ids["static"]], existing, overwrite=True)
    assert [r.job_id for r in ase.db.connect(existing).select()] == [ids["static"]]  # replaced, not appended
    assert [p.name for p in tmp_path.iterdir()] == ["jobs.db"]  # no temporary file left
