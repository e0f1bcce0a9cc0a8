"""A running relaxation shows how far it has got: steps, latest energy and max force, the
energy per step, read from ASE's own optimiser log while quacc runs the recipe."""

from __future__ import annotations

from pathlib import Path

import pytest
from ase.build import bulk
from ase.optimize import FIRE

from crystalwidgets import JobState
from crystalwidgets.jobs.progress import parse_log, read_progress
from tests.helpers import states_seen, wait_until


def test_a_real_slow_emt_relaxation_reports_its_steps_while_it_runs(manager):
    seen = states_seen(manager)
    atoms = bulk("Cu", cubic=True) * (5, 5, 5)  # 500 atoms, rattled: FIRE takes ~0.1-0.2 s a step here
    atoms.rattle(0.2, seed=1)
    job = manager.submit(atoms, "emt.relax_job", "local", opt_params={"fmax": 1e-4, "max_steps": 2000, "optimizer": FIRE})
    first = wait_until(
        lambda: (r := manager.get(job.id)).summary and r.summary.get("n_steps", 0) >= 3 and r, 60,
        "progress of the running relaxation",
    )
    assert first.state is JobState.RUNNING and first.summary["progress"] is True
    assert first.summary["kind"] == "relax" and len(first.summary["energies_ev"]) == first.summary["n_steps"] + 1
    assert first.summary["max_force_ev_ang"] > 0
    later = wait_until(
        lambda: (r := manager.get(job.id)).summary["n_steps"] >= first.summary["n_steps"] + 3 and r, 60,
        "the step count to grow",
    )
    assert later.summary["energies_ev"][: len(first.summary["energies_ev"])] == first.summary["energies_ev"]
    assert later.summary["energy_ev"] < later.summary["energies_ev"][0]  # it relaxes
    # the table's row shows it: steps, energy and force of a running job
    from crystalwidgets.widgets import JobTable

    table = JobTable(manager)
    try:
        (row,) = [r for r in table._rows() if r[0] == job.id]
        from crystalwidgets.widgets._table import COLUMNS

        values = dict(zip(COLUMNS, row))
        assert values["state"] == "running" and values["n_steps"] >= 3 and values["energy_ev"] is not None
        # the open details' energy-per-step plot grows: each new step is sent to the browser
        from tests.widgets.test_table import Wire, browser_says

        wire = Wire(table)
        browser_says(table, {"kind": "snapshot"})
        table.show_details(job.short_id)
        shown = wait_until(lambda: wire.of_kind("details"), 10, "the running job's details")[-1]
        assert shown["state"] == "running" and len(shown["summary"]["energies_ev"]) >= 4
        grown = wait_until(
            lambda: [d for d in wire.of_kind("details")
                     if len(d["summary"]["energies_ev"]) >= len(shown["summary"]["energies_ev"]) + 2], 60,
            "details with two more steps",
        )[-1]
        assert grown["summary"]["energies_ev"][: len(shown["summary"]["energies_ev"])] == shown["summary"]["energies_ev"]
    finally:
        table.close()
    manager.cancel(job.id)
    (done,) = manager.wait([job.id], timeout=30)
    assert done.state is JobState.CANCELLED
    assert seen[job.id] == ["pending", "running", "cancelled"]


def test_parse_log_counts_whole_lines_only_and_reads_md(tmp_path):
    opt = (
        "      Step     Time          Energy          fmax\n"
        "BFGS:    0 04:47:28        3.146267        3.477100\n"
        "BFGS:    1 04:47:28        2.004889        2.425770\n"
        "BFGS:    2 04:47:28        0.3549"  # being written
    )
    got = parse_log(opt, "opt.log")
    assert got == {"kind": "relax", "n_steps": 1, "energy_ev": 2.004889, "max_force_ev_ang": 2.42577,
                   "energies_ev": [3.146267, 2.004889]}
    assert parse_log("      Step     Time          Energy          fmax\n", "opt.log") is None
    md = ("Time[ps]      Etot[eV]     Epot[eV]     Ekin[eV]    T[K]\n"
          "0.0000           3.1463       3.1463       0.0000     0.0\n"
          "0.0005           3.1463       3.1445       0.0018     0.4\n")
    assert parse_log(md, "md.log") == {"kind": "md", "n_steps": 1, "energy_ev": 3.1445, "max_force_ev_ang": None,
                                       "temperature_k": 0.4, "energies_ev": [3.1463, 3.1445]}
    run = tmp_path / "tmp-quacc-2026-x"
    run.mkdir()
    (run / "opt.log").write_text(opt)
    assert read_progress(tmp_path)["n_steps"] == 1
    assert read_progress(Path(tmp_path / "gone")) is None


def test_an_unconverged_relaxation_keeps_its_steps_and_continues_from_its_last_structure(manager):
    atoms = bulk("Cu", cubic=True) * (2, 2, 2)
    atoms.rattle(0.2, seed=1)
    job = manager.submit(atoms, "emt.relax_job", "local", opt_params={"fmax": 1e-6, "max_steps": 5})
    (rec,) = manager.wait([job.id], timeout=120)
    assert rec.state is JobState.FAILED
    from crystalwidgets.jobs.cause import error_headline

    assert error_headline(rec.error).startswith("RuntimeError: Optimization did not converge.")
    s = rec.summary
    assert s["unconverged"] is True and s["converged"] is False
    assert s["n_steps"] == 5 and len(s["energies_ev"]) == 6
    assert s["energy_ev"] == s["energies_ev"][-1] < s["energies_ev"][0]
    assert s["max_force_ev_ang"] > 1e-6
    last, kind, note = manager.display_structure(job.id)
    assert kind == "final" and note == "its last step: it did not converge"
    assert (last.positions != atoms.positions).any()  # moved: the last step, not the input
    # continue where it stopped, with more steps allowed
    nxt = manager.continue_from(job.id, opt_params={"fmax": 0.05, "max_steps": 500})
    assert nxt.label == f"continued from {rec.short_id}"
    (done,) = manager.wait([nxt.id], timeout=120)
    assert done.state is JobState.COMPLETED, done.error
    assert done.params["opt_params"] == {"fmax": 0.05, "max_steps": 500}
    first = manager.structure(nxt.id)
    assert abs(first.positions - last.positions).max() < 1e-9  # it started from the last step
    assert done.summary["energies_ev"][0] == pytest.approx(s["energy_ev"], abs=1e-9)


def test_the_tables_continue_message_submits_from_the_last_step_and_opens_it(manager):
    from crystalwidgets.widgets import JobTable

    atoms = bulk("Cu", cubic=True)
    atoms.rattle(0.2, seed=2)
    job = manager.submit(atoms, "emt.relax_job", "local", opt_params={"fmax": 1e-6, "max_steps": 3})
    manager.wait([job.id], timeout=120)
    table = JobTable(manager)
    sent = []
    table.send = sent.append
    try:
        table._on_message(table, {"kind": "continue", "id": job.id}, [])
        new = manager.jobs()[-1]
        assert new.id != job.id and new.label == f"continued from {job.id[:8]}"
        assert table.details_id == new.id
        table._on_message(table, {"kind": "continue", "id": "nope"}, [])
        assert sent[-1]["kind"] == "error" and sent[-1]["message"].startswith("cannot continue: ")
    finally:
        table.close()
