"""How many threads a job's numerical libraries may start.

OpenBLAS, MKL and OpenMP start one thread per core of the machine by default, in
every process. Jobs that share a machine (the local runner's processes, the
workers of an HTEX block) then run cores x jobs threads that spin against each
other: two EMT relaxations side by side on this 2-core VM took 1.27 s each
instead of 0.066 s. Each job process therefore gets the cores it was given
(``cores // max_workers`` locally, ``cores_per_worker`` on HTEX), unless the
user's environment or ``worker_init`` already sets the variable: that wins.
"""

from __future__ import annotations

import os

__all__ = ["THREAD_VARS", "thread_env", "thread_exports"]

#: The variables each library reads at start-up (the set joblib's loky limits too).
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def _count(cores: float) -> str:
    return str(max(1, int(cores)))


def thread_env(cores: float) -> dict[str, str]:
    """This process's environment with every unset :data:`THREAD_VARS` set to ``cores``."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env.setdefault(var, _count(cores))
    return env


def thread_exports(cores: float) -> str:
    """Shell lines doing what :func:`thread_env` does, for a worker's start script."""
    n = _count(cores)
    return "\n".join(f'export {var}="${{{var}:-{n}}}"' for var in THREAD_VARS)
