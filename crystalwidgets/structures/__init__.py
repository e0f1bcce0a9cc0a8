"""Crystal structures: read (:mod:`.io`), check (:mod:`.checks`), encode and hash
(:mod:`.codec`), name (:mod:`.formula`).

The names below are the package's structure API; the modules are its parts.
"""

from __future__ import annotations

from ..errors import StructureError
from .checks import DEFAULT_MIN_DISTANCE, check_structure
from .codec import structure_from_dict, structure_hash, structure_to_dict
from .formula import describe_structure, reduced_formula
from .io import load_structure

__all__ = [
    "DEFAULT_MIN_DISTANCE",
    "StructureError",
    "check_structure",
    "describe_structure",
    "load_structure",
    "reduced_formula",
    "structure_from_dict",
    "structure_hash",
    "structure_to_dict",
]
