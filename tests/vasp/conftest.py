"""VASP tests: quacc's settings isolated from the user's (no ~/.quacc.yaml, no VASP_* variables)."""

from __future__ import annotations

import pytest

from tests.vasp.potcars import potcar_tree


@pytest.fixture
def quacc_env(tmp_path, monkeypatch):
    """quacc reads an empty config file of the test's own; no pseudopotential library is set."""
    for var in ("VASP_PP_PATH", "QUACC_VASP_PP_PATH", "VASP_PP_VERSION", "QUACC_VASP_PP_VERSION"):
        monkeypatch.delenv(var, raising=False)
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
