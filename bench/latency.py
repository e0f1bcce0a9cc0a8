"""P3: job process exit to change event delivered (core), and to the JobTable's row message
leaving the kernel (widgets).

N (40; --quick 16) trivial jobs on the local runner (2 at a time). For each job, the job body
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
from collections.abc import Iterator

from bench import trivial  # a user's function module
from bench._common import Figure, ask_snapshot, percentile, tap_messages

NAME = "latency"
N, N_QUICK = 40, 16


def submit(mgr, n: int) -> tuple[list[str], dict[str, float]]:
    from ase.build import bulk

    got: dict[str, float] = {}

    def on_change(changes):
        now = time.time()
        for job_id, fields in changes.items():
            if fields.get("state") in ("completed", "failed"):
                got[job_id] = now

    mgr.subscribe(on_change)
    ids = [mgr.submit(bulk("Cu"), trivial.noop_job).id for _ in range(n)]
    return ids, got


def lat(mgr, ids, got) -> list[float]:
    out = []
    for job_id in ids:
        rec = mgr.get(job_id)
        assert rec.state.value == "completed", rec.error
        out.append((got[job_id] - rec.finished) * 1000)
    return out


def script_mode(home: str, n: int) -> list[float]:
    from crystalwidgets import JobManager

    with JobManager(home) as mgr:
        ids, got = submit(mgr, n)
        mgr.wait(ids, timeout=600)
        time.sleep(0.2)
        return lat(mgr, ids, got)


def watch_table(mgr) -> dict[str, float]:
    """Bind a JobTable; record when its message carrying each completed row is published."""
    from crystalwidgets.widgets import JobTable

    table = JobTable(mgr)
    ask_snapshot(table)  # a view asked for the rows
    sent: dict[str, float] = {}

    def publish(msg_type, data=None, metadata=None, buffers=None, **keys):
        now = time.time()
        content = (data or {}).get("content") or {}
        if content.get("kind") == "rows":
            for row in content["rows"]:
                if "completed" in row:
                    sent.setdefault(next(v for v in row if isinstance(v, str) and len(v) == 16), now)

    tap_messages(table, publish)
    return sent


async def loop_mode(home: str, n: int) -> tuple[list[float], list[float]]:
    from crystalwidgets import JobManager

    mgr = JobManager(home)
    sent = watch_table(mgr)
    ids, got = submit(mgr, n)
    deadline = time.time() + 600
    while not all(mgr.get(i).state.is_terminal for i in ids) and time.time() < deadline:
        await asyncio.sleep(0.05)  # the kernel's loop stays free
    await asyncio.sleep(0.2)
    out = lat(mgr, ids, got)
    rows = lat(mgr, ids, sent)
    mgr.close()
    return out, rows


def figures(key: str, what: str, ms: list[float]) -> Iterator[Figure]:
    yield Figure(f"{key}.median", f"{what}: median", statistics.median(ms), "ms")
    yield Figure(f"{key}.p99", f"{what}: p99 ({len(ms)} jobs)", percentile(ms, 99), "ms",
                 shown=f"{percentile(ms, 99):.1f} ms (max {max(ms):.1f})")


def run(quick: bool = False) -> Iterator[Figure]:
    n = N_QUICK if quick else N
    with tempfile.TemporaryDirectory(prefix="cw-bench-lat-") as a, tempfile.TemporaryDirectory(prefix="cw-bench-lat-") as b:
        yield from figures("P3-core.script", "exit -> subscriber, script mode", script_mode(a, n))
        core, rows = asyncio.run(loop_mode(b, n))
        yield from figures("P3-core.loop", "exit -> subscriber, asyncio loop (kernel)", core)
        yield from figures("P3.table", "exit -> JobTable row message leaving kernel", rows)


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main([NAME, *sys.argv[1:]]))
