"""A real Covalent server for the session, isolated from any Covalent of the user.

Covalent's client and server keep their config, database and caches under HOME,
COVALENT_CONFIG_DIR and the XDG dirs: all point into the session's tmp dir before
covalent is first imported here. The server runs on a free port, is started within a
bound and stopped after the session; nothing of it may be left running.
"""

from __future__ import annotations

import os

import psutil
import pytest

from crystalwidgets.runners.covalent.server import LocalServer
from tests.runners.covalent.support import free_port, server_processes

#: Longest wait for the session's server to start (measured: 6-13 s).
START_S = 120


@pytest.fixture(scope="session", autouse=True)
def covalent_home(tmp_path_factory):
    """HOME, COVALENT_CONFIG_DIR and the XDG dirs of the session, in its tmp dir (for every test
    here: any of them may import covalent, which writes its config file on import)."""
    root = tmp_path_factory.mktemp("covalent")
    saved = {k: os.environ.get(k) for k in ("HOME", "COVALENT_CONFIG_DIR", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME")}
    for key, sub in (("HOME", "home"), ("COVALENT_CONFIG_DIR", "client-config"), ("XDG_CACHE_HOME", "cache"), ("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config")):
        path = root / sub
        path.mkdir()
        os.environ[key] = str(path)
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def covalent_server(covalent_home):
    """A real Covalent server (local executor) on a free port: its address."""
    server = LocalServer(covalent_home / "server", free_port())
    address = server.start(timeout=START_S)
    procs = server_processes(server)
    assert procs, "the server runs but its pid file names no live process"
    yield address
    server.stop()
    left = [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, f"processes of the Covalent server left after its stop: {left}"
    assert not server.running(timeout=1)
