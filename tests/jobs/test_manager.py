"""Real recipes end to end through JobManager on the local runner."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest
from ase.build import bulk, molecule

from crystalwidgets import CrystalWidgetsError, JobState
from crystalwidgets.jobs.summary import summarise
from tests import jobfuncs
from tests.helpers import states_seen, summary_core, wait_until


def _direct_summary(tmp_path, recipe, atoms, **kwargs):
    from quacc import change_settings

    with change_settings({"RESULTS_DIR": tmp_path / "direct"}):
        return summarise(recipe(atoms, **kwargs))


def test_emt_relax_and_static_match_direct_calls(manager, tmp_path):
    from quacc.recipes.emt.core import relax_job, static_job

    seen = states_seen(manager)
    cu = bulk("Cu", cubic=True) * (2, 2, 2)
    cu.rattle(0.05, seed=1)
    al = bulk("Al", cubic=True)
    relax = manager.submit(cu, "emt.relax_job", relax_cell=False)
    static = manager.submit(al, "quacc.recipes.emt.core.static_job")
    done = manager.wait([relax.id, static.id], timeout=180)

    for rec in done:
        assert rec.state is JobState.COMPLETED, rec.error
        assert seen[rec.id] == ["pending", "running", "completed"]
        assert rec.started <= rec.finished
        assert Path(rec.work_dir).is_dir()

    r, s = done
    assert r.recipe == "emt.relax_job" and s.recipe == "emt.static_job"
    assert summary_core(r.summary) == summary_core(_direct_summary(tmp_path, relax_job, cu, relax_cell=False))
    assert summary_core(s.summary) == summary_core(_direct_summary(tmp_path, static_job, al))
    assert r.summary["formula"] == "Cu" and r.summary["n_atoms"] == 32
    assert r.summary["converged"] is True
    assert r.summary["n_steps"] == len(r.summary["energies_ev"]) - 1 > 0
    assert r.summary["energies_ev"][-1] <= r.summary["energies_ev"][0]
    assert r.summary["max_force_ev_ang"] < 0.05  # quacc's default fmax is 0.01
    assert Path(r.summary["work_dir"]).is_relative_to(r.work_dir)
    assert s.summary["n_steps"] is None and s.summary["formula"] == "Al"

    # what a script and the table read back
    final = manager.structure(r.id, final=True)
    assert len(final) == 32
    df = manager.to_dataframe()
    assert set(df["state"]) == {"completed"} and df["energy_ev"].notna().all()


def test_tblite_static_water(manager, tmp_path):
    pytest.importorskip("tblite")
    from quacc.recipes.tblite.core import static_job

    water = molecule("H2O")
    rec = manager.submit(water, "tblite.static_job")
    (rec,) = manager.wait([rec.id], timeout=180)
    assert rec.state is JobState.COMPLETED, rec.error
    assert summary_core(rec.summary) == summary_core(_direct_summary(tmp_path, static_job, water))
    assert rec.summary["formula"] == "H2O"
    # tblite's SCF table went to the job's stdout file, not the kernel
    assert (Path(rec.work_dir) / "cw-stdout.txt").stat().st_size > 0


def test_users_own_job_and_a_flow(manager):
    own = manager.submit(bulk("Cu"), jobfuncs.scaled_volume_job, factor=2.0)
    flow = manager.submit(bulk("Cu"), "emt.slabs.bulk_to_slabs_flow")
    own, flow = manager.wait([own.id, flow.id], timeout=300)

    assert own.state is JobState.COMPLETED, own.error
    assert own.summary["kind"] == "value"
    assert "'n': 1" in own.summary["value"]
    assert manager.result(own.id)["volume"] == pytest.approx(2 * bulk("Cu").get_volume())

    assert flow.state is JobState.COMPLETED, flow.error
    s = flow.summary
    assert s["kind"] == "flow" and s["n_outputs"] == len(s["outputs"]) > 1
    keys = [o["key"] for o in s["outputs"]]
    assert "relax[0]" in keys and "static[0]" in keys
    assert all(o["energy_ev"] is not None and o["formula"] == "Cu" for o in s["outputs"])
    assert s["formula"] == "Cu" and s["converged"] is True
    assert s["energy_ev"] is None  # slabs of different sizes: no single energy
    assert s["max_force_ev_ang"] == max(o["max_force_ev_ang"] for o in s["outputs"])


def test_cancel_running_job_leaves_no_process(manager):
    big = bulk("Cu", cubic=True) * (8, 8, 8)
    big.rattle(0.1, seed=2)
    seen = states_seen(manager)
    rec = manager.submit(big, "emt.relax_job", opt_params={"fmax": 1e-6, "max_steps": 100000})
    running = wait_until(
        lambda: (r := manager.get(rec.id)).state is JobState.RUNNING and r, 60, "the relaxation running"
    )
    pid = running.engine_ref["pid"]
    proc = psutil.Process(pid)
    wait_until(lambda: sum(proc.cpu_times()[:2]) > 2.0, 60, "2 s of the relaxation's CPU time")
    manager.cancel(rec.id)
    (rec,) = manager.wait([rec.id], timeout=30)
    assert rec.state is JobState.CANCELLED
    assert seen[rec.id] == ["pending", "running", "cancelled"]
    assert not psutil.pid_exists(pid)
    assert not [p for p in psutil.process_iter(["cmdline"]) if rec.work_dir in " ".join(p.info["cmdline"] or [])]


def test_cancel_pending_job_never_starts(cw_home):
    from crystalwidgets import JobManager
    from crystalwidgets.profiles import LocalProfile, ProfileStore

    ProfileStore().save(LocalProfile(name="one-at-a-time", max_workers=1))
    with JobManager() as mgr:
        first = mgr.submit(bulk("Cu"), jobfuncs.sleeping_job, "one-at-a-time", seconds=3)
        second = mgr.submit(bulk("Cu"), jobfuncs.sleeping_job, "one-at-a-time", seconds=3)
        assert mgr.get(second.id).state is JobState.PENDING
        mgr.cancel(second.id)
        first, second = mgr.wait([first.id, second.id], timeout=60)
    assert first.state is JobState.COMPLETED
    assert second.state is JobState.CANCELLED and second.started is None
    assert not (Path(second.work_dir) / "cw-started.json").exists()


def test_failing_job_keeps_error_and_files(manager):
    rec = manager.submit(bulk("Cu"), jobfuncs.failing_job, message="<b>bad</b> input 42")
    (rec,) = manager.wait([rec.id], timeout=60)
    assert rec.state is JobState.FAILED
    assert "RuntimeError: <b>bad</b> input 42" in rec.error
    assert "Traceback" in rec.error
    assert (Path(rec.work_dir) / "partial-output.txt").read_text().startswith("written before")
    assert rec.summary is None


def test_concurrency_is_bounded_and_queued_jobs_are_pending(cw_home):
    from crystalwidgets import JobManager
    from crystalwidgets.profiles import LocalProfile, ProfileStore

    ProfileStore().save(LocalProfile(name="two", max_workers=2))
    with JobManager() as mgr:
        recs = [mgr.submit(bulk("Cu"), jobfuncs.sleeping_job, "two", seconds=2) for _ in range(4)]
        wait_until(
            lambda: [mgr.get(r.id).state for r in recs].count(JobState.RUNNING) == 2, 10, "two running"
        )
        states = [mgr.get(r.id).state for r in recs]
        assert states.count(JobState.RUNNING) == 2 and states.count(JobState.PENDING) == 2
        done = mgr.wait([r.id for r in recs], timeout=60)
    assert all(r.state is JobState.COMPLETED for r in done)
    # each queued job started only when a slot was freed: the first queued after the first of
    # the running two finished, the second after the second (never three at once)
    ran = sorted(r.finished for r, s in zip(done, states) if s is JobState.RUNNING)
    queued = sorted(r.started for r, s in zip(done, states) if s is JobState.PENDING)
    assert all(start >= end - 0.5 for start, end in zip(queued, ran)), (queued, ran)


def test_job_processes_share_the_cores_for_blas_threads(cw_home, monkeypatch):
    """Two jobs side by side must not each start a BLAS thread per core (they spin against
    each other: 20x slower EMT relaxations here); a variable the user set wins."""
    from crystalwidgets import JobManager
    from crystalwidgets._procs import THREAD_VARS
    from crystalwidgets.profiles import LocalProfile, ProfileStore

    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    ProfileStore().save(LocalProfile(name="two", max_workers=2))
    share = str(max(1, (os.cpu_count() or 1) // 2))
    with JobManager() as mgr:
        (rec,) = mgr.wait([mgr.submit(bulk("Cu"), jobfuncs.thread_limits_job, "two").id], timeout=60)
        assert rec.state is JobState.COMPLETED, rec.error
        seen = mgr.result(rec.id)
    assert seen["env"] == {var: "3" if var == "MKL_NUM_THREADS" else share for var in THREAD_VARS}
    if share == "1":  # OpenBLAS took it: no thread pool beside the main thread
        assert seen["threads"] == 1, seen


def test_events_flow_when_the_registered_loop_never_runs(cw_home):
    """Playwright's sync API (or a cell busy for minutes) leaves a loop that runs no callbacks:
    the manager's own thread must apply the job's events anyway."""
    import asyncio

    from crystalwidgets import JobManager

    loop = asyncio.new_event_loop()
    asyncio.events._set_running_loop(loop)  # what such a loop looks like from this thread
    try:
        mgr = JobManager(monitor_interval=0.5)
        assert mgr._pump.loop is loop
        seen = states_seen(mgr)
        rec = mgr.submit(bulk("Cu"), "emt.static_job")
        wait_until(lambda: mgr.get(rec.id).state.is_terminal, 60, "the job's events to be applied")
        assert mgr.get(rec.id).state is JobState.COMPLETED
        assert seen[rec.id] == ["pending", "running", "completed"]
        mgr.close()
    finally:
        asyncio.events._set_running_loop(None)
        loop.close()


def test_submit_many_runs_a_sweep_with_each_jobs_own_parameters(manager, tmp_path):
    from quacc.recipes.emt.core import relax_job

    cu = bulk("Cu")
    seen = states_seen(manager)
    fmaxes = (0.1, 0.01)
    recs = manager.submit_many(
        [(cu, {"opt_params": {"fmax": f}}) for f in fmaxes] + [bulk("Al"), bulk("Ni")],
        "emt.relax_job",
        label="sweep",
        relax_cell=True,
    )
    assert [r.formula for r in recs] == ["Cu", "Cu", "Al", "Ni"]
    assert [r.params.get("opt_params") for r in recs] == [{"fmax": 0.1}, {"fmax": 0.01}, None, None]
    assert all(r.params["relax_cell"] is True and r.label == "sweep" for r in recs)
    done = manager.wait([r.id for r in recs], timeout=180)
    for rec in done:
        assert rec.state is JobState.COMPLETED, rec.error
        assert seen[rec.id] == ["pending", "running", "completed"]
    loose, tight = done[:2]
    direct = _direct_summary(tmp_path, relax_job, cu, relax_cell=True, opt_params={"fmax": 0.01})
    assert summary_core(tight.summary) == summary_core(direct)
    assert loose.summary["max_force_ev_ang"] < 0.1 and tight.summary["max_force_ev_ang"] < 0.01
    # one structure stored once for the two Cu jobs
    assert recs[0].structure_hash == recs[1].structure_hash
    assert len(manager.structure(recs[1].id)) == 1


def test_submit_many_with_one_bad_job_records_nothing(manager):
    before = set(Path(manager.results_dir).iterdir())
    with pytest.raises(CrystalWidgetsError, match=r"(?s)job 2 of 3: .*fmax"):
        manager.submit_many(
            [(bulk("Cu"), {}), (bulk("Al"), {"opt_params": {"fmax": "abc"}}), (bulk("Ni"), {})],
            "emt.relax_job",
        )
    assert manager.jobs() == [] and manager.store.count() == 0
    assert set(Path(manager.results_dir).iterdir()) == before


def test_a_job_id_never_reads_as_a_number(monkeypatch):
    """About 1 in 470 random 16-hex-digit ids are all digits, or digits around one 'e': ASE's
    extxyz reader and pandas read them back as numbers (CI: an export test got
    np.int64(4227772983924005) for its job_id). Such draws are drawn again."""
    import uuid

    from crystalwidgets.jobs.manager import new_job_id

    draws = iter(["4227772983924005" + "0" * 16, "0123e45678901234" + "0" * 16, "0123456789abcdef" + "0" * 16])
    with monkeypatch.context() as m:
        m.setattr(uuid, "uuid4", lambda: uuid.UUID(next(draws)))
        assert new_job_id() == "0123456789abcdef"
    ids = [new_job_id() for _ in range(5000)]
    assert len(set(ids)) == 5000 and all(len(i) == 16 for i in ids)
    for job_id in ids:
        with pytest.raises(ValueError):
            float(job_id)
