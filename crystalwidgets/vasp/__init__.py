"""VASP before submit: the POTCAR checks (pure, :mod:`.potcar`), the facts they judge
gathered from quacc, ASE and pymatgen (:mod:`.library`), and which recipe calls they
concern (:mod:`.recipe`).

    >>> from crystalwidgets.vasp import vasp_problems
    >>> problems, warnings = vasp_problems(recipes.resolve("vasp.static_job"), atoms, {})
"""

from __future__ import annotations

from .potcar import PotcarFacts, PotcarHeader, PotcarSlot, functional_folders, potcar_problems, run_functional_class
from .recipe import checks_potcars, vasp_problems

__all__ = [
    "PotcarFacts",
    "PotcarHeader",
    "PotcarSlot",
    "checks_potcars",
    "functional_folders",
    "potcar_problems",
    "run_functional_class",
    "vasp_problems",
]
