"""P5: job store insert rate and reload of 100,000 records.

Targets: insert, one transaction per job (as ``submit`` does), >= 5,000 jobs/s; reload of
the 100,000 (+ the single inserts) records <= 1 s. Baseline in the same run: raw sqlite3
fetching the same rows without building records. Also: one transaction per batch, and
``JobManager()`` opening that store (reload + recovery scan).

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

        t = time.perf_counter()
        mgr = JobManager(home=tmp)
        manager_open_s = time.perf_counter() - t
        mgr.close()
        yield Figure("P5.manager_open", "JobManager() on that store (reload + recovery)", manager_open_s, "s")


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main([NAME, *sys.argv[1:]]))
