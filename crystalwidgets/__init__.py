"""crystalwidgets: pick a crystal, a quacc recipe and a cluster; submit; watch.

The public API is small and shared by scripts and widgets::

    from crystalwidgets import JobManager, JobState, ProfileStore, load_structure, recipes

Importing this package imports no engine (parsl, dask, covalent) and no quacc
recipe module; those load when first needed.
"""

from __future__ import annotations

import lazy_loader

__version__ = "0.1.0"

#: Every public name, once, under the module it lives in. Errors and states are tiny; the
#: rest (ase, pymatgen, quacc's settings) load on first use.
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "errors": [
            "CrystalWidgetsError",
            "ExportError",
            "OptimadeError",
            "PotcarWarning",
            "ProfileError",
            "RecipeUnavailableError",
            "RecipeValidationError",
            "SecretTextWarning",
            "StructureError",
            "UncheckedKwargsWarning",
            "UnfitStructureError",
            "UnknownRecipeError",
        ],
        "states": ["JobState", "TERMINAL_STATES"],
        "jobs": ["JobManager", "JobRecord"],
        "profiles": ["Profile", "ProfileStore"],
        "structures": ["describe_structure", "load_structure"],
        "recipes": ["ParamSpec", "RecipeInfo", "RecipeSpec", "recipes"],
    },
)
