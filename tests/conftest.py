"""Shared fixtures: a private CRYSTALWIDGETS_HOME/CONFIG per test, managers closed after."""

from __future__ import annotations

import pytest

from tests.helpers import close_and_kill


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
    close_and_kill(mgr)
