"""P1b: overhead of crystalwidgets on Covalent, and completion -> table latency.

N EMT ``static_job`` jobs on Cu through a JobManager on a ``covalent`` profile (one
``submit_many``; first submit to the last terminal record) vs the same recipe as raw
Covalent dispatches (one one-electron lattice each, the electron calling quacc's recipe
with RESULTS_DIR set, as a user would; first dispatch to the last COMPLETED status, asked
every 0.1 s), on the same real Covalent server (local executor), in the same run, in
ROUNDS paired rounds with the order reversed every other round. Target ratio <= 1.10.
A managed job ends (in the table) when its body's outcome is read from its work dir; the
raw side can only see Covalent's COMPLETED, which comes later: Covalent's book-keeping of
the managed dispatches is waited for, untimed, before the next measurement.
Beside it: the fixed cost per job, and completion -> table: the job body's ``finished``
stamp to the subscriber's terminal event.

Covalent needs SQLAlchemy<2, so it lives in ``.venv-covalent``: run this bench with that
venv's Python (``.venv-covalent/bin/python -m bench covalent``); elsewhere it is SKIPPED.
Covalent's client and the server keep their files in a temporary dir of the bench.

Alone: ``python -m bench.covalent_overhead [--quick]``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench import trivial  # the raw electron's function (the executor imports it by name)
from bench._common import Figure, percentile, save_profile, skipped

NAME = "covalent"
FULL = {"static": 200, "rounds": 1}  # 200 dispatches take minutes per side here
QUICK = {"static": 30, "rounds": 1}
_FIGURES = (("P1b.covalent.static.ratio", "covalent: EMT static_job, JobManager / raw dispatch"),
            ("P1b.covalent.fixed", "covalent: fixed cost per job over raw dispatches"),
            ("P1b.covalent.table.median", "covalent: completion -> table, median"),
            ("P1b.covalent.table.p95", "covalent: completion -> table, p95"))
_ISOLATE = ("HOME", "COVALENT_CONFIG_DIR", "XDG_CACHE_HOME", "XDG_DATA_HOME",
            "CRYSTALWIDGETS_HOME", "CRYSTALWIDGETS_CONFIG")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Raw:
    """Raw Covalent dispatches of quacc's EMT recipe, each a lattice of one electron."""

    def __init__(self, address: str, results: Path) -> None:
        import covalent as ct

        self.ct, self.address, self.results = ct, address, str(results)
        electron = ct.electron(trivial.emt, executor="local")

        def raw_emt(atoms, results_dir):
            return electron(atoms, results_dir, "static_job")

        self.lattice = ct.lattice(raw_emt, executor="local", workflow_executor="local")

    def time(self, n: int, atoms) -> float:
        from crystalwidgets.runners.covalent.server import statuses

        t0 = time.perf_counter()
        ids = [self.ct.dispatch(self.lattice, dispatcher_addr=self.address)(atoms, self.results) for _ in range(n)]
        deadline = time.monotonic() + 1200
        while True:
            found = statuses(self.address, ids, 30)
            if all(found.get(i) == "COMPLETED" for i in ids):
                return time.perf_counter() - t0
            bad = {s for s in found.values() if s in ("FAILED", "CANCELLED")}
            assert not bad and time.monotonic() < deadline, f"raw dispatches ended {bad or 'late'}"
            time.sleep(0.1)


def settle(ids: list[str], address: str) -> None:
    """Wait (untimed) until Covalent says COMPLETED for every dispatch: a job's table row ends
    with the job body's outcome, before Covalent has finished its own book-keeping, which
    must not run into the next measurement."""
    from crystalwidgets.runners.covalent.server import statuses

    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if all(s == "COMPLETED" for s in statuses(address, ids, 30).values()):
            return
        time.sleep(0.2)
    raise AssertionError("Covalent did not mark the managed dispatches COMPLETED within 600 s")


