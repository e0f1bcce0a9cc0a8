"""The details of a job with a 50 MB result open without blocking the kernel.

The result is a real one: an EMT MD of 256 Cu atoms run as a local job, its trajectory
then repeated (its own frames) until the result JSON holds 50 MB, as a long MD's would.
What blocks the kernel is measured two ways: how long the call on the kernel's thread
takes, and the largest lag of a ticker thread that wakes every 2 ms (a thread holding
the GIL, decoding JSON say, delays it). The kernel's RSS is measured around it.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import psutil
import pytest
from ase.build import bulk

from crystalwidgets import JobManager, JobState
from crystalwidgets.jobs.final import FINAL
from crystalwidgets.jobs.task import RESULT
from crystalwidgets.widgets._shown import READING_NOTE
from crystalwidgets.widgets._table import JobTable
from tests.helpers import close_and_kill, wait_until
from tests.widgets.test_table import Wire, browser_says

SIZE = 50_000_000
BLOCK_S = 0.1  # the kernel's thread may be busy this long at most
RSS_MB = 60  # and grow by this much at most (the whole result decoded: +380 MiB)


class Ticker:
    """A thread waking every 2 ms; ``worst`` is the longest it was kept from running."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last = time.perf_counter()
        while not self._stop.wait(0.002):
            now = time.perf_counter()
            self.worst = max(self.worst, now - last - 0.002)
            last = now

    def __enter__(self) -> Ticker:
        self._thread.start()
        time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def _pad(path: Path, size: int) -> dict:
    """Repeat the result's own trajectory until its JSON holds ``size`` bytes; its final atoms."""
    data = json.loads(path.read_text())
    result = data["result"]
    frames, steps = result["trajectory"], result["trajectory_results"]
    frame_bytes = len(json.dumps([frames[0], steps[0]]))
    copies = size // (frame_bytes * len(frames)) + 1
    result["trajectory"], result["trajectory_results"] = frames * copies, steps * copies
    path.write_text(json.dumps(data))
    assert path.stat().st_size >= size
    return result["atoms"]


@pytest.fixture(scope="module")
def md_job(tmp_path_factory):
    root = tmp_path_factory.mktemp("big-result")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRYSTALWIDGETS_HOME", str(root / "home"))
        mp.setenv("CRYSTALWIDGETS_CONFIG", str(root / "config"))
        mgr = JobManager(monitor_interval=0.5)
        atoms = bulk("Cu", cubic=True) * (4, 4, 4)
        job = mgr.submit(atoms, "emt.md.md_job", steps=5, temperature_K=300)
        (done,) = mgr.wait([job.id], timeout=180)
        assert done.state is JobState.COMPLETED, done.error
        final = _pad(Path(done.work_dir) / RESULT, SIZE)
        yield mgr, done, final
        close_and_kill(mgr)


def _open_details(mgr: JobManager, job_id: str) -> tuple[JobTable, Wire, float, Ticker, float]:
    table = JobTable(mgr)
    wire = Wire(table)
    browser_says(table, {"kind": "snapshot"})
    rss = psutil.Process().memory_info().rss
    with Ticker() as ticker:
        t0 = time.perf_counter()
        table.show_details(job_id)
        blocked = time.perf_counter() - t0
        wait_until(lambda: wire.of_kind("details")[-1]["structure"] == "final", 120, "the final structure")
    grown_mb = (psutil.Process().memory_info().rss - rss) / 2**20
    return table, wire, blocked, ticker, grown_mb


def _assert_final_shown(table: JobTable, final: dict) -> None:
    from monty.json import MontyDecoder

    expected = MontyDecoder().process_decoded(final)  # the MD's last frame, from the result
    assert len(expected) == 256
    assert (table.viewer.structure.positions == expected.positions).all()


def test_details_of_a_50_mb_result_open_without_blocking_the_kernel(md_job):
    mgr, done, final = md_job
    assert (Path(done.work_dir) / FINAL).stat().st_size < 200_000  # the job kept it apart

    table, wire, blocked, ticker, grown_mb = _open_details(mgr, done.id)

    details = wire.of_kind("details")[-1]
    assert details["summary"]["energies_ev"], "the per-step energies come from the store"
    _assert_final_shown(table, final)
    assert blocked < BLOCK_S, f"show_details took {blocked * 1000:.0f} ms on the kernel's thread"
    assert ticker.worst < BLOCK_S, f"a thread was kept from running {ticker.worst * 1000:.0f} ms"
    assert grown_mb < RSS_MB, f"the kernel grew {grown_mb:.0f} MiB"
    table.close()


def test_an_old_job_without_its_final_structure_apart_is_read_in_a_child_process(md_job):
    mgr, done, final = md_job
    side = Path(done.work_dir) / FINAL
    side.unlink()  # as a job that ended before the final structure was kept apart

    table, wire, blocked, ticker, grown_mb = _open_details(mgr, done.id)

    first = wire.of_kind("details")[0]
    assert first["structure"] is None and first["structure_note"] == READING_NOTE
    _assert_final_shown(table, final)
    assert blocked < BLOCK_S, f"show_details took {blocked * 1000:.0f} ms on the kernel's thread"
    assert ticker.worst < BLOCK_S, f"a thread was kept from running {ticker.worst * 1000:.0f} ms"
    assert grown_mb < RSS_MB, f"the kernel grew {grown_mb:.0f} MiB"
    assert side.stat().st_mode & 0o777 == 0o600  # kept for next time, private
    assert mgr.final_structure_ready(done.id)
    table.close()
