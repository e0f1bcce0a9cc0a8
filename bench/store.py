"""P5: job store insert rate and reload of 100,000 records.

Targets: insert, one transaction per job (as ``submit`` does), >= 5,000 jobs/s; reload of
the 100,000 (+ the single inserts) records <= 1 s; in a fresh interpreter (as a kernel),
``JobManager()`` opening that store <= 0.5 s and the kernel's RSS with every job and the
table's snapshot in memory <= 300 MB. Baseline in the same run: raw sqlite3 fetching the
same rows without building records. Also measured: one transaction per batch, the time
until the finished jobs are in memory (they load in a thread), the JobTable snapshot.

Alone: ``python -m bench.store [--quick]``.
"""

from __future__ import annotations

import gc
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench._common import Figure

NAME = "store"
N = 100_000  # the target is stated at this size: --quick keeps it
N_SINGLE, N_SINGLE_QUICK = 5_000, 2_000


def records(n: int, prefix: str) -> list:
    from crystalwidgets import JobRecord, JobState

    now = time.time()
    return [
        JobRecord.create(
            id=f"{prefix}{i:012x}",
            recipe="emt.relax_job",
            params={"relax_cell": False, "opt_params": {"fmax": 0.01}},
            profile="local",
            runner="local",
            state=JobState.COMPLETED,
            created=now + i * 1e-6,
            formula="Cu",
            summary={"energy_ev": -0.045 - i * 1e-9, "max_force_ev_ang": 0.008, "formula": "Cu",
                     "n_atoms": 8, "converged": True, "n_steps": 12},
            work_dir=f"/tmp/results/{prefix}{i:012x}",
            engine_ref={"pid": 1000 + i, "create_time": now},
        )
        for i in range(n)
    ]


def run(quick: bool = False) -> Iterator[Figure]:
    from bench._common import JobStore
    from crystalwidgets import JobManager

    n_single = N_SINGLE_QUICK if quick else N_SINGLE
    with tempfile.TemporaryDirectory(prefix="cw-bench-store-") as tmp:
        store = JobStore(Path(tmp) / "jobs.sqlite")
        recs = records(n_single, "a")
        t = time.perf_counter()
        for r in recs:  # one transaction per job, as submit() does
            store.insert(r)
        single = n_single / (time.perf_counter() - t)
        yield Figure("P5.insert.one", f"store insert, one transaction per job ({n_single:,})", single, "jobs/s")

        recs = records(N, "b")
        t = time.perf_counter()
        store.insert(recs)
        batch = N / (time.perf_counter() - t)
        yield Figure("P5.insert.batch", f"store insert, one transaction per batch of {N:,}", batch, "jobs/s")
        del recs  # a reload happens in a fresh kernel: not beside 100,000 other live records
        gc.collect()

        t = time.perf_counter()
        loaded = store.records()
        reload_s = time.perf_counter() - t
        assert len(loaded) == N + n_single
        store.close()

        conn = sqlite3.connect(Path(tmp) / "jobs.sqlite")  # baseline: the rows, no records
        t = time.perf_counter()
        rows = conn.execute("SELECT * FROM jobs").fetchall()
        raw_s = time.perf_counter() - t
        conn.close()
        assert len(rows) == N + n_single
        yield Figure("P5.reload", f"reload of {N + n_single:,} records", reload_s, "s",
                     shown=f"{reload_s:.3f} s (raw sqlite {raw_s:.3f} s)")

        kernel = _fresh_kernel(tmp)  # as a kernel opening the store: a fresh interpreter
        yield Figure("P5.manager_open", f"JobManager() on {N + n_single:,} jobs (a fresh kernel)",
                     kernel["open_s"], "s")
        yield Figure("P5.history", "... until every job is in memory (finished ones load in a thread)",
                     kernel["history_s"], "s")
        yield Figure("P5.table_snapshot", "JobTable snapshot of every job (built in a worker thread)",
                     kernel["snapshot_s"], "s", shown=f"{kernel['snapshot_s']:.2f} s, "
                     f"{kernel['snapshot_mb']:.1f} MB of JSON")
        yield Figure("P5.kernel_rss", "kernel RSS with every job and the table's snapshot",
                     kernel["rss_mb"], "MB", shown=f"{kernel['rss_mb']:.0f} MB "
                     f"(+{kernel['rss_mb'] - kernel['rss0_mb']:.0f} over the imports)")


KERNEL = """
import json, sys, time
import psutil
from crystalwidgets import JobManager
from crystalwidgets.widgets import JobTable

rss0 = psutil.Process().memory_info().rss
t = time.perf_counter()
mgr = JobManager(home=sys.argv[1], monitor_interval=3600)
open_s = time.perf_counter() - t
mgr.jobs()  # waits for the history
history_s = time.perf_counter() - t
table = JobTable(mgr)
t = time.perf_counter()
snapshot = table._snapshot()
snapshot_s = time.perf_counter() - t
text = json.dumps(snapshot)
rss = psutil.Process().memory_info().rss
mgr.close()
print(json.dumps({"open_s": open_s, "history_s": history_s, "snapshot_s": snapshot_s,
                  "snapshot_mb": len(text) / 1e6, "rss_mb": rss / 2**20, "rss0_mb": rss0 / 2**20}))
"""


def _fresh_kernel(home: str) -> dict:
    """What a fresh interpreter opening ``home`` measures (see :data:`KERNEL`)."""
    import json
    import subprocess

    out = subprocess.run([sys.executable, "-c", KERNEL, home], capture_output=True, text=True,
                         timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main([NAME, *sys.argv[1:]]))
