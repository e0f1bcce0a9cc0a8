"""P1: overhead of crystalwidgets on Parsl, and latencies on the local Slurm.

1. ``parsl-threads``: N trivial jobs through JobManager (submit to all done, wall
   time) vs the same function as raw Parsl ``python_app`` calls on the same kind
   of DataFlowKernel, in the same run. Target ratio <= 1.10. A second baseline,
   raw apps running the job body (``_task.run`` on prepared work dirs), splits
   the overhead into "the job body's durable files" and "manager + runner".
2. ``parsl-local`` (HTEX, 2 workers): the same comparison (warm workers).
3. Memory over 10,000 jobs on ``parsl-threads`` (RSS after each 1,000).
4. ``parsl-slurm`` (when a Slurm answers): submit-to-running of the first job
   (cold: block start) and of later ones (warm block), and completion-to-table
   (the job's outcome stamp to the subscriber's terminal event).

Run: ``.venv/bin/python bench/bench_parsl.py [N]`` (N default 1000).
"""

from __future__ import annotations

import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from _common import machine, percentile

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["PYTHONPATH"] = os.pathsep.join(  # HTEX workers import the trivial function by name
    [str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH", "")]
).rstrip(os.pathsep)
import trivial  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
N_MEMORY = 10_000


def fresh_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="cw-bench-parsl-"))
    os.environ["CRYSTALWIDGETS_HOME"] = str(home / "home")
    os.environ["CRYSTALWIDGETS_CONFIG"] = str(home / "config")
    return home


def raw_parsl(profile, n: int, atoms, body: bool = False) -> float:
    """Wall time of ``n`` raw python_app calls (the trivial function, or the job body)."""
    from parsl import python_app
    from parsl.dataflow.dflow import DataFlowKernel

    from crystalwidgets import _task

    tmp = Path(tempfile.mkdtemp(prefix="cw-bench-raw-"))
    dfk = DataFlowKernel(profile.to_parsl_config(tmp / "runinfo", "raw"))
    try:
        if body:
            dirs = []
            for i in range(n):
                wd = tmp / f"job{i}"
                _task.write_input(wd, trivial.noop_job, atoms, {})
                dirs.append(str(wd))
            app = python_app(_task.run, data_flow_kernel=dfk, executors=["raw"])
            args = [(d,) for d in dirs]
        else:
            app = python_app(trivial.noop_job, data_flow_kernel=dfk, executors=["raw"])
            args = [(atoms,)] * n
        app(*args[0]).result(timeout=120)  # warm: workers up, imports done
        t0 = time.perf_counter()
        futs = [app(*a) for a in args]
        for f in futs:
            f.result(timeout=600)
        return time.perf_counter() - t0
    finally:
        dfk.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def through_manager(profile_name: str, n: int, atoms) -> float:
    """Wall time of ``n`` jobs through JobManager: first submit to last terminal record."""
    from crystalwidgets import JobManager

    with JobManager(monitor_interval=5.0) as mgr:
        first = mgr.submit(atoms, trivial.noop_job, profile_name)  # warm: engine, workers
        mgr.wait([first.id], timeout=120)
        t0 = time.perf_counter()
        ids = [mgr.submit(atoms, trivial.noop_job, profile_name).id for _ in range(n)]
        recs = mgr.wait(ids, timeout=1200)
        took = time.perf_counter() - t0
        bad = [r for r in recs if r.state.value != "completed"]
        assert not bad, bad[0].error
        return took


def overhead(kind: str, profile, n: int, atoms) -> None:
    from crystalwidgets._profiles import ProfileStore

    home = fresh_home()
    try:
        ProfileStore().save(profile)
        raw = raw_parsl(profile, n, atoms)
        raw_body = raw_parsl(profile, n, atoms, body=True)
        ours = through_manager(profile.name, n, atoms)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(
        f"{kind}: {n} trivial jobs, submit to all done: raw python_app {raw:.2f} s "
        f"({n / raw:.0f}/s); raw apps running the job body {raw_body:.2f} s; "
        f"JobManager {ours:.2f} s ({n / ours:.0f}/s)"
    )
    print(
        f"  ratio JobManager / raw app = {ours / raw:.2f} (target <= 1.10); "
        f"JobManager / raw job body = {ours / raw_body:.2f} "
        f"(the job body's own files cost {raw_body / raw:.2f}x the raw app)"
    )


