"""The import-linter contract in pyproject.toml: it passes, and it fails on an upward import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"]


def _lint(package_parent: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(package_parent), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(
        [*LINT, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_the_package_keeps_its_layers(tmp_path):
    out = _lint(ROOT, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 kept, 0 broken" in out.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "crystalwidgets", copy / "crystalwidgets", ignore=shutil.ignore_patterns("static", "__pycache__"))
    store = copy / "crystalwidgets" / "jobs" / "store.py"
    store.write_text(store.read_text() + "\nfrom ..widgets import JobTable  # upward: core -> widgets\n")
    local = copy / "crystalwidgets" / "runners" / "local.py"
    local.write_text(local.read_text() + "\nfrom .parsl import runner as _other_engine  # engine -> engine\n")
    out = _lint(copy, tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "0 kept, 2 broken" in out.stdout
    assert "crystalwidgets.jobs.store -> crystalwidgets.widgets" in out.stdout
    assert "crystalwidgets.runners.local -> crystalwidgets.runners.parsl.runner" in out.stdout
