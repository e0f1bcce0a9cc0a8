"""VASP tests: quacc's settings isolated from the user's (no ~/.quacc.yaml, no VASP_* variables)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest

from tests.vasp.potcars import potcar_tree


@pytest.fixture
def quacc_env(tmp_path, monkeypatch):
    """quacc reads an empty config file of the test's own; no pseudopotential library is set;
    the VASP stand-in (``fake_vasp.py``) is the program, so jobs may be recorded on this machine."""
    for var in ("VASP_PP_PATH", "QUACC_VASP_PP_PATH", "VASP_PP_VERSION", "QUACC_VASP_PP_VERSION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("QUACC_VASP_CMD", f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'fake_vasp.py'))}")
    config = tmp_path / "quacc.yaml"
    config.write_text("{}\n")
    config.chmod(0o600)
    monkeypatch.setenv("QUACC_CONFIG_FILE", str(config))
    return config


@pytest.fixture
def pp_lib(tmp_path, monkeypatch, quacc_env):
    """A synthetic library with PBE.64 Si, O, Fe, Fe_pv and LDA.64 Si, set by QUACC_VASP_PP_PATH."""
    root = potcar_tree(
        tmp_path / "pseudos",
        {
            "potpaw_PBE.64": {"Si": "PE", "O": "PE", "Fe": "PE", "Fe_pv": "PE"},
            "potpaw_LDA.64": {"Si": "CA", "O": "CA"},
        },
    )
    monkeypatch.setenv("QUACC_VASP_PP_PATH", str(root))
    return root


HERE = Path(__file__).resolve().parent
SI2 = HERE / "outputs" / "si2"


@pytest.fixture
def fake_vasp(pp_lib, monkeypatch):
    """quacc's VASP commands run the stand-in (``fake_vasp.py``) replaying ``outputs/si2``.

    Returns a function setting the scenario (``clean``, ``tetrahedron``, ``broken``). Job
    processes get ``fast_custodian`` on their path: custodian polls every 0.05 s, not 10 s.
    """
    cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'fake_vasp.py'))}"
    monkeypatch.setenv("QUACC_VASP_CMD", cmd)
    monkeypatch.setenv("QUACC_VASP_GAMMA_CMD", cmd)
    monkeypatch.setenv("QUACC_VASP_PARALLEL_CMD", "")
    monkeypatch.setenv("CW_FAKE_VASP_SET", str(SI2))
    path = [str(HERE / "fast_custodian"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(path))

    def scenario(name: str = "clean") -> None:
        monkeypatch.setenv("CW_FAKE_VASP_SCENARIO", name)

    scenario()
    return scenario


@pytest.fixture
def si2():
    """The structure the recorded output set was computed for."""
    from ase.io import read

    return read(SI2 / "POSCAR.gz", format="vasp")
