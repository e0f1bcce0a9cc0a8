"""P1: overhead of crystalwidgets on Parsl, memory over 10,000 jobs, and latencies on Slurm.

1. ``parsl-threads``: the cheapest real recipe (quacc's EMT ``static_job`` on Cu), N_STATIC
   jobs through JobManager (one ``submit_many``, as a sweep; submit to all done, wall time)
   vs the same recipe as raw Parsl ``python_app`` calls on the same kind of DataFlowKernel,
   in the same run. Target ratio <= 1.10. Beside it: N_RELAX EMT ``relax_job`` (the
   quickstart's job: Cu strained 3 %, cell relaxed, ~20 steps) and N_NOOP no-op jobs, which
   show the fixed cost per job; for no-ops also raw apps running the job body on prepared
   work dirs (the durable files alone) and one ``submit`` per job.
2. ``parsl-local`` (HTEX, 2 workers): the same three comparisons.
3. Memory over 10,000 no-op jobs on ``parsl-threads`` (RSS after each 1,000): flat, and no
   job or Parsl task held at the end.
4. ``parsl-slurm`` (when ``sinfo`` answers; else SKIPPED): submit to running of the first
   job (cold: block start) and of later ones (warm block), and completion to table (the
   job's outcome stamp to the subscriber's terminal event).

Each comparison runs ROUNDS paired rounds, JobManager and raw Parsl side by side, the order
reversed every other round; the figure is the median of the rounds' ratios (this VM's speed
drifts by 20 % within seconds, so only neighbours are compared). Within one profile the raw
DataFlowKernel and the JobManager stay open across rounds (started and warmed once each;
both idle while the other runs): starting HTEX workers per measurement cost more than the
measurements.

Alone: ``python -m bench.parsl_overhead [--quick]``.
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
from collections.abc import Callable, Iterator
from pathlib import Path

from bench import trivial  # the job functions (HTEX workers import them by name)
from bench._common import Figure, percentile, runner_holds, save_profile, skipped

NAME = "parsl"
FULL = {"noop": 500, "static": 100, "relax": 12, "rounds": 5, "memory": 10_000, "slurm": 6}
SLURM_COLD_S, SLURM_WARM_S = 120, 60  # a block starts in ~4 s here; then jobs take ~10 ms
SLURM_FIGURES = (("P1.slurm.cold", "parsl-slurm: submit -> running, first job"),
                 ("P1.slurm.warm", "parsl-slurm: submit -> running, warm block"),
                 ("P1.slurm.table", "parsl-slurm: completion -> table"))
QUICK = {"noop": 200, "static": 40, "relax": 6, "rounds": 3, "memory": 3_000, "slurm": 3}


def fresh_home() -> Path:
    """A new data and config dir (raw runs write under it too); remove it when done."""
    home = Path(tempfile.mkdtemp(prefix="cw-bench-parsl-"))
    os.environ["CRYSTALWIDGETS_HOME"] = str(home / "home")
    os.environ["CRYSTALWIDGETS_CONFIG"] = str(home / "config")
    return home


class Raw:
    """Raw Parsl ``python_app`` calls on one DataFlowKernel of ``profile``'s kind."""

    def __init__(self, profile, base: Path) -> None:
        from parsl import python_app
        from parsl.dataflow.dflow import DataFlowKernel

        from bench._common import task

        self.task = task
        self.tmp = Path(tempfile.mkdtemp(prefix="cw-bench-raw-", dir=base))
        self.dfk = DataFlowKernel(profile.to_parsl_config(self.tmp / "runinfo", "raw"))
        self.apps = {
            "noop": python_app(trivial.noop_job, data_flow_kernel=self.dfk, executors=["raw"]),
            "emt": python_app(trivial.emt, data_flow_kernel=self.dfk, executors=["raw"]),
            "body": python_app(task.run, data_flow_kernel=self.dfk, executors=["raw"]),
        }
        self.batches = 0

    def args(self, what: str, n: int, atoms) -> tuple[str, list[tuple]]:
        if what == "body":  # the crystalwidgets job body on work dirs prepared beforehand
            self.batches += 1
            dirs = []
            for i in range(n):
                wd = self.tmp / f"body{self.batches}" / f"job{i}"
                self.task.write_input(wd, self.task.encode_input(trivial.noop_job, atoms, {}))
                dirs.append(str(wd))
            return "body", [(d,) for d in dirs]
        if what == "noop":
            return "noop", [(atoms,)] * n
        return "emt", [(atoms, str(self.tmp / "results"), what)] * n  # a quacc recipe's name

    def warm(self, atoms, strained, relax: dict) -> None:
        self.time("noop", 1, atoms)
        self.time("body", 1, atoms)
        self.time("static_job", 1, atoms)
        self.time("relax_job", 1, strained, **relax)

    def time(self, what: str, n: int, atoms, **kwargs) -> float:
        """Wall time of ``n`` calls, all submitted then all awaited."""
        app, args = self.args(what, n, atoms)
        os.sync()  # earlier runs' files on disk: their writeback does not land in this timing
        t0 = time.perf_counter()
        futs = [self.apps[app](*a, **kwargs) for a in args]
        for f in futs:
            f.result(timeout=600)
        return time.perf_counter() - t0

    def close(self) -> None:
        self.dfk.cleanup()


