"""A VASP relax with the stand-in vasp_std on the real local Slurm, through the parsl-slurm runner.

The quacc settings reach the Slurm workers through the profile's ``worker_init``, as on a
cluster, the POTCAR library only there; the POTCAR check, in this process before the
submit, reads the library from that ``worker_init``.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest

from crystalwidgets import JobManager, JobState
from crystalwidgets.errors import RecipeValidationError
from crystalwidgets.profiles import ProfileStore
from tests.runners.parsl.test_slurm import _HOMES, _blocks, _profile, slurm  # noqa: F401 (fixture)
from tests.helpers import wait_until

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(400)]

_PASSED = (
    "QUACC_CONFIG_FILE", "QUACC_VASP_PP_PATH", "QUACC_VASP_CMD", "QUACC_VASP_GAMMA_CMD",
    "QUACC_VASP_PARALLEL_CMD", "CW_FAKE_VASP_SET", "CW_FAKE_VASP_SCENARIO", "PYTHONPATH",
)


@pytest.fixture
def vasp_slurm(cw_home, slurm, fake_vasp, monkeypatch):  # noqa: F811
    _HOMES.append(cw_home)
    venv = shlex.quote(str(Path(sys.executable).parent))
    exports = "\n".join([f'export PATH={venv}:"$PATH"', *(f"export {k}={shlex.quote(os.environ[k])}" for k in _PASSED)])
    ProfileStore().save(_profile(name="vasp-slurm", max_workers_per_node=1, worker_init=exports))
    monkeypatch.delenv("QUACC_VASP_PP_PATH")  # the library is set on the workers only, as on many clusters
    mgr = JobManager(monitor_interval=0.5)
    yield mgr
    mgr.close()
    wait_until(lambda: not _blocks(), 30, f"no block left after the test, still: {_blocks()}", 0.5)


def test_vasp_relax_on_slurm_summarises_the_recorded_run(vasp_slurm, si2):
    from ase.build import bulk

    with pytest.raises(RecipeValidationError, match="Al: no POTCAR") as refused:  # before any block
        vasp_slurm.submit(bulk("Al"), "vasp.relax_job", "vasp-slurm")
    assert "QUACC_VASP_PP_PATH" not in os.environ  # the check read the profile's worker_init
    (_, message), = refused.value.problems
    assert "/potpaw_PBE.64/Al/POTCAR" in message
    assert vasp_slurm.jobs() == [] and not _blocks()
    job = vasp_slurm.submit(si2, "vasp.relax_job", "vasp-slurm")
    (rec,) = vasp_slurm.wait([job.id], timeout=300)
    assert rec.state is JobState.COMPLETED, rec.error
    assert rec.engine_ref["slurm_job_id"]
    s = rec.summary
    assert s["energy_ev"] == pytest.approx(-10.8504362, abs=1e-8)
    assert s["band_gap_ev"] == pytest.approx(0.6167, abs=1e-4) and s["custodian_restarts"] == 0


def test_a_launcher_set_only_in_quaccs_settings_file_is_checked(cw_home, slurm, quacc_env, monkeypatch):  # noqa: F811
    from crystalwidgets.runners.parsl.profiles import ParslSlurmProfile

    monkeypatch.delenv("QUACC_VASP_PARALLEL_CMD", raising=False)
    quacc_env.write_text('VASP_PARALLEL_CMD: "srun -n 4"\n')
    venv = shlex.quote(str(Path(sys.executable).parent))
    prof = ParslSlurmProfile(name="vasp", partition="debug", walltime="00:10:00", launcher="srun",
                             worker_init=f'export PATH={venv}:"$PATH"')
    msgs = prof.check()
    assert [m.split(":")[0] for m in msgs] == ["launcher", "cores_per_worker"], msgs
    assert "from VASP_PARALLEL_CMD in quacc's settings file" in msgs[0] and "--overlap" in msgs[0]
