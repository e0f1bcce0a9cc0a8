"""P2: the monitor's cost in the kernel (no browser).

A JobManager tracking 10,000 jobs with a JobTable bound to it; each tick, 1 % of the jobs
change (80 liveness checks and 20 completions with a summary, reported together as a
runner's poll does) and the manager drains them in one batch. Measured on the kernel's
thread: CPU per tick of the whole drain (store write, cache, subscribers, the table's
message and its JSON encoding) and the bytes the table sends. Baselines in the same run:
the same drain with no table, and the whole table resent per tick (what keeping the rows in
a synced traitlet would cost).

Targets: <= 5 ms kernel CPU per tick (median); bytes proportional to the changed rows,
checked as the spread of bytes per changed row over ticks of 10, 100 and 1,000 rows
(largest / smallest <= 1.5).

``seed_store`` and ``next_tick`` are also what the P4 notebook (``bench/table.py``) runs.

Alone: ``python -m bench.monitor [--quick]``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench._common import (
    Figure,
    ask_snapshot,
    drain,
    percentile,
    post_events,
    table_rows,
    tap_messages,
)

NAME = "monitor"
N_JOBS = 10_000
CHANGED = 100  # 1 % per tick
TICKS, TICKS_QUICK = 40, 15


def seed_store(home: Path, n: int = N_JOBS) -> list[str]:
    """``n`` jobs in a fresh store, a tenth finished and the rest running; the running ids."""
    from bench._common import JobStore, owner_id
    from crystalwidgets import JobRecord, JobState

    owner = owner_id()  # this process's manager follows them (no orphan recovery)
    store = JobStore(Path(home) / "jobs.sqlite")
    now = time.time()
    records = []
    for i in range(n):
        finished = i % 10 == 0
        records.append(
            JobRecord.create(
                id=f"{i * 2654435761 % 2**32:08x}{i:08x}",  # distinct short ids, as uuid4 gives
                recipe=("emt.relax_job", "emt.static_job", "tblite.relax_job")[i % 3],
                params={"relax_cell": False},
                profile=("local", "cluster-a")[i % 2],
                runner="local",
                state=JobState.COMPLETED if finished else JobState.RUNNING,
                created=now - n + i,
                started=now - n + i + 1,
                formula=("Cu", "Al", "NaCl", "H2O")[i % 4],
                summary={"kind": "run", "energy_ev": -3.5 - i * 1e-4, "max_force_ev_ang": 0.01,
                         "formula": "Cu", "n_atoms": 32, "converged": True, "n_steps": 14,
                         "energies_ev": [-3.4 - k * 0.01 for k in range(15)]}
                if finished
                else None,
                work_dir=f"/scratch/results/{i:08x}",
                label=f"strain {1 + (i % 50) / 1000:.3f}",
                last_checked=now,
                owner=owner,
            )
        )
    store.insert(records)
    store.close()
    return [r.id for r in records if r.state is JobState.RUNNING]


def next_tick(running: list[str], n_changed: int) -> list:
    """What a runner's poll reports for the next ``n_changed`` running jobs: 80 % liveness
    checks (those jobs go to the back of ``running``), 20 % completions (those leave it)."""
    from crystalwidgets import JobState
    from crystalwidgets.jobs import JobEvent

    at = time.time()
    batch = running[:n_changed]
    del running[:n_changed]
    events = []
    for k, job_id in enumerate(batch):
        if k % 5 == 0:
            summary = {"kind": "run", "energy_ev": -3.7 - k * 1e-3, "max_force_ev_ang": 0.02,
                       "formula": "Cu", "n_atoms": 32, "converged": True, "n_steps": 20,
                       "energies_ev": [-3.6 - s * 0.005 for s in range(21)], "wall_time_s": 1.5}
            events.append(JobEvent(job_id, JobState.COMPLETED, {"summary": summary, "finished": at}, at=at))
        else:
            events.append(JobEvent(job_id, fields={"last_checked": at}, at=at))
            running.append(job_id)
    return events


class Wire:
    """Counts what the widget publishes, encoding it as the kernel's session would (JSON)."""

    def __init__(self, widget) -> None:
        self.bytes = 0
        self.messages = 0

        def publish(msg_type, data=None, metadata=None, buffers=None, **keys):
            self.bytes += len(json.dumps(data, separators=(",", ":")).encode())
            self.messages += 1

        tap_messages(widget, publish)


