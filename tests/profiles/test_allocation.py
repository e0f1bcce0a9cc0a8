"""Inside a Slurm allocation: what Slurm's environment says, the profile on its cores, the picker's line.

The environment is given as a dict (what Slurm sets in a batch job); the same reading
inside a real ``sbatch`` job is in ``tests/runners/test_allocation_end.py``.
"""

from __future__ import annotations

import time

import pytest

from crystalwidgets.profiles import ProfileStore
from crystalwidgets.profiles.allocation import Allocation, allocation_profile, current_allocation

END = time.mktime((2031, 1, 1, 8, 10, 0, 0, 0, -1))


def test_reads_slurm_environment():
    env = {"SLURM_JOB_ID": "123", "SLURMD_NODENAME": "n042", "SLURM_CPUS_ON_NODE": "4",
           "SLURM_JOB_END_TIME": str(int(END)), "SLURM_JOB_PARTITION": "debug"}
    alloc = current_allocation(env, ask_slurm=False)
    assert alloc == Allocation("123", "n042", 4, END, "debug")
    assert alloc.describe().startswith("this kernel runs in Slurm job 123 on node n042, 4 cores, ends at 08:10")
    # several nodes: this node's share counts
    env2 = {"SLURM_JOB_ID": "7", "SLURM_JOB_CPUS_PER_NODE": "8(x2),4"}
    assert current_allocation(env2, ask_slurm=False).cpus == 8
    assert current_allocation({}, ask_slurm=False) is None


def test_allocation_profile_beside_the_others(tmp_path):
    alloc = Allocation("123", "n042", 4, END)
    inside = ProfileStore(tmp_path / "profiles.json", allocation=alloc)
    inside.save({"kind": "parsl-slurm", "name": "debug", "walltime": "00:30:00"})
    assert inside.names() == ["local", "allocation", "debug"]
    prof = inside.get("allocation")
    assert prof.kind == "local" and prof.max_workers == 4 and "Slurm job 123" in prof.description
    # outside an allocation it is not offered, but still resolves (a later kernel reattaches its jobs)
    outside = ProfileStore(tmp_path / "profiles.json", allocation=None)
    assert outside.names() == ["local", "debug"]
    assert outside.get("allocation").max_workers is None
    assert allocation_profile(None).name == "allocation"


@pytest.mark.parametrize("inside", [True, False])
def test_picker_says_so(tmp_path, inside):
    from crystalwidgets.widgets import ClusterPicker

    alloc = Allocation("123", "n042", 4, END) if inside else None
    picker = ClusterPicker(profiles=ProfileStore(tmp_path / "profiles.json", allocation=alloc))
    if inside:
        assert picker.allocation.startswith("This kernel runs in Slurm job 123 on node n042, 4 cores, ends at 08:10")
        assert "'allocation' runs jobs on its 4 cores" in picker.allocation
        assert picker.names() == ["local", "allocation"]
        picker.value = "allocation"
        assert picker.profile().max_workers == 4
    else:
        assert picker.allocation == "" and picker.names() == ["local"]
