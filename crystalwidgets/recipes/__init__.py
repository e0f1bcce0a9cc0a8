"""quacc recipes: the catalogue (:mod:`.catalogue`, read from source), parameter specs
(:mod:`.spec`) with types read from annotations (:mod:`.annotations`) and checked
(:mod:`.validate`), docstring text (:mod:`.docs`), what can run here
(:mod:`.availability`), and what a recipe can handle of a structure (:mod:`.fit`).
"""

from __future__ import annotations

from .catalogue import KINDS, RecipeCatalogue, RecipeInfo, recipes
from .spec import ParamSpec, RecipeSpec

__all__ = ["KINDS", "ParamSpec", "RecipeCatalogue", "RecipeInfo", "RecipeSpec", "recipes"]
