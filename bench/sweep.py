"""P5: a sweep of 10,000 structures submitted from the App, on the local runner.

What a user does: 10,000 structures (Cu cells, each a little different) loaded into the
App (``App(mgr, structure=[...])``: read and checked once, timed apart), one recipe (EMT
``static_job``), "Submit sweep" on a ``local`` profile of one worker (jobs
start running meanwhile, as they would). Measured in a fresh interpreter through the App's
own sweep loop: the time until every job is recorded, and how long the kernel's thread is
held at a stretch (each batch, between which the kernel's loop runs: cells, widgets).
Target (issue 10): recorded <= 5 s. The longest stretch is measured; batches are sized to
take about 50 ms each (``_SWEEP_SLICE_S`` in ``crystalwidgets/widgets/_app.py``).

Alone: ``python -m bench.sweep [--quick]`` (``--quick``: 2,000 structures).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

from bench._common import Figure

NAME = "sweep"
N, N_QUICK = 10_000, 2_000

KERNEL = """
import json, os, sys, tempfile, time
os.environ["CRYSTALWIDGETS_HOME"] = tempfile.mkdtemp(prefix="cw-bench-sweep-")
os.environ["CRYSTALWIDGETS_CONFIG"] = tempfile.mkdtemp(prefix="cw-bench-sweep-config-")
from ase.build import bulk
from crystalwidgets import JobManager
from crystalwidgets.profiles import LocalProfile, ProfileStore
from crystalwidgets.widgets import App

n = int(sys.argv[1])
ProfileStore().save(LocalProfile(name="one", max_workers=1))
mgr = JobManager()
base = bulk("Cu", cubic=True)
structures = []
for i in range(n):
    atoms = base.copy()
    atoms.positions[0, 0] += i * 1e-5
    structures.append(atoms)
t = time.perf_counter()
app = App(mgr, structure=structures, recipe="emt.static_job", profile="one")  # loaded, checked
load_s = time.perf_counter() - t
t0 = time.perf_counter()
jobs = app.sweep_jobs()
recs, stretches = [], []
last = time.perf_counter()
for _ in app._sweep(jobs, recs):  # what the App's asyncio task runs, yielding between batches
    now = time.perf_counter()
    stretches.append(now - last)
    last = now
total = time.perf_counter() - t0
recorded = len(mgr.store.records(states=["pending", "running", "completed"]))
for rec in mgr.jobs(state=["pending", "running"]):
    try:
        mgr.cancel(rec.id)
    except Exception:
        pass
mgr.close()
stretches.sort()
print(json.dumps({"load_s": load_s, "total_s": total, "n": len(recs), "recorded": recorded, "batches": len(stretches),
                  "max_ms": stretches[-1] * 1000, "median_ms": stretches[len(stretches) // 2] * 1000,
                  "p95_ms": stretches[int(0.95 * (len(stretches) - 1))] * 1000}))
"""


def run(quick: bool = False) -> Iterator[Figure]:
    n = N_QUICK if quick else N
    out = subprocess.run([sys.executable, "-c", KERNEL, str(n)], capture_output=True, text=True,
                         timeout=900, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["n"] == n and r["recorded"] >= n, r
    yield Figure("P5.sweep.recorded", f"App sweep of {n:,} structures: all recorded", r["total_s"], "s",
                 shown=f"{r['total_s']:.2f} s ({r['total_s'] / n * 1000:.2f} ms/job, {r['batches']} batches)")
    yield Figure("P5.sweep.load", f"... loading the {n:,} structures into the App first", r["load_s"], "s")
    yield Figure("P5.sweep.stretch", "... kernel's thread held at a stretch (one batch)", r["max_ms"], "ms",
                 shown=f"max {r['max_ms']:.0f} ms, p95 {r['p95_ms']:.0f}, median {r['median_ms']:.0f}")


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main([NAME, *sys.argv[1:]]))
