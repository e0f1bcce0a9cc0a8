"""The Covalent engine (profile kind ``covalent``): each job a one-electron lattice.

- :mod:`.profiles`: the kind's model, and :func:`start_local_server` /
  :func:`stop_local_server` for crystalwidgets' own local server;
- :mod:`.runner`: :class:`CovalentRunner`, the Runner protocol on dispatch ids;
- :mod:`.electron`: the electron's body (claim, job process, cancel flag);
- :mod:`.dispatch`: the lattice and Covalent's client calls, each bounded;
- :mod:`.server`: status and cancel over HTTP with timeouts, and the local server.

Nothing here imports covalent until a job is dispatched.
"""

from __future__ import annotations

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "runner": ["CovalentRunner"],
        "profiles": ["CovalentProfile", "start_local_server", "stop_local_server"],
    },
)
