"""Run under umask 022 (what most systems give): one local, one parsl-threads and one parsl-local
job, then print every path under the home and config dirs with its mode, as JSON.

``python -m tests.reliability.umask_jobs`` with CRYSTALWIDGETS_HOME and CRYSTALWIDGETS_CONFIG set.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def modes(*roots: Path) -> dict[str, str]:
    """``{path: "0o700"}`` for every directory and file under ``roots`` (symlinks not followed)."""
    out = {}
    for root in roots:
        for base, dirs, files in os.walk(root):
            for name in [*dirs, *files]:
                path = Path(base) / name
                out[str(path)] = oct(path.lstat().st_mode & 0o777)
        out[str(root)] = oct(root.lstat().st_mode & 0o777)
    return out


def main() -> int:
    os.umask(0o022)
    from ase.build import bulk

    from crystalwidgets import JobManager, JobState
    from crystalwidgets.profiles import ProfileStore
    from crystalwidgets.runners.parsl.profiles import ParslLocalProfile, ParslThreadsProfile

    store = ProfileStore()
    store.save(ParslThreadsProfile(name="threads", max_threads=1))
    store.save(ParslLocalProfile(name="htex", max_workers_per_node=1, max_idletime=30))
    mgr = JobManager(monitor_interval=0.5)
    try:
        jobs = [mgr.submit(bulk("Cu"), "emt.relax_job", profile) for profile in ("local", "threads", "htex")]
        done = mgr.wait([j.id for j in jobs], timeout=240)
        states = {r.profile: (r.state.value, r.error) for r in done}
        assert all(r.state is JobState.COMPLETED for r in done), states
    finally:
        mgr.close()
    home = Path(os.environ["CRYSTALWIDGETS_HOME"])
    config = Path(os.environ["CRYSTALWIDGETS_CONFIG"])
    json.dump(modes(home, config), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
