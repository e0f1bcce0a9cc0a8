"""P1b: overhead of crystalwidgets on Dask, and completion -> table on Dask.

1. ``dask-local`` (a LocalCluster of 2 worker processes, one thread each): N_STATIC quacc EMT
   ``static_job`` on Cu through JobManager (one ``submit_many``, as a sweep; submit to all
   done, wall time) vs the same recipe as raw ``client.map`` futures on a LocalCluster of
   the same shape, in the same run; target ratio <= 1.10. Beside it N_NOOP no-op jobs, which
   show the fixed cost per job.
2. Completion -> table: the job's outcome stamp (written by the job body when it ends) to
   the subscriber's terminal event, per job of the static runs.

As in P1, ROUNDS paired rounds, the order reversed every other round; the figure is the
median of the rounds' ratios. Both clusters stay up across rounds (started and warmed
once; each idle while the other runs).

Alone: ``python -m bench.dask_overhead [--quick]``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench import trivial
from bench._common import Figure, percentile, save_profile, skipped
from bench.parsl_overhead import Managed, fresh_home

NAME = "dask"
FULL = {"noop": 400, "static": 200, "rounds": 5}
QUICK = {"noop": 100, "static": 60, "rounds": 3}
WORKERS = 2


class Raw:
    """Raw Dask futures on a LocalCluster shaped like the ``dask-local`` profile's."""

    def __init__(self, base: Path) -> None:
        import logging

        from distributed import Client, LocalCluster

        self.results = base / "raw-results"
        self.results.mkdir(parents=True, exist_ok=True)
        self.cluster = LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True, host="127.0.0.1",
                                    dashboard_address=None, silence_logs=logging.ERROR,
                                    env={v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")})
        self.client = Client(self.cluster, set_as_default=False)

    def time(self, what: str, n: int, atoms) -> float:
        os.sync()
        t0 = time.perf_counter()
        if what == "noop":
            futs = self.client.map(trivial.noop_job, [atoms] * n, pure=False)
        else:
            futs = self.client.map(trivial.emt, [atoms] * n, [str(self.results)] * n, [what] * n, pure=False)
        self.client.gather(futs)
        return time.perf_counter() - t0

    def close(self) -> None:
        self.client.close()
        self.cluster.close()


def run(quick: bool = False) -> Iterator[Figure]:
    from ase.build import bulk

    try:
        import distributed  # noqa: F401
    except ImportError:
        yield skipped("P1b.local.static.ratio", "dask-local: EMT static, JobManager / raw futures",
                      "dask is not installed (pip install 'crystalwidgets[dask]')")
        return
    from crystalwidgets.runners.dask.profiles import DaskLocalProfile

    size = QUICK if quick else FULL
    n, n_static, rounds = size["noop"], size["static"], size["rounds"]
    atoms = bulk("Cu")
    home = fresh_home()
    runs: dict[str, list[float]] = {}
    lag: list[float] = []
    raw = managed = None
    try:
        save_profile(DaskLocalProfile(name="dl", n_workers=WORKERS))
        t0 = time.perf_counter()
        raw = Raw(home)
        raw.time("noop", 4, atoms)
        raw.time("static_job", 4, atoms)
        managed = Managed("dl")
        told: dict[str, float] = {}
        managed.mgr.subscribe(lambda ch: told.update(
            {j: time.time() for j, f in ch.items() if f.get("state") in ("completed", "failed")}))
        managed.time(4, atoms, trivial.noop_job)
        managed.time(4, atoms, "emt.static_job")
        print(f"dask-local: raw LocalCluster and JobManager started and warm in {time.perf_counter() - t0:.1f} s",
              flush=True)
        measures: dict[str, Callable[[], float]] = {
            "static_raw": lambda: raw.time("static_job", n_static, atoms),
            "static_ours": lambda: managed.time(n_static, atoms, "emt.static_job"),
            "noop_raw": lambda: raw.time("noop", n, atoms),
            "noop_ours": lambda: managed.time(n, atoms, trivial.noop_job),
        }
        for r in range(rounds):
            for name in list(measures)[:: 1 if r % 2 == 0 else -1]:
                runs.setdefault(name, []).append(measures[name]())
        time.sleep(0.2)
        for rec in managed.mgr.jobs(recipe="emt.static_job"):
            if rec.id in told and rec.finished:
                lag.append((told[rec.id] - rec.finished) * 1000)
    finally:
        for session in (managed, raw):
            if session is not None:
                session.close()
        shutil.rmtree(home, ignore_errors=True)

    med = {name: statistics.median(times) for name, times in runs.items()}

    def ms(name: str, jobs: int) -> float:
        return med[name] / jobs * 1000

    for what, jobs, desc in (("static", n_static, "EMT static_job"), ("noop", n, "no-op")):
        each = sorted(a / b for a, b in zip(runs[f"{what}_ours"], runs[f"{what}_raw"]))
        value = statistics.median(each)
        print(f"dask-local, {jobs} {desc} jobs, median of {rounds} rounds: raw futures "
              f"{ms(what + '_raw', jobs):.2f} ms/job, JobManager submit_many {ms(what + '_ours', jobs):.2f} ms/job; "
              f"ratio {value:.2f} (rounds {each[0]:.2f}-{each[-1]:.2f})", flush=True)
        yield Figure(f"P1b.local.{what}.ratio", f"dask-local: {jobs} {desc}, JobManager / raw futures", value, "x",
                     shown=f"{value:.2f}x (rounds {each[0]:.2f}-{each[-1]:.2f})",
                     extra={"ours_ms": ms(what + "_ours", jobs), "raw_ms": ms(what + "_raw", jobs)})
    fixed = ms("noop_ours", n) - ms("noop_raw", n)
    yield Figure("P1b.local.noop.fixed", "dask-local: fixed cost per job over a raw future", fixed, "ms",
                 shown=f"{fixed:.2f} ms ({ms('noop_ours', n):.2f} vs {ms('noop_raw', n):.2f})")
    if lag:
        yield Figure("P1b.local.table", f"dask-local: completion -> table, median ({len(lag)})",
                     statistics.median(lag), "ms",
                     shown=f"{statistics.median(lag):.0f} ms (p99 {percentile(lag, 99):.0f})")


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main([NAME, *sys.argv[1:]]))
