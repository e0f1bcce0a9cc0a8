"""The local server crystalwidgets starts itself, and a server that dies under a running job."""

from __future__ import annotations

import stat
import time

import psutil
import pytest
from ase.build import bulk

from crystalwidgets import JobManager, JobState
from crystalwidgets.profiles import ProfileStore
from crystalwidgets.runners.covalent.profiles import CovalentProfile, local_server, stop_local_server
from tests.helpers import wait_until
from tests.runners.covalent.jobs import busy_job
from tests.runners.covalent.support import HAVE_COVALENT, NO_COVALENT, free_port, server_processes

pytestmark = pytest.mark.skipif(not HAVE_COVALENT, reason=NO_COVALENT)


def test_local_server_starts_on_first_submit_and_its_death_fails_the_job(cw_home, covalent_home, tmp_path):
    profile = CovalentProfile(name="own", local_port=free_port(), call_timeout_s=2, unreachable_after_s=2)
    ProfileStore().save(profile)
    server = local_server(profile, cw_home)
    assert not server.running(timeout=1)
    marker = tmp_path / "run"
    mgr = JobManager(monitor_interval=5.0)
    procs: list[psutil.Process] = []
    try:
        t0 = time.monotonic()
        job = mgr.submit(bulk("Cu"), busy_job, "own", seconds=300, marker=str(marker))
        assert time.monotonic() - t0 < 1  # the server starts in the runner's thread
        rec = wait_until(
            lambda: (r := mgr.get(job.id)).state is JobState.RUNNING and marker.exists() and r,
            180,
            "the job running on the server started for it",
        )
        # the server is crystalwidgets' own: its config and log under the home, on the port asked
        assert server.running() and server.address() == f"http://localhost:{profile.local_port}"
        assert server.config_file.is_relative_to(cw_home) and server.log_file.exists()
        assert stat.S_IMODE(server.root.stat().st_mode) == 0o700  # private, like every file of ours
        assert stat.S_IMODE(server.start_log.stat().st_mode) == 0o600
        assert rec.engine_ref["server"] == server.address()

        procs = server_processes(server)
        job_pid, child_pid = (int(p) for p in marker.read_text().split())
        assert {job_pid, child_pid} <= {p.pid for p in procs}
        for p in procs:  # the server dies as in a crash or an OOM kill: everything at once
            p.kill()
        psutil.wait_procs(procs, timeout=10)
        t_kill = time.monotonic()
        done = mgr.wait([job.id], timeout=30)[0]
        took = time.monotonic() - t_kill
        assert done.state is JobState.FAILED, done.state
        assert f"the Covalent server at {server.address()} stopped answering" in done.error
        assert f"its process (pid {job_pid} on " in done.error and "is gone and left no result" in done.error
        assert "resubmit it with mgr.resubmit(" in done.error
        assert took < profile.unreachable_after_s + 5, took
    finally:
        mgr.close()
        stop_local_server(profile, cw_home)
    left = [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not left and not server.running(timeout=1)
