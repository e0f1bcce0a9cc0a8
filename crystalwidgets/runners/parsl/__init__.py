"""The Parsl engine (profile kinds ``parsl-threads``, ``parsl-local``, ``parsl-slurm``).

- :mod:`.profiles`: the kinds' models and the Parsl configs they build;
- :mod:`.runner`: :class:`ParslRunner`, the Runner protocol on DataFlowKernels;
- :mod:`.app`: the Parsl app each job is, and the worker's side of the link;
- :mod:`.job_process`: the process a worker runs its jobs in (killable as a group);
- :func:`leftover_blocks` / :func:`cleanup_leftovers`: Slurm blocks of kernels that died.

Nothing here imports parsl until a job is submitted.
"""

from __future__ import annotations

from typing import Any

_NAMES = {
    "ParslRunner": ".runner",
    "leftover_blocks": ".runner",
    "cleanup_leftovers": ".runner",
    "ParslThreadsProfile": ".profiles",
    "ParslLocalProfile": ".profiles",
    "ParslSlurmProfile": ".profiles",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    try:
        module_name = _NAMES[name]
    except KeyError:
        raise AttributeError(f"module 'crystalwidgets.runners.parsl' has no attribute {name!r}") from None
    from importlib import import_module

    value = getattr(import_module(module_name, __name__), name)
    globals()[name] = value
    return value
