"""A store that can only be read is refused at open, saying so and what to do, and is left as it was.

The tests run as root in CI, and root writes to a 0400 file anyway. So each case opens the
store in a child process that cannot override file modes: as root, with
``setpriv --bounding-set=-dac_override,-dac_read_search`` (root then obeys the modes of the
files it owns, as any user does); as another user, directly. The read-only mount case
bind-mounts the home read-only inside a mount namespace of the child's own
(``unshare --mount``), so no mount outlives it; it is skipped where mounting is not allowed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crystalwidgets import JobManager
from tests.helpers import ROOT

_OPEN = """
import json, sys
from crystalwidgets import JobManager
try:
    JobManager(sys.argv[1]).close()
    print(json.dumps({"opened": True}))
except Exception as exc:
    print(json.dumps({"type": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__], "message": str(exc)}))
"""


def _no_override() -> list[str]:
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot drop CAP_DAC_OVERRIDE")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def _open_in_child(home: Path, prefix: list[str] | None = None) -> dict:
    cmd = [*(_no_override() if prefix is None else prefix), sys.executable, "-c", _OPEN, str(home)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, cwd=home.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _state(home: Path) -> dict[str, tuple[int, str]]:
    """Every path under home: its mode and the hash of its bytes."""
    out = {}
    for p in sorted(home.rglob("*")):
        data = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        out[str(p.relative_to(home))] = (p.stat().st_mode & 0o777, data)
    return out


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home whose store holds a job's structure, closed (no -wal or -shm left)."""
    from ase.build import bulk

    from crystalwidgets.structures.codec import structure_hash, structure_to_dict

    monkeypatch.setenv("CRYSTALWIDGETS_CONFIG", str(tmp_path / "config"))
    path = tmp_path / "home"
    mgr = JobManager(path)
    cu = bulk("Cu")
    mgr.store.put_structure(structure_hash(cu), structure_to_dict(cu))
    mgr.close()
    return path


def _assert_refused(result: dict, reason: str) -> None:
    assert result.get("type") == "ReadOnlyStoreError", result
    assert "StoreError" in result["mro"] and "CrystalWidgetsError" in result["mro"]
    message = result["message"]
    assert "can only be read here" in message, message
    assert reason in message, message
    assert "CRYSTALWIDGETS_HOME" in message and "nothing was changed" in message, message


def test_a_read_only_store_file_is_refused_at_open(home):
    store = home / "jobs.sqlite"
    store.chmod(0o400)
    before = _state(home)
    _assert_refused(_open_in_child(home), "the file is read-only (mode 0400; chmod u+w")
    assert _state(home) == before  # no -wal/-shm made, nothing chmod'ed


def test_a_store_in_a_directory_that_is_not_writable_is_refused_at_open(home):
    home.chmod(0o500)
    try:
        before = _state(home)
        _assert_refused(_open_in_child(home), f"its directory {home} is not writable (mode 0500)")
        assert _state(home) == before
        assert home.stat().st_mode & 0o777 == 0o500  # not made writable behind the user's back
    finally:
        home.chmod(0o700)


def test_a_store_on_a_read_only_mount_is_refused_at_open(home, tmp_path):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("bind mounts need root and unshare")
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, timeout=10)
    if probe.returncode:
        pytest.skip(f"no mount namespace here: {probe.stderr.decode()[-200:]}")
    # the child mounts home read-only over itself in a namespace of its own, then opens it
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(home)]
    before = _state(home)
    _assert_refused(_open_in_child(home, prefix), f"the file system holding {home} is mounted read-only")
    assert _state(home) == before
