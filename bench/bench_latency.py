"""P3: job process exit to change event delivered (core), and to the JobTable's row message
leaving the kernel (widgets).

50 trivial jobs on the local runner (2 at a time). For each job, the job body
stamps ``finished`` in its outcome file and exits at once (os._exit); the
subscriber stamps when the terminal change reaches it. Target: median and p99
<= 50 ms (the seed polled every 30-60 s). Runs the manager in script mode (its
own dispatcher thread) and on an asyncio loop, as in a kernel. In loop mode a JobTable
is bound to the manager (as if a browser showed it) and the time its "rows" message
with the completed row is published is taken too: target <= 100 ms end to end.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, percentile

sys.path.insert(0, str(Path(__file__).resolve().parent))
import trivial  # noqa: E402  (a user's function module, travels by value)

N = 50


def run(mgr) -> list[float]:
    from ase.build import bulk

    got: dict[str, float] = {}

    def on_change(changes):
        now = time.time()
        for job_id, fields in changes.items():
            if fields.get("state") in ("completed", "failed"):
                got[job_id] = now

    mgr.subscribe(on_change)
    ids = [mgr.submit(bulk("Cu"), trivial.noop_job).id for _ in range(N)]
    return ids, got


def lat(mgr, ids, got) -> list[float]:
    out = []
    for job_id in ids:
        rec = mgr.get(job_id)
        assert rec.state.value == "completed", rec.error
        out.append((got[job_id] - rec.finished) * 1000)
    return out


def script_mode(home: str) -> list[float]:
    from crystalwidgets import JobManager

    with JobManager(home) as mgr:
        ids, got = run(mgr)
        mgr.wait(ids, timeout=600)
        time.sleep(0.2)
        return lat(mgr, ids, got)


def watch_table(mgr) -> dict[str, float]:
    """Bind a JobTable; record when its message carrying each completed row is published."""
    from crystalwidgets.widgets._table import JobTable

    table = JobTable(mgr)
    table._handle_custom_msg({"kind": "snapshot"}, [])  # a view asked for the rows
    sent: dict[str, float] = {}

    def publish(msg_type, data=None, metadata=None, buffers=None, **keys):
        now = time.time()
        content = (data or {}).get("content") or {}
        if content.get("kind") == "rows":
            for row in content["rows"]:
                if "completed" in row:
                    sent.setdefault(next(v for v in row if isinstance(v, str) and len(v) == 16), now)

    table.comm.publish_msg = publish
    return sent


async def loop_mode(home: str) -> tuple[list[float], list[float]]:
    from crystalwidgets import JobManager

    mgr = JobManager(home)
    sent = watch_table(mgr)
    ids, got = run(mgr)
    deadline = time.time() + 600
    while not all(mgr.get(i).state.is_terminal for i in ids) and time.time() < deadline:
        await asyncio.sleep(0.05)  # the kernel's loop stays free
    await asyncio.sleep(0.2)
    out = lat(mgr, ids, got)
    rows = lat(mgr, ids, sent)
    mgr.close()
    return out, rows


def report(name: str, ms: list[float], target: int = 50) -> None:
    print(
        f"{name} over {len(ms)} jobs: median {statistics.median(ms):.1f} ms, "
        f"p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms (target <= {target} ms)"
    )


def main() -> None:
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        report("script mode (dispatcher thread): exit -> subscriber", script_mode(a))
        core, rows = asyncio.run(loop_mode(b))
        report("asyncio loop mode (as in a kernel): exit -> subscriber", core)
        report("with a JobTable: exit -> row message leaving the kernel", rows, target=100)


if __name__ == "__main__":
    main()
