"""Installing where there is no clone and no Node: a wheel built from this checkout carries the
JS bundles and the quickstart notebook; installed into a fresh venv with no npm on PATH,
``crystalwidgets quickstart --headless`` runs the quickstart from a directory that is not the
checkout. The venv takes the dependencies from this environment's site-packages (a ``.pth``
line, which does not run the editable install's finder) and the package from the wheel
(``--no-deps``), so the package files tested are the wheel's: seconds, not the minutes of a
full install of quacc, pymatgen and ASE from PyPI."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from tests.helpers import ROOT


def test_the_wheel_runs_the_quickstart_without_a_clone_or_npm(tmp_path: Path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = dist.glob("crystalwidgets-*.whl")

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    (Path(purelib) / "_deps_from_main_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {
        "PATH": f"{env_dir / 'bin'}:/nonexistent",  # no npm, no node
        "HOME": str(tmp_path / "home"),
        "CRYSTALWIDGETS_HOME": str(tmp_path / "cw-home"),
        "CRYSTALWIDGETS_CONFIG": str(tmp_path / "cw-config"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    where = subprocess.run(
        [str(python), "-c", "import crystalwidgets, shutil; print(crystalwidgets.__file__); print(shutil.which('npm'))"],
        cwd=work, env=env, check=True, capture_output=True, text=True, timeout=60,
    ).stdout.split()
    assert where[0].startswith(str(env_dir)), where
    assert where[1] == "None", where

    run = subprocess.run(
        [str(env_dir / "bin" / "crystalwidgets"), "quickstart", "--headless"],
        cwd=work, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "emt.relax_job Cu: completed" in run.stdout, run.stdout[-2000:]
    assert "1 job(s)" in run.stdout, run.stdout[-2000:]
    assert (work / "01-quickstart.ipynb").exists()
