"""Helpers shared by the test modules."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

#: The repository root (tests/ lies in it).
ROOT = Path(__file__).resolve().parent.parent

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


def die_with_parent() -> None:
    """In a child before exec (``preexec_fn``): get SIGTERM when the test process dies, however it dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    """A TCP port free on 127.0.0.1 just now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process_group(process: subprocess.Popen | None, timeout: float = 15) -> None:
    """Stop a server started with ``start_new_session=True``: SIGTERM, then (after ``timeout``)
    SIGKILL to its whole process group (children it did not stop in time); bounded."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Call ``condition`` until it returns something truthy (returned); TimeoutError naming ``what``.

    Other exceptions from ``condition`` count as "not yet" (the last one is named at the
    timeout), except AssertionError, which means it can no longer happen: raised at once.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except AssertionError:
            raise
        except Exception as exc:  # noqa: BLE001 - remembered for the timeout message
            last_error = exc
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}{detail}")
        time.sleep(interval)


#: How long a test waits to see that something does NOT happen (a late event, a second
#: message): a bounded quiet period, where no condition can be awaited.
QUIET_S = 0.3


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
