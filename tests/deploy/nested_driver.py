"""Run inside a Slurm job by ``test_nested.py``: a JobManager submits one ``parsl-slurm`` and
one ``dask-slurm`` job from inside this allocation and writes what the jobs saw as JSON.

Usage: ``python -m tests.deploy.nested_driver OUT.json [--inherit]``; ``--inherit`` turns
the environment cleaning off (to show what it prevents).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from ase.build import bulk


def main(out: str, inherit: bool) -> None:
    from crystalwidgets import JobManager
    from crystalwidgets.profiles import ProfileStore
    from crystalwidgets.profiles import slurm as slurm_mod
    from crystalwidgets.runners.dask.profiles import DaskSlurmProfile
    from crystalwidgets.runners.parsl.profiles import ParslSlurmProfile
    from tests.runners.jobs import slurm_env_job

    if inherit:  # what the runners did before: the kernel's whole environment
        slurm_mod.submit_env = lambda environ=None: dict(os.environ if environ is None else environ)
    common = dict(partition="debug", walltime="00:05:00", address="127.0.0.1")
    store = ProfileStore()
    # srun launches the workers (as on most sites) and the block asks for memory per node:
    # with the parent's SLURM_MEM_PER_CPU inherited, srun refuses to start
    store.save(ParslSlurmProfile(name="nested-parsl", launcher="srun", exclusive=False, mem_per_node=1,
                                 max_workers_per_node=1, max_idletime=5, **common))
    store.save(DaskSlurmProfile(name="nested-dask", cores=1, processes=1, memory="1GiB", **common))
    results: dict = {"outer": {k: os.environ.get(k) for k in ("SLURM_JOB_ID", "SLURM_MEM_PER_CPU")}}
    mgr = JobManager(monitor_interval=0.5)
    try:
        for profile in ("nested-parsl", "nested-dask"):
            t0 = time.monotonic()
            job = mgr.submit(bulk("Cu"), slurm_env_job, profile)
            try:
                (rec,) = mgr.wait([job.id], timeout=float(os.environ.get("CW_NESTED_TIMEOUT", "150")))
            except TimeoutError as exc:  # e.g. Slurm busy with other users' jobs: say so
                rec = mgr.get(job.id)
                rec_error = f"{exc}; squeue: {subprocess.run(['squeue'], capture_output=True, text=True).stdout}"
                results[profile] = {"state": rec.state.value, "error": rec_error, "env": None, "block": None}
                break
            results[profile] = {
                "state": rec.state.value,
                "error": rec.error,
                "env": mgr.result(job.id) if rec.state.value == "completed" else None,
                "block": (rec.engine_ref or {}).get("slurm_job_id"),
                "seconds": round(time.monotonic() - t0, 1),
            }
            print(profile, results[profile], flush=True)
    finally:
        t0 = time.monotonic()
        mgr.close()
        results["close_s"] = round(time.monotonic() - t0, 1)
        with open(out, "w") as fh:
            json.dump(results, fh)


if __name__ == "__main__":
    main(sys.argv[1], "--inherit" in sys.argv[2:])
