"""Cluster profiles: where jobs run, as named, validated records saved privately.

``ProfileStore`` reads and saves them; each kind is a pydantic model (:mod:`.base`,
engine kinds with their runner) found through :mod:`.kinds`; :mod:`.checks` holds the
pre-flight checks as pure functions, :mod:`.slurm` the Slurm commands they use.

    >>> from crystalwidgets.profiles import ProfileStore
    >>> ProfileStore().save({"kind": "parsl-slurm", "name": "debug", "walltime": "00:30:00"})
"""

from __future__ import annotations

from .base import LocalProfile, Profile
from .kinds import kind_names, profile_kinds, register_kind, unregister_kind
from .store import ProfileStore, parse_profile

__all__ = [
    "LocalProfile",
    "Profile",
    "ProfileStore",
    "kind_names",
    "parse_profile",
    "profile_kinds",
    "register_kind",
    "unregister_kind",
]