class Managed:
    """The same jobs through one JobManager on the saved ``covalent`` profile ``name``."""

    def __init__(self, name: str) -> None:
        from crystalwidgets import JobManager

        self.name = name
        self.mgr = JobManager(monitor_interval=5.0)
        self.seen: dict[str, float] = {}
        self.mgr.subscribe(self._on_change)

    def _on_change(self, changes) -> None:
        now = time.time()
        for job_id, fields in changes.items():
            if fields.get("state") in ("completed", "failed", "cancelled", "orphaned"):
                self.seen.setdefault(job_id, now)

    def time(self, n: int, atoms) -> tuple[float, list[float]]:
        """Wall time of ``n`` jobs, and each job's completion -> subscriber latency (s)."""
        t0 = time.perf_counter()
        ids = [r.id for r in self.mgr.submit_many([atoms] * n, "emt.static_job", self.name)]
        recs = self.mgr.wait(ids, timeout=1200)
        took = time.perf_counter() - t0
        bad = [r for r in recs if r.state.value != "completed"]
        assert not bad, f"{len(bad)} of {n} jobs did not complete: {bad[0].state.value} {bad[0].error}"
        lat = [self.seen[r.id] - (r.started + r.summary["wall_time_s"]) for r in recs]
        settle([r.engine_ref["dispatch_id"] for r in recs], recs[0].engine_ref["server"])
        return took, lat

    def close(self) -> None:
        self.mgr.close()


def run(quick: bool = False) -> Iterator[Figure]:
    if importlib.util.find_spec("covalent") is None:
        for key, what in _FIGURES:
            yield skipped(key, what, "covalent is not installed here: run .venv-covalent/bin/python -m bench covalent")
        return
    size = QUICK if quick else FULL
    n, rounds = size["static"], size["rounds"]
    from ase.build import bulk

    from crystalwidgets.runners.covalent.profiles import CovalentProfile
    from crystalwidgets.runners.covalent.server import LocalServer

    atoms = bulk("Cu")
    tmp = Path(tempfile.mkdtemp(prefix="cw-bench-covalent-"))
    saved = {k: os.environ.get(k) for k in _ISOLATE}
    for key in _ISOLATE:  # before covalent is imported: it writes its config on import
        os.environ[key] = str(tmp / key.lower())
        Path(os.environ[key]).mkdir()
    server = LocalServer(tmp / "server", _free_port())
    managed = None
    runs: dict[str, list[float]] = {"raw": [], "ours": []}
    latencies: list[float] = []
    try:
        t0 = time.perf_counter()
        address = server.start(timeout=180)
        save_profile(CovalentProfile(name="cov", server_address=address))
        raw = Raw(address, tmp / "raw-results")
        managed = Managed("cov")
        raw.time(2, atoms)  # the executor's workers import quacc once
        managed.time(2, atoms)
        print(f"covalent: server started and warm in {time.perf_counter() - t0:.1f} s", flush=True)
        for r in range(rounds):
            for name in ("raw", "ours")[:: 1 if r % 2 == 0 else -1]:
                if name == "raw":
                    runs["raw"].append(raw.time(n, atoms))
                else:
                    took, lat = managed.time(n, atoms)
                    runs["ours"].append(took)
                    latencies += lat
    finally:
        if managed is not None:
            managed.close()
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(tmp, ignore_errors=True)

    each = sorted(a / b for a, b in zip(runs["ours"], runs["raw"]))
    ratio = statistics.median(each)
    raw_ms = statistics.median(runs["raw"]) / n * 1000
    ours_ms = statistics.median(runs["ours"]) / n * 1000
    print(f"covalent, {n} EMT static_job jobs, median of {rounds} rounds: raw dispatch {raw_ms:.1f} ms/job, "
          f"JobManager {ours_ms:.1f} ms/job; ratio {ratio:.2f} (rounds {each[0]:.2f}-{each[-1]:.2f})", flush=True)
    (k_ratio, w_ratio), (k_fixed, w_fixed), (k_med, w_med), (k_p95, w_p95) = _FIGURES
    yield Figure(k_ratio, f"{w_ratio} ({n})", ratio, "x", shown=f"{ratio:.2f}x (rounds {each[0]:.2f}-{each[-1]:.2f})",
                 extra={"ours_ms": ours_ms, "raw_ms": raw_ms})
    yield Figure(k_fixed, w_fixed, ours_ms - raw_ms, "ms", shown=f"{ours_ms - raw_ms:.1f} ms ({ours_ms:.1f} vs {raw_ms:.1f})")
    lat_ms = [x * 1000 for x in latencies]
    yield Figure(k_med, w_med, statistics.median(lat_ms), "ms")
    yield Figure(k_p95, w_p95, percentile(lat_ms, 95), "ms")


if __name__ == "__main__":
    from bench._common import use_this_checkout

    use_this_checkout()
    for figure in run(quick="--quick" in sys.argv[1:]):
        print(figure.key, figure.text())
