"""One OPTIMADE structure entry to ``ase.Atoms``, or a :class:`~crystalwidgets.errors.StructureError`
saying why it cannot be one (partial occupancy, unknown positions, unknown elements, missing
fields), worded for a person rather than as the model's validation trace.

The conversion itself is optimade-python-tools' ASE adapter (``optimade.adapters.Structure``);
the checks before it catch what the adapter would pass or word poorly (a disordered species
in an entry that does not declare ``structure_features: ["disorder"]``).
"""

from __future__ import annotations

from typing import Any

from ase import Atoms

from ..errors import StructureError

__all__ = ["entry_to_atoms"]

_NEEDED = ("lattice_vectors", "cartesian_site_positions", "species_at_sites", "dimension_types")


def _why_not(attrs: dict[str, Any]) -> str | None:
    """Why the entry's attributes cannot be an ``ase.Atoms``, or None."""
    features = attrs.get("structure_features") or []
    if "disorder" in features:
        return "partial occupancy or disorder (structure_features: disorder): an ase.Atoms holds one element per site"
    if "unknown_positions" in features:
        return "some positions are unknown (structure_features: unknown_positions)"
    missing = [name for name in _NEEDED if not attrs.get(name)]
    if missing:
        return f"the entry has no {', '.join(missing)}"
    for species in attrs.get("species") or []:
        if not isinstance(species, dict):
            continue
        symbols = species.get("chemical_symbols") or []
        concentration = species.get("concentration") or [1.0]
        if len(symbols) != 1 or any(abs(float(c) - 1.0) > 1e-6 for c in concentration):
            shares = " + ".join(f"{s} {c:g}" for s, c in zip(symbols, concentration))
            return f"partial occupancy or disorder (species {species.get('name')!r}: {shares}): an ase.Atoms holds one element per site"
        if symbols[0] in ("X", "vacancy"):
            return f"species {species.get('name')!r} is of unknown element ({symbols[0]!r})"
    positions = attrs.get("cartesian_site_positions") or []
    if any(p is None or None in p for p in positions):
        return "some positions are unknown (null in cartesian_site_positions)"
    if any(v is None or None in v for v in attrs.get("lattice_vectors") or []):
        return "the cell is not fully known (null in lattice_vectors)"
    return None


def entry_to_atoms(entry: dict[str, Any]) -> Atoms:
    """The ``ase.Atoms`` of one OPTIMADE structure entry (``{"id", "type", "attributes"}``).

    Positions are Cartesian in Å as the entry gives them; the cell is its ``lattice_vectors``
    and ``pbc`` its ``dimension_types``. ``info`` is left empty (the provider's own fields are
    not carried over).

    Raises
    ------
    StructureError
        When the entry cannot be one ``ase.Atoms``; the message says why.
    """
    attrs = entry.get("attributes") if isinstance(entry, dict) else None
    if not isinstance(attrs, dict):
        raise StructureError("the entry has no attributes")
    try:
        why = _why_not(attrs)
    except (TypeError, ValueError) as exc:
        why = f"the entry is malformed ({type(exc).__name__}: {exc})"
    if why is not None:
        raise StructureError(why)
    from optimade.adapters import Structure
    from optimade.adapters.exceptions import ConversionError
    from pydantic import ValidationError

    try:
        atoms = Structure(entry).as_ase
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise StructureError(f"not a valid OPTIMADE structure entry ({where}: {first.get('msg')})") from None
    except (ConversionError, KeyError, IndexError, TypeError, ValueError) as exc:
        raise StructureError(f"cannot be converted to ase.Atoms ({type(exc).__name__}: {exc})") from None
    atoms.info = {}
    return atoms
