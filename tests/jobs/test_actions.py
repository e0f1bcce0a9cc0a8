"""Resubmit, templates and actions on several jobs at once, through the manager and the
local runner with real EMT recipes (and jobs that a test decides when they end)."""

from __future__ import annotations

import pytest
from ase.build import bulk

from crystalwidgets import CrystalWidgetsError, JobState
from tests import jobfuncs
from tests.helpers import wait_until


def test_resubmit_runs_the_same_job_again_as_a_new_one(manager):
    first = manager.submit(bulk("Cu", a=3.7), "emt.relax_job", relax_cell=False, opt_params={"fmax": 0.05}, label="a")
    [first] = manager.wait([first.id], timeout=180)
    again = manager.resubmit(first.id)
    [again] = manager.wait([again.id], timeout=180)
    assert again.id != first.id and again.state is JobState.COMPLETED, again.error
    assert (again.recipe, again.params, again.profile, again.label) == (first.recipe, first.params, first.profile, "a")
    assert again.structure_hash == first.structure_hash
    assert again.summary["energy_ev"] == pytest.approx(first.summary["energy_ev"], abs=1e-9)


def test_a_template_holds_what_the_job_ran(manager):
    atoms = bulk("Cu", a=3.65)
    job = manager.submit(atoms, "emt.static_job", label="t")
    template = manager.template(job.short_id)
    assert template.job_id == job.id and template.profile == "local"
    assert template.recipe == "quacc.recipes.emt.core.static_job"
    assert template.params == job.params
    assert template.structure == atoms
    manager.wait([job.id], timeout=120)


def test_cancel_many_cancels_the_running_and_reports_each_job(manager, tmp_path):
    done = manager.submit(bulk("Cu"), "emt.static_job")
    manager.wait([done.id], timeout=120)
    until = tmp_path / "never"  # the sleeping jobs end only when cancelled
    markers = [tmp_path / f"started-{i}" for i in range(2)]
    running = [
        manager.submit(bulk("Cu"), jobfuncs.sleeping_job, seconds=0, marker=str(m), until=str(until)) for m in markers
    ]
    wait_until(lambda: all(m.exists() for m in markers), 60, "both jobs to start")

    report = manager.cancel_many([r.id for r in running] + [done.id, "nosuchjob"])

    assert report.outcomes == {running[0].id: "cancelled", running[1].id: "cancelled", done.id: "finished", "nosuchjob": "missing"}
    assert str(report) == "cancelled 2; 1 had already finished; 1 not found"
    finished = manager.wait([r.id for r in running], timeout=60)
    assert [r.state for r in finished] == [JobState.CANCELLED, JobState.CANCELLED]
    assert manager.get(done.id).state is JobState.COMPLETED


def test_resubmit_many_gives_each_job_a_new_one_and_names_the_refused(manager):
    jobs = [manager.submit(bulk("Cu", a=a), "emt.static_job") for a in (3.6, 3.7)]
    manager.wait([j.id for j in jobs], timeout=120)
    report = manager.resubmit_many([j.id for j in jobs], profile="nosuchprofile")
    assert set(report.outcomes.values()) == {"refused"}
    assert "nosuchprofile" in str(report) and str(report).startswith("2 refused")

    report = manager.resubmit_many([j.id for j in jobs])
    assert str(report) == "resubmitted 2"
    new = manager.wait(list(report.new_ids.values()), timeout=120)
    for old, rec in zip(jobs, new):
        assert report.new_ids[old.id] == rec.id and rec.state is JobState.COMPLETED
        assert rec.structure_hash == manager.get(old.id).structure_hash


def test_a_closed_manager_refuses_bulk_actions(manager):
    manager.close()
    with pytest.raises(CrystalWidgetsError, match="closed"):
        manager.cancel_many(["x"])
    with pytest.raises(CrystalWidgetsError, match="closed"):
        manager.resubmit_many(["x"])
