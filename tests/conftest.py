"""Shared fixtures: a private CRYSTALWIDGETS_HOME/CONFIG per test, managers closed after."""

from __future__ import annotations

import os

import psutil
import pytest


@pytest.fixture
def cw_home(tmp_path, monkeypatch):
    """A fresh data and config dir for one test."""
    home = tmp_path / "cw-home"
    monkeypatch.setenv("CRYSTALWIDGETS_HOME", str(home))
    monkeypatch.setenv("CRYSTALWIDGETS_CONFIG", str(tmp_path / "cw-config"))
    return home


@pytest.fixture
def manager(cw_home):
    """A JobManager on the test's home; its job processes are killed after the test."""
    from crystalwidgets import JobManager

    mgr = JobManager(monitor_interval=0.5)
    yield mgr
    pids = [(r.engine_ref or {}).get("pid") for r in mgr.jobs()]
    mgr.close()
    for pid in filter(None, pids):
        try:
            os.killpg(pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
    psutil.wait_procs([p for p in psutil.process_iter() if p.pid in pids], timeout=5)