def run_ticks(mgr, running: list[str], n_changed: int, ticks: int) -> list[float]:
    """Kernel-thread CPU (ms) of each tick's drain."""
    cpu = []
    for _ in range(ticks):
        post_events(mgr, next_tick(running, n_changed))  # one poll's reports, drained together
        start = time.thread_time()
        drain(mgr)
        cpu.append((time.thread_time() - start) * 1000)
    return cpu


async def measure(ticks: int) -> dict:
    from crystalwidgets import JobManager
    from crystalwidgets.widgets import JobTable

    with tempfile.TemporaryDirectory(prefix="cw-bench-p2-") as tmp:
        home = Path(tmp)
        running = seed_store(home)
        mgr = JobManager(home=home, monitor_interval=3600)  # no monitor poll during the bench
        try:
            bare = run_ticks(mgr, running, CHANGED, ticks)  # baseline 1: the manager alone

            table = JobTable(mgr)
            wire = Wire(table)
            t = time.perf_counter()
            ask_snapshot(table)
            snapshot_ms = (time.perf_counter() - t) * 1000
            snapshot_bytes, wire.bytes, wire.messages = wire.bytes, 0, 0

            with_table = run_ticks(mgr, running, CHANGED, ticks)
            tick_bytes = wire.bytes / ticks
            tick_messages = wire.messages / ticks

            scaling = []
            for n in (10, 100, 1000):
                wire.bytes = wire.messages = 0
                cpu = run_ticks(mgr, running, n, 3)
                scaling.append((n, wire.bytes / 3, statistics.median(cpu)))

            whole = []  # baseline 2: the whole table encoded and sent on every tick
            for _ in range(5):
                start = time.thread_time()
                encoded = json.dumps({"method": "update", "state": {"rows": table_rows(table)}},
                                     separators=(",", ":"))
                whole.append((time.thread_time() - start) * 1000)
            table.close()
        finally:
            mgr.close()
    return {"bare": bare, "with_table": with_table, "tick_bytes": tick_bytes, "tick_messages": tick_messages,
            "scaling": scaling, "whole": whole, "whole_bytes": len(encoded.encode()),
            "snapshot_ms": snapshot_ms, "snapshot_bytes": snapshot_bytes}


def run(quick: bool = False) -> Iterator[Figure]:
    ticks = TICKS_QUICK if quick else TICKS
    m = asyncio.run(measure(ticks))
    med_bare, med_table = statistics.median(m["bare"]), statistics.median(m["with_table"])
    whole_cpu = statistics.median(m["whole"])
    print(f"{N_JOBS:,} tracked jobs, {CHANGED} changing per tick, {ticks} ticks; "
          f"{m['tick_messages']:.0f} message(s) per tick; snapshot for a new view "
          f"{m['snapshot_bytes']:,} B built in {m['snapshot_ms']:.0f} ms")
    for n, b, cpu in m["scaling"]:
        print(f"  {n:>5} changed rows -> {b:>9,.0f} B per tick ({b / n:,.0f} B/row), {cpu:.2f} ms CPU")
    yield Figure("P2.tick.cpu_median", "monitor tick, manager + table: kernel CPU median", med_table, "ms",
                 shown=f"{med_table:.2f} ms (table {med_table - med_bare:.2f})")
    yield Figure("P2.tick.cpu_p95", "monitor tick: kernel CPU p95", percentile(m["with_table"], 95), "ms")
    yield Figure("P2.tick.bare", "baseline: the same drain without a table, median", med_bare, "ms")
    yield Figure("P2.tick.whole", "baseline: whole table encoded per tick", whole_cpu, "ms",
                 shown=f"{whole_cpu:.1f} ms, {m['whole_bytes']:,} B")
    yield Figure("P2.bytes.tick", f"bytes per tick, {CHANGED} changed rows", m["tick_bytes"], "B",
                 shown=f"{m['tick_bytes']:,.0f} B ({m['tick_bytes'] / CHANGED:.0f} B/row)")
    per_row = [b / n for n, b, _ in m["scaling"]]
    yield Figure("P2.bytes.spread", "bytes per changed row, 10/100/1,000 rows: max/min",
                 max(per_row) / min(per_row), "x",
                 shown=f"{max(per_row) / min(per_row):.2f}x ({'/'.join(f'{b:.0f}' for b in per_row)} B)")


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main([NAME, *sys.argv[1:]]))
