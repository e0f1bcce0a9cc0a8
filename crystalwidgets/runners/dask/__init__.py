"""The Dask engine (profile kinds ``dask-local``, ``dask-slurm``, ``dask-scheduler``).

- :mod:`.profiles`: the kinds' models and the clusters they build;
- :mod:`.runner`: :class:`DaskRunner`, the Runner protocol on a ``distributed.Client``;
- :mod:`.task`: the Dask task each job is (runs the job in the worker's job process, see
  :mod:`crystalwidgets.runners.worker`).

Nothing here imports dask until a job is submitted.
"""

from __future__ import annotations

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "runner": ["DaskRunner"],
        "profiles": ["DaskLocalProfile", "DaskSchedulerProfile", "DaskSlurmProfile"],
    },
)
