"""Shared fixtures: a private CRYSTALWIDGETS_HOME/CONFIG per test, managers closed after.

Under pytest-xdist (``bin/test`` runs ``-n auto --dist loadgroup``) tests that share one
scarce thing run on one worker, in file order: the browser tests of one file (each worker
starts one JupyterLab and one Chromium, kept for every browser file it gets), every Slurm
test (two CPUs between them) and each notebook's cells (one kernel per notebook; a notebook
that submits to Slurm joins the Slurm group).

The notebooks (nbval kernels inherit this process's environment) and anything else run
without the ``cw_home`` fixture get a data and config dir of the run's own, removed after
it, never the user's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

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


_RUN_HOME = "_CW_TEST_RUN_HOME"  # the run's own dir, set by pytest_configure (per xdist worker)


def pytest_configure(config: pytest.Config) -> None:
    """Point CRYSTALWIDGETS_HOME/CONFIG at a fresh dir of this process, unless the user set them."""
    ours = os.environ.get(_RUN_HOME)
    if "CRYSTALWIDGETS_HOME" in os.environ and os.environ["CRYSTALWIDGETS_HOME"] != ours:
        return  # the user's choice
    root = tempfile.mkdtemp(prefix="crystalwidgets-tests-")
    os.environ[_RUN_HOME] = os.environ["CRYSTALWIDGETS_HOME"] = os.path.join(root, "home")
    os.environ["CRYSTALWIDGETS_CONFIG"] = os.path.join(root, "config")
    os.environ.setdefault("COVALENT_CONFIG_DIR", os.path.join(root, "covalent-config"))  # written on import
    config._cw_run_root = root


def pytest_unconfigure(config: pytest.Config) -> None:
    root = getattr(config, "_cw_run_root", None)
    if root:
        shutil.rmtree(root, ignore_errors=True)


_BROWSER_DIR = Path(__file__).parent / "browser"
_SLURM_NOTEBOOKS = {"03-slurm.ipynb"}


def _group(item: pytest.Item) -> str | None:
    path = Path(str(item.path))
    if item.get_closest_marker("slurm") or path.name in _SLURM_NOTEBOOKS:
        return "slurm"
    if item.get_closest_marker("browser") or _BROWSER_DIR in path.parents:
        return f"browser-{path.stem}"  # a file's tests share its page state; a worker reuses its lab
    if path.suffix == ".ipynb":
        return f"notebook-{path.stem}"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put each test that shares a scarce resource in its xdist group (see the docstring)."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        group = _group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse to run when xdist ignores the groups (a notebook's cells would split across kernels)."""
    config = session.config
    if not (config.pluginmanager.hasplugin("xdist") and getattr(config.option, "loadgroup", False)):
        return
    lost = [i.nodeid for i in session.items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
    if lost:
        raise pytest.UsageError(
            f"pytest-xdist did not put {lost[0]} (and {len(lost) - 1} more) in its group: this pytest and "
            "pytest-xdist do not work together (see the pytest pin in pyproject.toml)"
        )


@pytest.fixture(scope="session")
def optimade_server(tmp_path_factory):
    """optimade-python-tools' reference server on 127.0.0.1 with its bundled test data
    (``tests/optimade_server.py``), for the whole session; stopped after."""
    from tests.optimade_server import OptimadeServer

    server = OptimadeServer(tmp_path_factory.mktemp("optimade")).start()
    try:
        yield server
    finally:
        server.stop()
