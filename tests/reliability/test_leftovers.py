"""A kernel that dies on its own leaves its parsl-local interchange running: the next manager stops it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from crystalwidgets import JobManager
from crystalwidgets.profiles import ProfileStore
from tests.helpers import ROOT, wait_until

pytest.importorskip("parsl")

_KERNEL = """
import json, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from ase.build import bulk
from crystalwidgets import JobManager
mgr = JobManager(monitor_interval=0.5)
job = mgr.submit(bulk("Cu"), "emt.static_job", "htex")
(done,) = mgr.wait([job.id], timeout=120)
assert done.state.value == "completed", done.error
(entry,) = Path(mgr.home, "runners", "htex", "engines").glob("*.json")
print(json.dumps(json.loads(entry.read_text())), flush=True)
time.sleep(600)
"""


def _group(pgid: int) -> list[psutil.Process]:
    out = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid:
                out.append(proc)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return out


def test_the_next_manager_stops_a_dead_kernels_interchange(cw_home, tmp_path):
    ProfileStore().save({"kind": "parsl-local", "name": "htex", "max_workers_per_node": 1})
    script = tmp_path / "kernel.py"
    script.write_text(_KERNEL.format(root=str(ROOT)))
    kernel = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        entry = json.loads(kernel.stdout.readline())
        interchange = psutil.Process(entry["interchange_pid"])
        assert "interchange" in " ".join(interchange.cmdline())
        os.kill(kernel.pid, signal.SIGKILL)  # the kernel alone (the OOM killer's way), not its group
        kernel.wait(10)
        time.sleep(1)
        assert interchange.is_running() and interchange.status() != psutil.STATUS_ZOMBIE  # left behind

        started = time.monotonic()
        with JobManager(monitor_interval=0.5):
            wait_until(lambda: not interchange.is_running(), 30, "the new manager to stop the interchange")
            assert time.monotonic() - started < 30
            engines = cw_home / "runners" / "htex" / "engines"
            wait_until(lambda: not list(engines.glob("*.json")), 10, "the dead engine to be forgotten")
        # its worker pool ends by itself once the interchange is gone
        wait_until(lambda: not _group(kernel.pid), 90, "the dead kernel's worker pool to end")
    finally:
        try:
            os.killpg(kernel.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_live_kernels_engine_is_left_alone(cw_home):
    from crystalwidgets.runners.parsl.leftovers import stop_dead_engines

    ProfileStore().save({"kind": "parsl-local", "name": "htex", "max_workers_per_node": 1})
    from ase.build import bulk

    with JobManager(monitor_interval=0.5) as mgr:
        (done,) = mgr.wait([mgr.submit(bulk("Cu"), "emt.static_job", "htex").id], timeout=120)
        (entry,) = (cw_home / "runners" / "htex" / "engines").glob("*.json")
        pid = json.loads(entry.read_text())["interchange_pid"]
        assert stop_dead_engines(cw_home / "runners") == []
        assert psutil.Process(pid).is_running() and entry.exists()
        with JobManager(monitor_interval=0.5) as other:  # a second kernel's manager
            other._leftovers.join(30)
        assert psutil.Process(pid).is_running() and entry.exists()
        assert done.state.value == "completed"