class Managed:
    """The same jobs through one JobManager on the saved profile ``name``."""

    def __init__(self, name: str) -> None:
        from crystalwidgets import JobManager

        self.name = name
        self.mgr = JobManager(monitor_interval=5.0)

    def warm(self, atoms, strained, relax: dict) -> None:
        self.time(1, atoms, trivial.noop_job)
        self.time(1, atoms, "emt.static_job")
        self.time(1, strained, "emt.relax_job", **relax)

    def time(self, n: int, atoms, recipe, batch: bool = True, **kwargs) -> float:
        """Wall time of ``n`` jobs: first submit to last terminal record. ``batch``: one
        ``submit_many`` (what a sweep does), else ``n`` calls of ``submit``."""
        mgr = self.mgr
        os.sync()
        t0 = time.perf_counter()
        if batch:
            ids = [r.id for r in mgr.submit_many([atoms] * n, recipe, self.name, **kwargs)]
        else:
            ids = [mgr.submit(atoms, recipe, self.name, **kwargs).id for _ in range(n)]
        recs = mgr.wait(ids, timeout=1200)
        took = time.perf_counter() - t0
        bad = [r for r in recs if r.state.value != "completed"]
        assert not bad, f"{len(bad)} of {n} jobs did not complete: {bad[0].state.value} {bad[0].error}"
        return took

    def close(self) -> None:
        self.mgr.close()


