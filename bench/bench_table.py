"""P2 monitor cost and P4 JobTable scale.

P2 (kernel side, no browser): a JobManager tracking 10,000 jobs with a JobTable bound to it;
each tick, 1 % of the jobs change (80 liveness checks and 20 completions with a summary,
reported together as a runner's poll does) and the manager drains them in one batch.
Measured on the kernel's thread: CPU per tick of the whole drain (store write, cache,
subscribers, the table's message and its JSON encoding) and the bytes the table sends.
Baselines in the same run: the same drain with no table, and the whole table resent per
tick (what keeping the rows in a synced traitlet would cost).
Targets: <= 5 ms kernel CPU per tick; bytes proportional to the changed rows.

P4 (real JupyterLab, headless Chromium): the same 10,000 jobs in a JobTable in a notebook.
First render (snapshot arrives -> rows drawn; and render start -> first rows, with the
kernel round trip) and applying 100 changed rows (message arrives -> rows redrawn).
Timings come from the widget's own hooks (``data-cw-*-ms``: work time, and time until the
next animation frame). Baseline in the same page: a plain (not virtualised) DOM table of the
same 10,000 rows. Targets: first render <= 300 ms; 100 row updates <= 50 ms.

Run: ``.venv/bin/python bench/bench_table.py [--p2-only | --p4-only]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, percentile

REPO = Path(__file__).resolve().parents[1]
N_JOBS = 10_000
CHANGED = 100  # 1 % per tick
TICKS = 40


def seed_store(home: Path, n: int = N_JOBS) -> list[str]:
    """``n`` jobs in a fresh store, a tenth finished and the rest running; the running ids."""
    from crystalwidgets import JobState
    from crystalwidgets._procs import owner_id
    from crystalwidgets.jobs.store import JobRecord, JobStore

    owner = owner_id()  # this process's manager follows them (no orphan recovery)
    store = JobStore(home / "jobs.sqlite")
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


def next_tick(running: list[str], n_changed: int):
    """What a runner's poll reports for the next ``n_changed`` running jobs: 80 % liveness
    checks (those jobs go to the back of ``running``), 20 % completions (those leave it)."""
    from crystalwidgets import JobState
    from crystalwidgets.jobs.events import JobEvent

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

        widget.comm.publish_msg = publish


async def p2() -> None:
    from crystalwidgets import JobManager
    from crystalwidgets.widgets._table import JobTable

    def run_ticks(mgr, running: list[str], n_changed: int, ticks: int) -> list[float]:
        cpu = []
        for _ in range(ticks):
            with mgr._lock:  # one poll's reports, drained together (as on the kernel's loop)
                for event in next_tick(running, n_changed):
                    mgr._post(event)
            start = time.thread_time()
            mgr._drain()
            cpu.append((time.thread_time() - start) * 1000)
        return cpu

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        running = seed_store(home)
        mgr = JobManager(home=home, monitor_interval=3600)  # no monitor poll during the bench
        try:
            # baseline 1: the manager alone
            bare = run_ticks(mgr, running, CHANGED, TICKS)

            table = JobTable(mgr)
            wire = Wire(table)
            t = time.perf_counter()
            table._handle_custom_msg({"kind": "snapshot"}, [])
            snapshot_ms = (time.perf_counter() - t) * 1000
            snapshot_bytes, wire.bytes, wire.messages = wire.bytes, 0, 0

            with_table = run_ticks(mgr, running, CHANGED, TICKS)
            tick_bytes = wire.bytes / TICKS
            tick_messages = wire.messages / TICKS

            scaling = []
            for n in (10, 100, 1000):
                wire.bytes = wire.messages = 0
                cpu = run_ticks(mgr, running, n, 3)
                scaling.append((n, wire.bytes / 3, statistics.median(cpu)))

            # baseline 2: the whole table encoded and sent on every tick
            whole = []
            for _ in range(5):
                start = time.thread_time()
                rows = table._rows()
                encoded = json.dumps({"method": "update", "state": {"rows": rows}}, separators=(",", ":"))
                whole.append((time.thread_time() - start) * 1000)
            whole_bytes = len(encoded.encode())
            table.close()
        finally:
            mgr.close()

    med_bare, med_table = statistics.median(bare), statistics.median(with_table)
    print(f"P2 monitor cost: {N_JOBS:,} tracked jobs, {CHANGED} changing per tick, {TICKS} ticks")
    print(f"  kernel CPU per tick, manager + table: median {med_table:.2f} ms, "
          f"p95 {percentile(with_table, 95):.2f} ms (target <= 5 ms)")
    print(f"  of which the table: {med_table - med_bare:.2f} ms "
          f"(manager alone: median {med_bare:.2f} ms, p95 {percentile(bare, 95):.2f} ms)")
    print(f"  bytes to the frontend per tick: {tick_bytes:,.0f} B in {tick_messages:.0f} message(s), "
          f"{tick_bytes / CHANGED:,.0f} B per changed row")
    print(f"  baseline, whole table per tick: {whole_bytes:,} B and {statistics.median(whole):.1f} ms CPU "
          f"(ratio {whole_bytes / tick_bytes:,.0f}x bytes, "
          f"{statistics.median(whole) / max(med_table - med_bare, 1e-3):,.0f}x table CPU)")
    print("  proportionality (changed rows -> bytes per tick, kernel CPU):")
    for n, b, cpu in scaling:
        print(f"    {n:>5} -> {b:>9,.0f} B ({b / n:,.0f} B/row), {cpu:.2f} ms")
    print(f"  snapshot for a new view: {snapshot_bytes:,} B, built in {snapshot_ms:.0f} ms")


P4_NOTEBOOK_CODE = """\
import sys, time
sys.path.insert(0, {bench!r})
from pathlib import Path
from bench_table import next_tick, seed_store
from crystalwidgets import JobManager

