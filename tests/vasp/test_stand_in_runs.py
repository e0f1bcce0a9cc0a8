"""VASP jobs through the real chain (JobManager -> local runner -> quacc -> ASE -> custodian ->
emmet), only the executable is a stand-in replaying a recorded output set (``outputs/si2``)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from pymatgen.io.vasp.outputs import Oszicar, Outcar, Vasprun

from crystalwidgets import JobState
from tests.vasp.conftest import SI2

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def recorded():
    """The values the recorded files hold, read with pymatgen apart from the job."""
    run = Vasprun(str(SI2 / "vasprun.xml.gz"), parse_potcar_file=False)
    return {
        "energy": run.final_energy,  # E0 (sigma -> 0), which ASE and quacc report
        "gap": run.get_band_structure(efermi="smart").get_band_gap()["energy"],
        "efermi": run.efermi,
        "mag": Outcar(str(SI2 / "OUTCAR.gz")).total_mag,
        "oszicar_e0": Oszicar(str(SI2 / "OSZICAR.gz")).final_energy,
    }


def quacc_dir(rec, prefix="quacc-") -> Path:
    (found,) = [p for p in Path(rec.work_dir).iterdir() if p.name.startswith(prefix)]
    return found


def custodian_log(folder: Path) -> list:
    with gzip.open(folder / "custodian.json.gz", "rt") as fh:
        return json.load(fh)


@pytest.mark.parametrize("recipe", ["vasp.static_job", "vasp.relax_job"])
def test_a_clean_run_summarises_what_the_recorded_files_hold(manager, fake_vasp, si2, recorded, recipe):
    rec = manager.submit(si2, recipe)
    (done,) = manager.wait([rec.id], timeout=240)
    assert done.state is JobState.COMPLETED, done.error
    s = done.summary
    assert s["energy_ev"] == pytest.approx(recorded["energy"], abs=1e-8)
    assert s["energy_ev"] == pytest.approx(recorded["oszicar_e0"], abs=1e-8)
    assert s["band_gap_ev"] == pytest.approx(recorded["gap"], abs=1e-9)
    assert s["band_gap_ev"] == pytest.approx(0.6167, abs=1e-4)
    assert s["efermi_ev"] == pytest.approx(recorded["efermi"], abs=1e-9)
    assert s["total_magnetization"] == pytest.approx(recorded["mag"], abs=1e-9)
    assert s["is_metal"] is False and s["formula"] == "Si" and s["n_atoms"] == 2
    assert s["custodian_restarts"] == 0 and s["custodian_corrections"] == []
    folder = quacc_dir(done)
    assert len(custodian_log(folder)) == 1  # custodian ran VASP, once
    assert gzip.open(folder / "fake-vasp-calls.txt.gz", "rt").read() == "ISMEAR=0\n"  # one VASP call


def test_an_error_custodian_corrects_then_a_clean_restart_shows_in_the_details(manager, fake_vasp, si2, recorded):
    fake_vasp("tetrahedron")
    rec = manager.submit(si2, "vasp.static_job", ismear=-5)  # tetrahedra: the stand-in fails as VASP does
    (done,) = manager.wait([rec.id], timeout=240)
    assert done.state is JobState.COMPLETED, done.error
    folder = quacc_dir(done)
    assert gzip.open(folder / "fake-vasp-calls.txt.gz", "rt").read() == "ISMEAR=-5\nISMEAR=0\n"
    (run,) = custodian_log(folder)
    (correction,) = run["corrections"]
    assert correction["errors"] == ["tet"]
    assert correction["actions"] == [{"dict": "INCAR", "action": {"_set": {"ISMEAR": 0, "SIGMA": 0.05}}}]
    s = done.summary
    assert s["custodian_restarts"] == 1
    assert s["custodian_corrections"] == [
        {
            "handler": "VaspErrorHandler",
            "errors": ["tet"],
            "actions": ["INCAR: set ISMEAR=0, SIGMA=0.05"],
            "text": "VaspErrorHandler saw tet: INCAR: set ISMEAR=0, SIGMA=0.05",
        }
    ]
    assert s["energy_ev"] == pytest.approx(recorded["energy"], abs=1e-8)
    # the job details the table sends to the browser carry them
    from crystalwidgets.widgets._table import JobTable
    from tests.widgets.test_table import Wire, browser_says

    table = JobTable(manager)
    wire = Wire(table)
    browser_says(table, {"kind": "snapshot"})
    table.show_details(done.short_id)
    details = wire.of_kind("details")[-1]
    assert details["summary"]["custodian_corrections"][0]["text"] == (
        "VaspErrorHandler saw tet: INCAR: set ISMEAR=0, SIGMA=0.05"
    )
    assert details["summary"]["custodian_restarts"] == 1


def test_a_run_that_fails_for_good_keeps_its_error_and_its_files(manager, fake_vasp, si2):
    fake_vasp("broken")
    rec = manager.submit(si2, "vasp.static_job")
    (done,) = manager.wait([rec.id], timeout=240)
    assert done.state is JobState.FAILED
    assert "NonRecoverableError" in done.error and "Unrecoverable error for handler" in done.error
    folder = quacc_dir(done, "failed-quacc-")
    names = {p.name for p in folder.iterdir()}
    assert {"INCAR", "POSCAR", "KPOINTS", "POTCAR", "OUTCAR", "vasp.out", "custodian.json"} <= {
        n.removesuffix(".gz") for n in names
    }
    out = folder / ("vasp.out" if "vasp.out" in names else "vasp.out.gz")
    text = (gzip.open(out, "rt") if out.suffix == ".gz" else open(out)).read()
    assert "ERROR RSPHER" in text
