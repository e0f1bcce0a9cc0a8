"""Fixtures of the deployment tests: a real JupyterHub spawning servers on the local Slurm
(``hub.py``) and headless Chromium to log in to it (``../browser/_lab.py``).

``hub`` (module): a unix user made for the module, the Python its Slurm job runs, the hub on
127.0.0.1; after the module the hub is stopped (it scancels the server), the user's Slurm
jobs and processes are ended and the user and its home removed. Skipped, with the reason,
when Slurm is down, the proxy is not installed, the run is not root (a hub that starts
servers as other users runs as root) or this test environment is not readable by other
users (their servers could not run it).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "browser"))

from _lab import CHROMIUM, chromium  # noqa: E402

from tests.deploy.hub import HubUser, JupyterHub, KernelEnv, Unreadable, hub_problem  # noqa: E402
from tests.runners.slurm import slurm_problem  # noqa: E402


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory):
    problem = slurm_problem() or hub_problem()
    if problem:
        pytest.skip(problem)
    user = HubUser()
    scratch = Path(tempfile.mkdtemp(prefix="cw-hub-env-"))  # made readable by all: the user's Python
    server = None
    try:
        try:
            env = KernelEnv(user, scratch)
        except Unreadable as exc:  # the hub's users could not run this install at all
            pytest.skip(str(exc))
        server = JupyterHub(tmp_path_factory.mktemp("jupyterhub"), user, env)
        server.start()
        yield server
    finally:
        try:
            if server is not None:
                server.stop()
        finally:
            user.remove()
            shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="module")
def hub_browser():
    if not CHROMIUM.exists():
        pytest.skip(f"the hub's browser test needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    with chromium() as browser:
        yield browser
