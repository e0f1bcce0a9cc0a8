"""Sweeps over more than structures: nested numbers (``opt_params.fmax``), ``Literal``
choices (``method``), strains and rattles of the structure, as a product with the
structures; every point validated before anything is recorded; labels say what varied."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from ase.build import bulk, molecule

from crystalwidgets import JobState
from crystalwidgets.errors import CrystalWidgetsError, RecipeValidationError
from crystalwidgets.jobs.sweep import parse_strains, parse_values, sweep_grid, sweepable


def _store_state(mgr) -> tuple:
    conn = sqlite3.connect(mgr.store.path)
    try:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("jobs", "structures", "loaded"))
    finally:
        conn.close()


def test_an_fmax_grid_times_two_structures_records_six_jobs_that_complete(manager):
    cu, al = bulk("Cu", a=3.7), bulk("Al", a=4.1)
    jobs = sweep_grid(
        "emt.relax_job", {"relax_cell": False}, [(cu, "Cu"), (al, "Al")], {"opt_params.fmax": [0.1, 0.05, 0.01]}
    )
    recs = manager.submit_many(jobs, "emt.relax_job")
    assert len(recs) == 6
    asked = [(f, fmax) for f in ("Cu", "Al") for fmax in (0.1, 0.05, 0.01)]
    assert [(r.formula, r.params["opt_params"]["fmax"]) for r in recs] == asked
    assert all(r.params["relax_cell"] is False for r in recs)
    assert [r.label for r in recs] == [f"{f} fmax={fmax:g}" for f, fmax in asked]
    done = manager.wait([r.id for r in recs], timeout=300)
    assert [r.state for r in done] == [JobState.COMPLETED] * 6, [r.error for r in done]
    # the recipe ran with what was asked: each result's fmax is the job's (quacc's own record)
    for rec in done:
        result = manager.result(rec.id)
        assert result["parameters_opt"]["fmax"] == rec.params["opt_params"]["fmax"]


def test_a_literal_grid_over_tblite_methods(manager):
    pytest.importorskip("tblite")
    h2 = molecule("H2")
    jobs = sweep_grid("tblite.static_job", {}, [(h2, "H2")], {"method": parse_values("GFN1-xTB, GFN2-xTB", sweepable(
        _spec("tblite.static_job"))["method"])})
    assert [(k, label) for _, k, label in jobs] == [
        ({"method": "GFN1-xTB"}, "H2 method=GFN1-xTB"),
        ({"method": "GFN2-xTB"}, "H2 method=GFN2-xTB"),
    ]
    recs = manager.submit_many(jobs, "tblite.static_job")
    done = manager.wait([r.id for r in recs], timeout=300)
    assert [r.state for r in done] == [JobState.COMPLETED] * 2, [r.error for r in done]
    energies = [r.summary["energy_ev"] for r in done]
    assert energies[0] != energies[1]  # two methods, two energies
    assert [manager.result(r.id)["parameters"]["method"] for r in done] == ["GFN1-xTB", "GFN2-xTB"]


def _spec(recipe):
    from crystalwidgets import recipes

    return recipes.resolve(recipe).spec


def test_a_strain_grid_makes_the_volumes_the_strains_say():
    cu = bulk("Cu", cubic=True)
    strains = parse_values("-2..2:5", None, what="strain")
    assert strains == [-2.0, -1.0, 0.0, 1.0, 2.0]
    jobs = sweep_grid("emt.static_job", {}, [cu], strain=strains)
    v0 = cu.get_volume()  # by hand: an isotropic strain s scales each axis by 1 + s/100
    assert [round(a.get_volume() / v0, 9) for a, _, _ in jobs] == [round((1 + s / 100) ** 3, 9) for s in strains]
    assert [label for *_, label in jobs] == ["Cu4 strain=-2%", "Cu4 strain=-1%", "Cu4 strain=+0%", "Cu4 strain=+1%", "Cu4 strain=+2%"]
    assert cu.get_volume() == v0  # the structure itself is not changed
    # strain x rattle x fmax x 2 structures: the product, rattled positions moved, cells kept
    jobs = sweep_grid("emt.relax_job", {}, [cu, bulk("Al", cubic=True)], {"opt_params.fmax": [0.1, 0.05]},
                      strain=[-1, 1], rattle=[0.05])
    assert len(jobs) == 2 * 2 * 1 * 2
    first = jobs[0][0]
    assert np.isclose(first.get_volume(), v0 * 0.99**3)
    assert not np.allclose(first.get_scaled_positions(), cu.get_scaled_positions())
    assert jobs[0][2] == "Cu4 strain=-1% rattle=0.05Å fmax=0.1"


def test_strains_along_chosen_axes_change_only_those_cell_lengths():
    # hcp Mg: a c-axis (uniaxial), in-plane (biaxial) and a full a b c strain
    mg = bulk("Mg")
    lengths = mg.cell.lengths()
    assert parse_strains("-2..2:3", "c") == [(0.0, 0.0, -2.0), (0.0, 0.0, 0.0), (0.0, 0.0, 2.0)]
    assert parse_strains("1", "ab") == [(1.0, 1.0, 0.0)]
    assert parse_strains("1 1 -2; 0, 0, 3", "each") == [(1.0, 1.0, -2.0), (0.0, 0.0, 3.0)]
    strains = parse_strains("-2, 2", "c") + parse_strains("1", "ab") + parse_strains("1 -1 0.5", "each") + [1.5]
    jobs = sweep_grid("tblite.static_job", {}, [(mg, "Mg")], strain=strains)
    got = [a.cell.lengths() / lengths for a, _, _ in jobs]  # by hand: each axis scaled by 1 + s/100
    want = [(1, 1, 0.98), (1, 1, 1.02), (1.01, 1.01, 1), (1.01, 0.99, 1.005), (1.015, 1.015, 1.015)]
    assert np.allclose(got, want, atol=1e-12), got
    # the cell's angles (hcp: 120 degrees between a and b) are kept by a strain along the axes
    assert all(np.allclose(a.cell.angles(), mg.cell.angles()) for a, _, _ in jobs)
    assert [label for *_, label in jobs] == [
        "Mg strain c=-2%", "Mg strain c=+2%", "Mg strain ab=+1%", "Mg strain=+1/-1/+0.5%", "Mg strain=+1.5%",
    ]
    for text, along, says in [
        ("1 1", "each", "strain a b c: '1 1' is not three percentages (along a, b, c); e.g. 1 1 -2; 0 0 2"),
        ("1 x 2", "each", "strain a b c: 'x' is not a number"),
        ("", "each", "strain a b c: no values given"),
        ("1..2", "c", "strain c: '1..2' is not a range start..stop:count"),
        ("1", "z", "strain: along='z' is none of ab, a, b, c or 'each'"),
    ]:
        with pytest.raises(CrystalWidgetsError) as info:
            parse_strains(text, along)
        assert says in str(info.value), (text, str(info.value))
    # the App's sweep controls offer the same choices
    from crystalwidgets.widgets._sweep import SweepControls

    controls = SweepControls()
    for shown, text, want in [("strain c (%)", "-1, 1", [(0.0, 0.0, -1.0), (0.0, 0.0, 1.0)]),
                              ("strain a,b (%)", "2", [(2.0, 2.0, 0.0)]),
                              ("strain a b c (%)", "1 1 -2", [(1.0, 1.0, -2.0)]),
                              ("strain (%)", "-1..1:3", [-1.0, 0.0, 1.0])]:
        controls.vary.value, controls.vary_values.value = shown, text
        assert controls.arguments()["strain"] == want, shown
    with pytest.raises(CrystalWidgetsError, match=r"sweep: strain \[1, 2\] is neither one percentage"):
        sweep_grid("tblite.static_job", {}, [mg], strain=[[1, 2]])
    with pytest.raises(CrystalWidgetsError, match=r"sweep: Mg strain a=\+200%: strain: .* between -50 and 100"):
        sweep_grid("tblite.static_job", {}, [(mg, "Mg")], strain=[(200, 0, 0)])


def test_bad_grids_are_refused_naming_the_field_and_nothing_is_recorded(manager):
    from crystalwidgets.widgets import App

    app = App(manager, structure=[bulk("Cu"), molecule("H2")], recipe="emt.relax_job")
    app._remember_thread.join(30)
    before = _store_state(manager)
    cases = {
        "opt_params.fmax": (lambda: app.sweep_jobs({"opt_params.fmax": [0.1, -1, "x"]}), RecipeValidationError,
                            ["opt_params['fmax'] (sweep point opt_params.fmax=-1): -1 is too small; use a number greater than 0",
                             "opt_params['fmax'] (sweep point opt_params.fmax='x'): expected float"]),
        "unknown path": (lambda: app.sweep_jobs({"opt_params.fmx": [0.1]}), CrystalWidgetsError,
                         ["'opt_params.fmx' is not a parameter of emt.relax_job a sweep can vary; use one of", "opt_params.fmax"]),
        "no values": (lambda: app.sweep_jobs({"opt_params.fmax": []}), CrystalWidgetsError, ["give the values of opt_params.fmax"]),
        "a molecule strained": (lambda: app.sweep_jobs(strain=[1.0]), CrystalWidgetsError, ["strain: the structure has no full cell"]),
        "too many": (lambda: app.sweep_jobs({"opt_params.max_steps": list(range(1, 60_001))}, strain=[1, 2]),
                     CrystalWidgetsError, ["240,000 jobs is more than 100,000"]),
        "a text that is no number": (lambda: parse_values("0.1, abc", {"kind": "float"}, what="opt_params.fmax"),
                                     CrystalWidgetsError, ["opt_params.fmax: 'abc' is not a number"]),
        "a bad range": (lambda: parse_values("-2..2", None, what="strain"), CrystalWidgetsError,
                        ["strain: '-2..2' is not a range start..stop:count"]),
    }
    for name, (call, kind, says) in cases.items():
        with pytest.raises(kind) as info:
            call()
        for text in says:
            assert text in str(info.value), (name, str(info.value))
    app.form.recipe = "tblite.static_job"
    with pytest.raises(RecipeValidationError, match=r"method \(sweep point method='GFN3'\): 'GFN3' is not one of 'GFN1-xTB'"):
        app.sweep_jobs({"method": ["GFN2-xTB", "GFN3"]})
    app.form.recipe = "emt.static_job"
    app.pick.index = 0
    with pytest.raises(CrystalWidgetsError, match=r"sweep: H2 strain=\+1%: strain: the structure has no full cell"):
        app.sweep_jobs(strain=[1.0], over="all")
    # the UI path: the same refusal shown, nothing recorded
    app.sweep.parameters[0].value = "(none)"
    app.sweep.vary.value = "strain (%)"
    app.sweep.vary_values.value = "1"
    app.sweep.over.value = "all"
    app._start_sweep()
    assert "no full cell" in app.progress_text.value
    assert _store_state(manager) == before
    assert manager.jobs() == []
