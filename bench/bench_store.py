"""P5: job store insert rate and reload of 100,000 records.

Targets: insert >= 5,000 jobs/s; reload of 100,000 records <= 1 s.
Baseline in the same run: raw sqlite3 executemany of the same rows.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

from _common import machine

from crystalwidgets import JobState
from crystalwidgets.jobs.store import JobRecord, JobStore

N = 100_000
N_SINGLE = 5_000


def records(n: int, prefix: str) -> list[JobRecord]:
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


def main() -> None:
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        store = JobStore(Path(tmp) / "jobs.sqlite")
        recs = records(N_SINGLE, "a")
        t = time.perf_counter()
        for r in recs:  # one transaction per job, as submit() does
            store.insert(r)
        single = N_SINGLE / (time.perf_counter() - t)

        recs = records(N, "b")
        t = time.perf_counter()
        store.insert(recs)
        batch = N / (time.perf_counter() - t)

        t = time.perf_counter()
        loaded = store.records()
        reload_s = time.perf_counter() - t
        assert len(loaded) == N + N_SINGLE

        # baseline: raw sqlite3 reading the same rows without building records
        conn = sqlite3.connect(Path(tmp) / "jobs.sqlite")
        t = time.perf_counter()
        rows = conn.execute("SELECT * FROM jobs").fetchall()
        raw_s = time.perf_counter() - t
        assert len(rows) == N + N_SINGLE

        from crystalwidgets import JobManager

        t = time.perf_counter()
        mgr = JobManager(home=tmp)
        manager_open_s = time.perf_counter() - t
        mgr.close()

    print(f"insert, one transaction per job: {single:,.0f} jobs/s (target >= 5,000)")
    print(f"insert, one transaction per batch of {N:,}: {batch:,.0f} jobs/s")
    print(f"reload of {N + N_SINGLE:,} records: {reload_s:.3f} s (target <= 1 s); "
          f"raw sqlite fetch of the same rows {raw_s:.3f} s (ratio {reload_s / raw_s:.1f}x)")
    print(f"JobManager() on that store (reload + recovery scan): {manager_open_s:.3f} s")


if __name__ == "__main__":
    main()