def overhead(key: str, label: str, profile, size: dict, atoms, extras: bool) -> Iterator[Figure]:
    """The paired comparisons on one profile; ``extras``: also raw apps running the job body
    and one ``submit`` per job (no-ops)."""
    n, n_static, n_relax, rounds = size["noop"], size["static"], size["relax"], size["rounds"]
    strained = atoms.copy()
    strained.set_cell(atoms.cell * 1.03, scale_atoms=True)  # the quickstart's job: ~20 steps
    relax = {"relax_cell": True}
    home = fresh_home()
    runs: dict[str, list[float]] = {}
    raw = managed = None
    try:
        save_profile(profile)
        t0 = time.perf_counter()
        raw = Raw(profile, home)
        raw.warm(atoms, strained, relax)
        managed = Managed(profile.name)
        managed.warm(atoms, strained, relax)
        print(f"{label}: raw DataFlowKernel and JobManager started and warm in {time.perf_counter() - t0:.1f} s",
              flush=True)
        measures: dict[str, Callable[[], float]] = {
            "static_raw": lambda: raw.time("static_job", n_static, atoms),
            "static_ours": lambda: managed.time(n_static, atoms, "emt.static_job"),
            "relax_raw": lambda: raw.time("relax_job", n_relax, strained, **relax),
            "relax_ours": lambda: managed.time(n_relax, strained, "emt.relax_job", **relax),
            "noop_raw": lambda: raw.time("noop", n, atoms),
            "noop_ours": lambda: managed.time(n, atoms, trivial.noop_job),
        }
        if extras:
            measures["noop_body"] = lambda: raw.time("body", n, atoms)
            measures["noop_one"] = lambda: managed.time(n, atoms, trivial.noop_job, batch=False)
        for r in range(rounds):
            for name in list(measures)[:: 1 if r % 2 == 0 else -1]:
                runs.setdefault(name, []).append(measures[name]())
    finally:
        for session in (managed, raw):
            if session is not None:
                session.close()
        shutil.rmtree(home, ignore_errors=True)

    med = {name: statistics.median(times) for name, times in runs.items()}

    def ms(name: str, jobs: int) -> float:
        return med[name] / jobs * 1000

    def ratio(ours: str, base: str) -> tuple[float, str]:
        each = sorted(a / b for a, b in zip(runs[ours], runs[base]))
        return statistics.median(each), f"rounds {each[0]:.2f}-{each[-1]:.2f}"

    for what, jobs, desc in (("static", n_static, "EMT static_job"), ("relax", n_relax, "EMT relax_job"),
                             ("noop", n, "no-op")):
        value, spread = ratio(f"{what}_ours", f"{what}_raw")
        print(f"{label}, {jobs} {desc} jobs, median of {rounds} rounds: raw python_app "
              f"{ms(what + '_raw', jobs):.2f} ms/job, JobManager submit_many {ms(what + '_ours', jobs):.2f} ms/job; "
              f"ratio {value:.2f} ({spread})", flush=True)
        yield Figure(f"P1.{key}.{what}.ratio", f"{label}: {jobs} {desc}, JobManager / raw app", value, "x",
                     shown=f"{value:.2f}x ({spread})",
                     extra={"ours_ms": ms(what + "_ours", jobs), "raw_ms": ms(what + "_raw", jobs)})
    fixed = ms("noop_ours", n) - ms("noop_raw", n)
    yield Figure(f"P1.{key}.noop.fixed", f"{label}: fixed cost per job over the raw app", fixed, "ms",
                 shown=f"{fixed:.2f} ms ({ms('noop_ours', n):.2f} vs {ms('noop_raw', n):.2f})")
    if extras:
        body = ms("noop_body", n) - ms("noop_raw", n)
        yield Figure(f"P1.{key}.noop.body", f"{label}: of which the job body's files", body, "ms")
        yield Figure(f"P1.{key}.noop.one_submit", f"{label}: no-op, one submit per job", ms("noop_one", n),
                     "ms/job", shown=f"{ms('noop_one', n):.2f} ms/job ({ratio('noop_one', 'noop_raw')[0]:.2f}x raw)")