home = Path({home!r})
running = seed_store(home)
mgr = JobManager(home=home, monitor_interval=3600)
from crystalwidgets.widgets import JobTable
table = JobTable(mgr, height=500)
table
"""

P4_TICK_CODE = """\
with mgr._lock:
    for event in next_tick(running, {n}):
        mgr._post(event)
"""

PLAIN_TABLE_JS = """(rows) => {
  const t0 = performance.now();
  const table = document.createElement("table");
  for (const row of rows) {
    const tr = document.createElement("tr");
    for (const value of row) {
      const td = document.createElement("td");
      td.textContent = value === null ? "" : String(value);
      tr.append(td);
    }
    table.append(tr);
  }
  document.body.append(table);
  const work = performance.now() - t0;
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(() => {
    const frame = performance.now() - t0;
    table.remove();
    resolve([work, frame]);
  }, 0)));
}"""

SORT_JS = """(root) => {
  const button = root.querySelector(".cw-th[data-key='energy_ev'] .cw-sort");
  const t0 = performance.now();
  button.click();
  const work = performance.now() - t0;
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(
    () => resolve([work, performance.now() - t0]), 0)));
}"""

SCROLL_JS = """(root) => {
  const scroller = root.querySelector(".cw-table-scroller");
  const t0 = performance.now();
  scroller.scrollTop = scroller.scrollHeight / 2;
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(
    () => resolve([performance.now() - t0,
                   root.querySelectorAll(".cw-tr:not([hidden])").length]), 0))));
}"""


def p4() -> None:
    import nbformat

    sys.path.insert(0, str(REPO / "tests" / "browser"))
    from _lab import JupyterLab, NotebookPage, artifacts_dir, launch_chromium, wait_until
    from playwright.sync_api import sync_playwright

    from crystalwidgets.widgets._table import COLUMNS

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = tmp / "notebooks"
        root.mkdir()
        home = tmp / "cw-home"
        home.mkdir()
        nb = nbformat.v4.new_notebook()
        nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
        nb.cells = [nbformat.v4.new_code_cell(P4_NOTEBOOK_CODE.format(bench=str(REPO / "bench"), home=str(home)))]
        nbformat.write(nb, root / "table-scale.ipynb")
        lab = JupyterLab(root, tmp / "state")
        lab.start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                notebook = NotebookPage(page, lab, "table-scale.ipynb").open()
                notebook.run_all(timeout=180)
                widget = notebook.panel.locator(".cw-table")
                wait_until(lambda: widget.get_attribute("data-cw-rows") == str(N_JOBS), 60,
                           "10,000 rows in the table")
                wait_until(lambda: widget.get_attribute("data-cw-snapshot-frame-ms"), 10, "the first frame")
                first = {name: float(widget.get_attribute(f"data-cw-{name}-ms"))
                         for name in ("snapshot", "snapshot-frame", "first-rows")}
                drawn = widget.locator(".cw-tr:not([hidden])").count()
                notebook.screenshot("bench-table-10000", widget)

                updates, frames = [], []
                with lab.probe("table-scale.ipynb") as probe:
                    for k in range(10):
                        before = int(widget.get_attribute("data-cw-updates") or 0)
                        probe.exec(P4_TICK_CODE.format(n=CHANGED))
                        wait_until(lambda: int(widget.get_attribute("data-cw-updates") or 0) > before,
                                   20, "the update message")
                        assert widget.get_attribute("data-cw-updated-rows") == str(CHANGED)
                        wait_until(lambda: widget.get_attribute("data-cw-update-frame-ms"), 5, "a frame")
                        time.sleep(0.3)  # let the frame hook of this update land
                        updates.append(float(widget.get_attribute("data-cw-update-ms")))
                        frames.append(float(widget.get_attribute("data-cw-update-frame-ms")))

                sort_work, sort_frame = widget.evaluate(SORT_JS)
                scroll_frame, scroll_rows = widget.evaluate(SCROLL_JS)
                rows = [[f"{i:016x}", "emt.relax_job", "Cu", "local", "running", -3.5, 0.01,
                         "10 min", "2 s ago", f"strain {i}", None][: len(COLUMNS)] for i in range(N_JOBS)]
                plain_work, plain_frame = page.evaluate(PLAIN_TABLE_JS, rows)
                browser.close()
        finally:
            lab.stop()

    print(f"P4 JobTable scale in headless Chromium (JupyterLab), {N_JOBS:,} rows")
    print(f"  first render: snapshot -> rows drawn {first['snapshot']:.0f} ms work, "
          f"{first['snapshot-frame']:.0f} ms to the next frame (target <= 300 ms); "
          f"render start -> first rows incl. kernel round trip {first['first-rows']:.0f} ms; "
          f"{drawn} row elements in the DOM")
    print(f"  apply 100 changed rows (10 ticks): median {statistics.median(updates):.1f} ms work, "
          f"{statistics.median(frames):.1f} ms to the next frame, max {max(frames):.1f} ms (target <= 50 ms)")
    print(f"  sort 10,000 rows by energy (header click): {sort_work:.1f} ms work, {sort_frame:.1f} ms to the next frame")
    print(f"  scroll to the middle: next frames after {scroll_frame:.1f} ms, {scroll_rows} rows drawn")
    print(f"  baseline, plain DOM table of the same rows: {plain_work:.0f} ms work, {plain_frame:.0f} ms to the "
          f"next frame (ratio {plain_frame / first['snapshot-frame']:.1f}x the virtualised first render)")
    print(f"  screenshot: {artifacts_dir() / 'bench-table-10000.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--p2-only", action="store_true")
    parser.add_argument("--p4-only", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if not args.p4_only:
        asyncio.run(p2())
    if not args.p2_only:
        p4()


if __name__ == "__main__":
    main()
