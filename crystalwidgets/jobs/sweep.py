"""Sweeps: many jobs of one recipe, over structures or over the values of one parameter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import CrystalWidgetsError

__all__ = ["sweep_jobs"]


def sweep_jobs(
    recipe: Any,
    kwargs: Mapping[str, Any],
    structures: Sequence[Any],
    selected: Any = None,
    parameter: str | None = None,
    values: Sequence[Any] | None = None,
) -> list[tuple[Any, dict[str, Any]]]:
    """The ``(structure, kwargs)`` pairs of a sweep, each kwargs set validated first.

    Without ``parameter``: every one of ``structures`` with ``kwargs``. With it: the
    ``selected`` structure with ``parameter`` set to each of ``values``. The pairs go to
    :meth:`~crystalwidgets.JobManager.submit_many`.

    Raises
    ------
    CrystalWidgetsError
        When there is nothing to sweep over, naming what to give; a
        :class:`~crystalwidgets.errors.RecipeValidationError` for bad values.
    """
    from ..recipes.catalogue import recipes

    spec = recipes.resolve(recipe).spec
    base = dict(kwargs)
    if parameter is None:
        if not structures:
            raise CrystalWidgetsError("sweep: no structures loaded; upload or add some first")
        return [(atoms, spec.validate(base)) for atoms in structures]
    if selected is None:
        raise CrystalWidgetsError("sweep: no structure selected")
    if not values:
        raise CrystalWidgetsError(f"sweep: give the values of {parameter}, e.g. 0.05, 0.02, 0.01")
    return [(selected, spec.validate({**base, parameter: v})) for v in values]
