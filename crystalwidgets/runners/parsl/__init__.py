"""The Parsl engine (profile kinds ``parsl-threads``, ``parsl-local``, ``parsl-slurm``).

- :mod:`.profiles`: the kinds' models and the Parsl configs they build;
- :mod:`.runner`: :class:`ParslRunner`, the Runner protocol on DataFlowKernels;
- :mod:`.app`: the Parsl app each job is, and the worker's side of the link;
- the job process each worker runs its jobs in: :mod:`crystalwidgets.runners.worker`;
- :func:`leftover_blocks` / :func:`cleanup_leftovers`: Slurm blocks of kernels that died.

Nothing here imports parsl until a job is submitted.
"""

from __future__ import annotations

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "runner": ["ParslRunner", "cleanup_leftovers", "leftover_blocks"],
        "profiles": ["ParslLocalProfile", "ParslSlurmProfile", "ParslThreadsProfile"],
    },
)
