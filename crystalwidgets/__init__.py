"""crystalwidgets: pick a crystal, a quacc recipe and a cluster; submit; watch.

The public API is small and shared by scripts and widgets::

    from crystalwidgets import JobManager, JobState, load_structure, recipes

Importing this package imports no engine (parsl, dask, covalent) and no quacc
recipe module; those load when first needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._paths import CrystalWidgetsError
from ._states import TERMINAL_STATES, JobState

if TYPE_CHECKING:
    from ._catalogue import (
        ParamSpec,
        RecipeCatalogue,
        RecipeInfo,
        RecipeSpec,
        RecipeUnavailableError,
        RecipeValidationError,
        UncheckedKwargsWarning,
        UnknownRecipeError,
    )
    from ._manager import JobManager, JobRecord
    from ._structures import StructureError, describe_structure, load_structure

    recipes: RecipeCatalogue

__all__ = [
    "CrystalWidgetsError",
    "JobManager",
    "JobRecord",
    "JobState",
    "ParamSpec",
    "RecipeInfo",
    "RecipeSpec",
    "RecipeUnavailableError",
    "RecipeValidationError",
    "StructureError",
    "TERMINAL_STATES",
    "UncheckedKwargsWarning",
    "UnknownRecipeError",
    "describe_structure",
    "load_structure",
    "recipes",
]

__version__ = "0.1.0"

_LAZY = {
    "JobManager": ("._manager", "JobManager"),
    "JobRecord": ("._manager", "JobRecord"),
    "load_structure": ("._structures", "load_structure"),
    "describe_structure": ("._structures", "describe_structure"),
    "StructureError": ("._structures", "StructureError"),
    "recipes": ("._catalogue", "recipes"),
    **{
        name: ("._catalogue", name)
        for name in (
            "ParamSpec",
            "RecipeInfo",
            "RecipeSpec",
            "RecipeUnavailableError",
            "RecipeValidationError",
            "UncheckedKwargsWarning",
            "UnknownRecipeError",
        )
    },
}


def __getattr__(name: str) -> Any:
    # Heavier pieces (ase, pymatgen, quacc's settings) load on first use.
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'crystalwidgets' has no attribute {name!r}") from None
    from importlib import import_module

    value = getattr(import_module(module_name, __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
