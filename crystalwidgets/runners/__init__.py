"""Runners: one per engine behind the protocol in :mod:`.base` (``local``; ``parsl/``).

Engine modules (parsl, dask, covalent) are imported only when a profile of that kind
is first used.
"""

from .base import Runner

__all__ = ["Runner"]
