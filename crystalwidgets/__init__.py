"""crystalwidgets: pick a crystal, a quacc recipe and a cluster; submit; watch.

The public API is small and shared by scripts and widgets::

    from crystalwidgets import JobManager, JobState, ProfileStore, load_structure, recipes

Importing this package imports no engine (parsl, dask, covalent) and no quacc
recipe module; those load when first needed.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

#: Every public name, once: where it lives. Errors and states load with the package;
#: the rest (ase, pymatgen, quacc's settings) on first use.
_PUBLIC = {
    "CrystalWidgetsError": ".errors",
    "ProfileError": ".errors",
    "RecipeUnavailableError": ".errors",
    "RecipeValidationError": ".errors",
    "StructureError": ".errors",
    "UncheckedKwargsWarning": ".errors",
    "UnknownRecipeError": ".errors",
    "JobState": ".states",
    "TERMINAL_STATES": ".states",
    "JobManager": ".jobs",
    "JobRecord": ".jobs",
    "ProfileStore": ".profiles",
    "Profile": ".profiles",
    "describe_structure": ".structures",
    "load_structure": ".structures",
    "ParamSpec": ".recipes",
    "RecipeInfo": ".recipes",
    "RecipeSpec": ".recipes",
    "recipes": ".recipes",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    # Heavier pieces (ase, pymatgen, quacc's settings) load on first use.
    try:
        module_name = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'crystalwidgets' has no attribute {name!r}") from None
    from importlib import import_module

    value = getattr(import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
