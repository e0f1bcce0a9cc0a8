"""Runners: one module per engine behind the protocol in :mod:`._base`.

Engine modules (parsl, dask, covalent) are imported only when a profile of
that kind is first used.
"""

from ._base import JobEvent, Runner, Task

__all__ = ["JobEvent", "Runner", "Task"]
