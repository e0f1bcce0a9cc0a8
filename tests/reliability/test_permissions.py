"""Every directory the package creates is 0700 and every file 0600, whatever the umask."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytest.importorskip("parsl")


def test_every_path_is_private_under_umask_022(tmp_path):
    # the intermediate dirs of the home are the package's too: it creates them
    home, config = tmp_path / "a" / "b" / "home", tmp_path / "c" / "config"
    env = {
        **os.environ,
        "CRYSTALWIDGETS_HOME": str(home),
        "CRYSTALWIDGETS_CONFIG": str(config),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "tests.reliability.umask_jobs"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=280,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    modes = json.loads(proc.stdout.strip().splitlines()[-1])
    mine = [tmp_path / "a", tmp_path / "a" / "b", tmp_path / "c"]  # created by the package too
    modes.update({str(p): oct(p.stat().st_mode & 0o777) for p in mine})
    wrong = {
        os.path.relpath(p, tmp_path): m
        for p, m in modes.items()
        if not Path(p).is_symlink() and m != ("0o700" if Path(p).is_dir() else "0o600")
    }
    assert not wrong, f"{len(wrong)} paths not private: {dict(sorted(wrong.items())[:60])}"
    # what the walk saw: each engine's files, quacc's job dirs, Parsl's run info
    seen = "\n".join(modes)
    for part in ("cw-stdout.txt", "cw-result.json", "cw-outcome.json", "runinfo", "parsl.log", "quacc-", "profiles.json", "jobs.sqlite"):
        assert part in seen, part
