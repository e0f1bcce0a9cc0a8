"""Does ``worker_init`` give Parsl's workers a usable Python? Checked here or on a compute node.

The probe (:data:`ENV_PROBE`) runs after ``worker_init`` and prints whether Parsl's
``process_worker_pool.py`` is on PATH and which versions of crystalwidgets, quacc and parsl
its Python finds; :func:`worker_env_problems` judges that output (a pure function).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from typing import Any

from ..._files import home_dir, private_dir
from ...profiles import slurm as _slurm
from ...profiles.checks import slurm_error_field

__all__ = ["ENV_PROBE", "probe_here", "probe_on_node", "worker_env_problems"]

_ENV_CHECK_TIMEOUT_S = 60.0


#: Shell run after ``worker_init``: is Parsl's worker on PATH, and can its Python
#: import crystalwidgets, quacc and parsl (found without importing them)?
ENV_PROBE = r"""
p=$(command -v process_worker_pool.py) || { echo CW-NOPOOL; exit 0; }
py=$(head -1 "$p" | sed 's/^#!//')
$py - <<'CWPY'
import importlib.util, json, sys
from importlib.metadata import version, PackageNotFoundError
out = {"python": sys.executable}
for mod in ("crystalwidgets", "quacc", "parsl"):
    try:
        out[mod] = version(mod) if importlib.util.find_spec(mod) else None
    except PackageNotFoundError:
        out[mod] = "unknown"
print("CW-ENV " + json.dumps(out))
CWPY
"""


def worker_env_problems(output: str, where: str, worker_init: str) -> list[str]:
    """Problems in what :data:`ENV_PROBE` printed after ``worker_init``."""
    init = (
        "worker_init" if worker_init.strip() else "worker_init (empty: this kernel's PATH)"
    )
    if "CW-NOPOOL" in output:
        return [
            f"{init}: on {where} it gives no process_worker_pool.py on PATH, so Parsl's "
            "workers cannot start; make it activate the environment where crystalwidgets, "
            "quacc and parsl are installed (e.g. `source /path/to/venv/bin/activate`)"
        ]
    m = re.search(r"^CW-ENV (.*)$", output, re.M)
    if not m:
        tail = output.strip()[-800:]
        return [f"{init}: on {where} it did not run to the end; its output:\n{tail}"]
    found = json.loads(m.group(1))
    problems = []
    missing = [mod for mod in ("crystalwidgets", "quacc", "parsl") if not found.get(mod)]
    if missing:
        problems.append(
            f"{init}: on {where} the workers' Python ({found.get('python')}) cannot import "
            f"{', '.join(missing)}; install them there or activate the environment that has them"
        )
    from importlib.metadata import version

    ours = version("parsl")
    if found.get("parsl") and found["parsl"] != ours:
        problems.append(
            f"{init}: on {where} the workers have parsl {found['parsl']} but this kernel has "
            f"{ours}; Parsl refuses workers of another version (jobs would wait forever): "
            f"install parsl=={ours} there"
        )
    return problems


def probe_here(profile: Any) -> list[str]:
    """Run ``worker_init`` plus :data:`ENV_PROBE` on this host (bounded) and judge it."""
    try:
        proc = subprocess.run(
            ["bash", "-c", profile.effective_worker_init() + "\n" + ENV_PROBE],
            capture_output=True,
            text=True,
            timeout=_ENV_CHECK_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return [
            f"worker_init: did not finish within {_ENV_CHECK_TIMEOUT_S:.0f} s on this host; "
            "remove anything interactive or slow from it"
        ]
    return worker_env_problems(proc.stdout + proc.stderr, "this host", profile.worker_init)


def probe_on_node(profile: Any, timeout: float) -> list[str]:
    """Run ``worker_init`` + the env probe as a tiny Slurm job; judge what it printed."""
    check_dir = private_dir(home_dir() / "runners" / profile.name / "checks")
    tag = uuid.uuid4().hex[:8]
    script = check_dir / f"check-{tag}.sh"
    out = check_dir / f"check-{tag}.out"
    script.write_text("#!/bin/bash\n" + profile.effective_worker_init() + "\n" + ENV_PROBE)
    opts = [
        o
        for o in profile.sbatch_options()
        if not o.startswith(("--time", "--nodes", "--exclusive"))
    ]
    try:
        text = _slurm.run(
            [
                "sbatch",
                "--parsable",
                f"--job-name=cw-check.{profile.name}",
                "--time=00:02:00",
                "--nodes=1",
                f"--output={out}",
                *opts,
                str(script),
            ]
        )
    except _slurm.SlurmError as exc:
        return [f"{slurm_error_field(str(exc))}: the check job was refused: {exc}"]
    job_id = text.strip().split(";")[0]
    deadline = time.monotonic() + timeout
    job = None
    try:
        while time.monotonic() < deadline:
            jobs = _slurm.queue(job_ids=[job_id])
            job = jobs[0] if jobs else None
            if job is None or job.finished:
                break
            if job.never_starts:
                return [
                    f"partition: Slurm will never start the check job {job_id} "
                    f"({job.reason}); fix the profile's limits"
                ]
            time.sleep(0.5)
        else:
            reason = f" (Slurm's reason: {job.reason})" if job else ""
            return [
                f"worker_init: the check job {job_id} did not finish within {timeout:.0f} s"
                f"{reason}, so the compute nodes' environment could not be tested; try "
                "again with a longer timeout when the queue is shorter"
            ]
    finally:
        _slurm.cancel([job_id])
    for _ in range(20):  # the output file may lag behind the job's end on shared file systems
        if out.exists():
            break
        time.sleep(0.25)
    output = out.read_text(errors="replace") if out.exists() else ""
    script.unlink(missing_ok=True)
    out.unlink(missing_ok=True)
    return worker_env_problems(output, f"a compute node (check job {job_id})", profile.worker_init)
