"""Nested submission: a JobManager inside a Slurm job (as a kernel under batchspawner is)
submits ``parsl-slurm`` and ``dask-slurm`` jobs, which get allocations of their own.

The outer job asks for ``--mem-per-cpu``; the blocks ask for memory per node. Had the
blocks inherited the outer job's ``SLURM_*`` (sbatch copies the submitter's environment),
the Parsl block's ``srun`` would stop at once with "SLURM_MEM_PER_CPU, SLURM_MEM_PER_GPU,
and SLURM_MEM_PER_NODE are mutually exclusive". What each job saw is its own environment,
written by the job itself; Slurm's queue is read with squeue.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.helpers import ROOT, wait_until
from tests.runners.slurm import slurm_problem, squeue

pytestmark = pytest.mark.slurm


@pytest.fixture
def slurm():
    problem = slurm_problem()
    if problem:
        pytest.skip(problem)


def _run_outer(tmp_path, *args: str, timeout: float = 240) -> tuple[str, dict]:
    """sbatch the driver with --mem-per-cpu (1 CPU); wait until Slurm has let it go."""
    out = tmp_path / "nested.json"
    script = tmp_path / "outer.sh"
    script.write_text(
        f"#!/bin/bash\ncd {ROOT}\nexec {sys.executable} -m tests.deploy.nested_driver {out} {' '.join(args)}\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), CRYSTALWIDGETS_HOME=str(tmp_path / "home"),
               CRYSTALWIDGETS_CONFIG=str(tmp_path / "config"))
    name = f"cw-nested-{uuid.uuid4().hex[:8]}"
    job_id = subprocess.run(
        ["sbatch", "--parsable", f"--job-name={name}", "--cpus-per-task=1", "--mem-per-cpu=100M",
         "--time=00:05:00", f"--output={tmp_path / 'outer.out'}", str(script)],
        env=env, capture_output=True, text=True, timeout=15, check=True,
    ).stdout.strip().split(";")[0]
    try:
        wait_until(lambda: not [j for j in squeue("-j", job_id) if j["id"] == job_id], timeout,
                   f"the outer job {job_id} to end", interval=0.5)
    finally:
        subprocess.run(["scancel", job_id], timeout=15)
    log = (tmp_path / "outer.out").read_text(errors="replace") if (tmp_path / "outer.out").exists() else ""
    assert out.exists(), f"the driver wrote no result; its output:\n{log[-3000:]}"
    return job_id, json.loads(out.read_text())


def test_jobs_submitted_from_inside_an_allocation_get_their_own(slurm, tmp_path):
    outer_id, seen = _run_outer(tmp_path)
    assert seen["outer"] == {"SLURM_JOB_ID": outer_id, "SLURM_MEM_PER_CPU": "100"}
    assert "nested-parsl" in seen and "nested-dask" in seen, seen
    for profile, mem_per_node in (("nested-parsl", "1024"), ("nested-dask", "1024")):
        job = seen[profile]
        assert job["state"] == "completed", f"{profile}: {job['error']}"
        env = job["env"]
        # its own allocation: another job id, the block Slurm knows, its own memory and CPUs
        assert env["SLURM_JOB_ID"] != outer_id and env["SLURM_JOB_ID"] == job["block"], (profile, env)
        assert env["SLURM_MEM_PER_CPU"] is None, (profile, env)
        assert env["SLURM_MEM_PER_NODE"] == mem_per_node, (profile, env)
        assert env["SLURM_JOB_CPUS_PER_NODE"] == "1" and env["cpus"] >= 1, (profile, env)
    assert not [j for j in squeue() if j["id"] in {outer_id, *(seen[p]["block"] for p in ("nested-parsl", "nested-dask"))}]