def memory(atoms) -> None:
    from crystalwidgets import JobManager
    from crystalwidgets._hpc_profiles import ParslThreadsProfile
    from crystalwidgets._profiles import ProfileStore

    home = fresh_home()
    try:
        ProfileStore().save(ParslThreadsProfile(name="threads"))
        me = psutil.Process()
        rss = []
        with JobManager(monitor_interval=5.0) as mgr:
            for _ in range(N_MEMORY // 1000):
                ids = [mgr.submit(atoms, trivial.noop_job, "threads").id for _ in range(1000)]
                mgr.wait(ids, timeout=1200)
                gc.collect()
                rss.append(me.memory_info().rss / 2**20)
            runner = mgr.runner("threads")
            held = len(runner._jobs), len(runner._engine.dfk.tasks)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    steps = ", ".join(f"{r:.0f}" for r in rss)
    growth = (rss[-1] - rss[1]) / (len(rss) - 2) if len(rss) > 2 else float("nan")
    print(
        f"memory over {N_MEMORY} jobs on parsl-threads: RSS MiB after each 1,000: {steps}; "
        f"growth after the first 2,000: {growth:.1f} MiB per 1,000 jobs; "
        f"jobs/Parsl tasks still held at the end: {held[0]}/{held[1]}"
    )


def slurm_latencies(atoms, n: int = 10) -> None:
    if shutil.which("sinfo") is None or subprocess.run(["sinfo"], capture_output=True).returncode:
        print("parsl-slurm: skipped (no Slurm answers; start ../shared/slurm/start-slurm.sh)")
        return
    from crystalwidgets import JobManager
    from crystalwidgets._hpc_profiles import ParslSlurmProfile
    from crystalwidgets._profiles import ProfileStore

    home = fresh_home()
    try:
        ProfileStore().save(
            ParslSlurmProfile(
                name="slurm",
                partition="debug",
                walltime="00:10:00",
                max_workers_per_node=1,
                address="127.0.0.1",
            )
        )
        running_at: dict[str, float] = {}
        table_at: dict[str, float] = {}

        def on_change(changes):
            now = time.time()
            for job_id, fields in changes.items():
                if fields.get("state") == "running":
                    running_at[job_id] = now
                elif fields.get("state") in ("completed", "failed"):
                    table_at[job_id] = now

        with JobManager(monitor_interval=5.0) as mgr:
            mgr.subscribe(on_change)
            cold, warm, done = [], [], []
            for i in range(n + 1):
                job = mgr.submit(atoms, trivial.noop_job, "slurm")
                (rec,) = mgr.wait([job.id], timeout=300)
                assert rec.state.value == "completed", rec.error
                time.sleep(0.05)
                (cold if i == 0 else warm).append(running_at[job.id] - rec.created)
                done.append((table_at[job.id] - rec.finished) * 1000)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(
        f"parsl-slurm submit to running: first job (block start) {cold[0]:.2f} s; "
        f"warm block median {statistics.median(warm) * 1000:.0f} ms, max {max(warm) * 1000:.0f} ms "
        f"({len(warm)} jobs)"
    )
    print(
        f"parsl-slurm completion to table (outcome written -> subscriber event): "
        f"median {statistics.median(done):.0f} ms, p99 {percentile(done, 99):.0f} ms"
    )


def main() -> None:
    import logging

    from ase.build import bulk

    from crystalwidgets._hpc_profiles import ParslLocalProfile, ParslThreadsProfile

    logging.getLogger("parsl").propagate = False
    print(machine())
    atoms = bulk("Cu")
    overhead("parsl-threads", ParslThreadsProfile(name="threads"), N, atoms)
    overhead(
        "parsl-local (HTEX, 2 workers)",
        ParslLocalProfile(name="htex", max_workers_per_node=2),
        N,
        atoms,
    )
    memory(atoms)
    slurm_latencies(atoms)


if __name__ == "__main__":
    main()
