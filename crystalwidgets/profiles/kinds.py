"""Which profile kinds exist: a static map of the built-in kinds, plus any registered.

The map names each kind's model as ``"module:Class"`` and imports it on first use, so
this package imports no engine and no engine imports it back at import time (the
engines' models subclass :class:`~.base.Profile`; nothing here imports them eagerly).
"""

from __future__ import annotations

from importlib import import_module

from .base import Profile

__all__ = ["BUILTIN_KINDS", "kind_class", "kind_names", "profile_kinds", "register_kind", "unregister_kind"]

#: kind -> "module:Class" of its model.
BUILTIN_KINDS = {
    "local": "crystalwidgets.profiles.base:LocalProfile",
    "parsl-threads": "crystalwidgets.runners.parsl.profiles:ParslThreadsProfile",
    "parsl-local": "crystalwidgets.runners.parsl.profiles:ParslLocalProfile",
    "parsl-slurm": "crystalwidgets.runners.parsl.profiles:ParslSlurmProfile",
    "dask-local": "crystalwidgets.runners.dask.profiles:DaskLocalProfile",
    "dask-slurm": "crystalwidgets.runners.dask.profiles:DaskSlurmProfile",
    "dask-scheduler": "crystalwidgets.runners.dask.profiles:DaskSchedulerProfile",
    "covalent": "crystalwidgets.runners.covalent.profiles:CovalentProfile",
}

_REGISTERED: dict[str, type[Profile]] = {}


def register_kind(cls: type[Profile]) -> type[Profile]:
    """Add a profile kind of your own (usable as a class decorator); returns ``cls``."""
    _REGISTERED[cls.model_fields["kind"].default] = cls
    return cls


def unregister_kind(kind: str) -> None:
    """Forget a kind added with :func:`register_kind` (the built-in ones stay)."""
    _REGISTERED.pop(kind, None)


def kind_names() -> list[str]:
    """Every kind's name, built-in first; imports nothing."""
    return [*BUILTIN_KINDS, *(k for k in _REGISTERED if k not in BUILTIN_KINDS)]


def kind_class(kind: str) -> type[Profile]:
    """The model of ``kind`` (imports its module the first time). KeyError when unknown."""
    if kind in _REGISTERED:
        return _REGISTERED[kind]
    module, _, name = BUILTIN_KINDS[kind].partition(":")
    return getattr(import_module(module), name)


def profile_kinds() -> dict[str, type[Profile]]:
    """Every kind by name, its model imported."""
    return {kind: kind_class(kind) for kind in kind_names()}
