"""Helpers shared by the test modules."""

from __future__ import annotations

import os
import time

import psutil

#: summary fields that legitimately differ between a job and a direct call of its recipe
VOLATILE = {"work_dir", "wall_time_s"}


def summary_core(summary: dict) -> dict:
    """A summary without the fields that differ from run to run, its numbers to 10 digits.

    A job's BLAS runs on the job's share of the cores, the kernel's on all of them: the
    sums come out in another order, so the last digits may differ (tblite: 1e-15).
    """
    return {k: _digits(v) for k, v in summary.items() if k not in VOLATILE}


def _digits(value):
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, list):
        return [_digits(v) for v in value]
    if isinstance(value, dict):
        return {k: _digits(v) for k, v in value.items()}
    return value


def states_seen(mgr) -> dict[str, list[str]]:
    """{job_id: [state, ...]} in the order the manager's change events told them."""
    seen: dict[str, list[str]] = {}

    def on_change(changes):
        for job_id, fields in changes.items():
            if "state" in fields:
                seen.setdefault(job_id, []).append(fields["state"])

    mgr.subscribe(on_change)
    return seen


def wait_for(predicate, timeout: float, what: str, step: float = 0.05):
    """Poll ``predicate`` until it returns something true (returned); fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s: {what}")


def close_and_kill(mgr) -> None:
    """Close ``mgr`` and kill the process groups of its jobs (local jobs outlive managers)."""
    pids = [(r.engine_ref or {}).get("pid") for r in mgr.jobs()]
    mgr.close()
    for pid in filter(None, pids):
        try:
            os.killpg(pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
    psutil.wait_procs([p for p in psutil.process_iter() if p.pid in pids], timeout=5)