def memory(atoms, n_jobs: int) -> Iterator[Figure]:
    from bench._common import ParslThreadsProfile
    from crystalwidgets import JobManager

    home = fresh_home()
    try:
        save_profile(ParslThreadsProfile(name="threads"))
        me = psutil_process()
        rss = []
        with JobManager(monitor_interval=5.0) as mgr:
            for _ in range(n_jobs // 1000):
                ids = [r.id for r in mgr.submit_many([atoms] * 1000, trivial.noop_job, "threads")]
                mgr.wait(ids, timeout=1200)
                gc.collect()
                rss.append(me.memory_info().rss / 2**20)
            held = runner_holds(mgr, "threads")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    growth = (rss[-1] - rss[1]) / (len(rss) - 2) if len(rss) > 2 else float("nan")
    print(f"memory over {n_jobs:,} jobs on parsl-threads: RSS MiB after each 1,000: "
          f"{', '.join(f'{r:.0f}' for r in rss)}", flush=True)
    yield Figure("P1.memory.growth", f"RSS growth over {n_jobs:,} no-op jobs, after 2,000", growth,
                 "MiB/1,000", shown=f"{growth:.1f} MiB per 1,000 ({rss[-1]:.0f} MiB at the end)")
    yield Figure("P1.memory.held", "jobs + Parsl tasks still held at the end", sum(held),
                 shown=f"{held[0]} + {held[1]}")


def psutil_process():
    import psutil

    return psutil.Process()


def slurm_answers() -> str | None:
    """Why Slurm cannot be used here, or None when ``sinfo`` answers."""
    if shutil.which("sinfo") is None:
        return "no sinfo on PATH (no local Slurm)"
    try:
        done = subprocess.run(["sinfo"], capture_output=True, text=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 20 s"
    if done.returncode:
        last = ((done.stderr or done.stdout).strip().splitlines() or ["no output"])[-1][:120]
        return f"sinfo failed: {last}; start ../shared/slurm/start-slurm.sh"
    return None


def slurm_latencies(atoms, n: int) -> Iterator[Figure]:
    why = slurm_answers()
    if why is not None:
        for key, what in SLURM_FIGURES:
            yield skipped(key, what, why)
        return
    from bench._common import ParslSlurmProfile
    from crystalwidgets import JobManager

    home = fresh_home()
    running_at: dict[str, float] = {}
    table_at: dict[str, float] = {}

    def on_change(changes):
        now = time.time()
        for job_id, fields in changes.items():
            if fields.get("state") == "running":
                running_at[job_id] = now
            elif fields.get("state") in ("completed", "failed"):
                table_at[job_id] = now

    try:
        save_profile(ParslSlurmProfile(name="slurm", partition="debug", walltime="00:10:00",
                                       max_workers_per_node=1, address="127.0.0.1"))
        cold, warm, done, untold, stopped = [], [], [], 0, None
        with JobManager(monitor_interval=5.0) as mgr:
            mgr.subscribe(on_change)
            for i in range(n + 1):
                job = mgr.submit(atoms, trivial.noop_job, "slurm")
                try:
                    (rec,) = mgr.wait([job.id], timeout=SLURM_COLD_S if i == 0 else SLURM_WARM_S)
                except TimeoutError:
                    why = slurm_answers()
                    if why is None:
                        raise  # Slurm answers, yet the job did not run: a real failure
                    stopped = f"Slurm stopped answering during the bench: {why}"
                    break
                assert rec.state.value == "completed", rec.error
                time.sleep(0.05)
                if job.id in running_at:
                    (cold if i == 0 else warm).append(running_at[job.id] - rec.created)
                else:
                    untold += 1  # the job completed without its running being told
                done.append((table_at[job.id] - rec.finished) * 1000)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if stopped is not None and not done:
        for key, what in SLURM_FIGURES:
            yield skipped(key, what, stopped)
        return
    if stopped is not None:
        print(f"parsl-slurm: only {len(done)} of {n + 1} jobs: {stopped}")
    if cold:
        yield Figure("P1.slurm.cold", "parsl-slurm: submit -> running, first job (block start)", cold[0], "s")
    else:
        yield skipped("P1.slurm.cold", "parsl-slurm: submit -> running, first job", "its running was not told")
    if warm:
        yield Figure("P1.slurm.warm", f"parsl-slurm: submit -> running, warm block ({len(warm)})",
                     statistics.median(warm) * 1000, "ms",
                     shown=f"{statistics.median(warm) * 1000:.0f} ms (max {max(warm) * 1000:.0f})")
    yield Figure("P1.slurm.untold", f"parsl-slurm: jobs completed with no running told ({len(done)})", untold)
    yield Figure("P1.slurm.table", f"parsl-slurm: completion -> table, median ({len(done)})",
                 statistics.median(done), "ms",
                 shown=f"{statistics.median(done):.0f} ms (p99 {percentile(done, 99):.0f})")


def run(quick: bool = False) -> Iterator[Figure]:
    from ase.build import bulk

    from bench._common import ParslLocalProfile, ParslThreadsProfile

    size = QUICK if quick else FULL
    atoms = bulk("Cu")
    yield from overhead("threads", "parsl-threads", ParslThreadsProfile(name="threads"), size, atoms, extras=True)
    yield from overhead("local", "parsl-local", ParslLocalProfile(name="htex", max_workers_per_node=2), size, atoms,
                        extras=False)
    yield from memory(atoms, size["memory"])
    yield from slurm_latencies(atoms, size["slurm"])


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main([NAME, *sys.argv[1:]]))
