"""The ``dask`` executor: jobs run on the Dask cluster of a Covalent server, and cancel still kills."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest
from ase.build import bulk

from crystalwidgets import JobManager, JobState
from crystalwidgets.profiles import ProfileStore
from crystalwidgets.runners.covalent.profiles import CovalentProfile
from crystalwidgets.runners.covalent.server import LocalServer
from tests.helpers import states_seen, wait_until
from tests.runners.covalent.jobs import busy_job
from tests.runners.covalent.support import HAVE_COVALENT, NO_COVALENT, free_port, server_processes

pytestmark = pytest.mark.skipif(not HAVE_COVALENT, reason=NO_COVALENT)


@pytest.fixture(scope="module")
def dask_server(covalent_home):
    """A Covalent server with its Dask cluster (one worker): its address; nothing left after."""
    server = LocalServer(covalent_home / "dask-server", free_port(), cluster=True)
    address = server.start(timeout=180)
    procs = server_processes(server)
    yield address
    server.stop()
    assert not [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_relax_then_cancel_a_running_job_on_dask(cw_home, dask_server, tmp_path):
    ProfileStore().save(CovalentProfile(name="dask", server_address=dask_server, executor="dask"))
    mgr = JobManager(monitor_interval=5.0)
    try:
        seen = states_seen(mgr)
        relaxed = mgr.submit(bulk("Cu"), "emt.relax_job", "dask", relax_cell=False)
        rec = mgr.wait([relaxed.id], timeout=180)[0]
        assert rec.state is JobState.COMPLETED, rec.error
        assert seen[relaxed.id] == ["pending", "running", "completed"]
        assert list(Path(rec.work_dir).glob("quacc-*"))

        marker = tmp_path / "run"
        busy = mgr.submit(bulk("Cu"), busy_job, "dask", seconds=300, marker=str(marker))
        ref = wait_until(
            lambda: (r := mgr.get(busy.id)).state is JobState.RUNNING and marker.exists() and r.engine_ref,
            60,
            "the busy job running",
        )
        job_pid, child_pid = (int(p) for p in marker.read_text().split())
        assert ref["pid"] == job_pid == os.getpgid(child_pid)
        worker = psutil.Process(ref["worker_pid"])  # a Dask worker of the server's cluster
        mgr.cancel(busy.id)
        assert mgr.wait([busy.id], timeout=15)[0].state is JobState.CANCELLED
        assert seen[busy.id] == ["pending", "running", "cancelled"]
        for pid in (job_pid, child_pid):
            assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert worker.is_running()
    finally:
        mgr.close()
