"""The checks of one VASP recipe call (POTCARs, the user's INCAR tags): which recipes,
which parameters, which fields.

Checked are quacc's VASP recipes that take a ``preset`` (``vasp.static_job``,
``vasp.relax_job``, ``vasp.slabs.*``, ``vasp.md.md_job``...): their POTCARs are chosen
by the preset and the user's ``calc_kwargs``, which quacc's ``Vasp`` calculator
resolves here as the job will. Recipes without a ``preset`` (the Materials Project
sets, which choose POTCARs through pymatgen inside the recipe) are not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .potcar import potcar_problems

__all__ = ["checks_potcars", "vasp_problems"]

Problems = list[tuple[str, str]]

def checks_potcars(info: Any) -> bool:
    """Whether the POTCARs of recipe ``info`` (a :class:`~crystalwidgets.recipes.RecipeInfo`) are checked."""
    return info.path.startswith("quacc.recipes.vasp.") and any(p.name == "preset" for p in info.spec.fields)


def _split(info: Any, cleaned: Mapping[str, Any]) -> tuple[Any, dict[str, Any], str]:
    spec = info.spec
    preset_param = next(p for p in spec.fields if p.name == "preset")
    preset = cleaned.get("preset", preset_param.default)
    named = {p.name for p in spec.params}
    extra = {k: v for k, v in cleaned.items() if k not in named}
    return preset, extra, spec.var_keyword or "calc_kwargs"


def vasp_problems(
    info: Any,
    atoms: Any,
    cleaned: Mapping[str, Any],
    *,
    exports: Mapping[str, str] | None = None,
    where: str = "worker_init",
) -> tuple[Problems, Problems]:
    """POTCAR problems and warnings of running recipe ``info`` on ``atoms`` with ``cleaned``.

    Parameters
    ----------
    info
        The recipe (:class:`~crystalwidgets.recipes.RecipeInfo`).
    atoms
        The structure (ASE Atoms).
    cleaned
        The recipe's parameters, validated (``spec.validate``).
    exports, where
        Variables the profile's workers export themselves (its ``worker_init``) and words
        for where; an exported ``QUACC_VASP_PP_PATH`` / ``VASP_PP_PATH`` is the library.

    Returns
    -------
    problems, warnings
        ``(field, message)`` pairs, as :func:`~.potcar.potcar_problems` gives them, then
        the user's INCAR tags VASP does not know (:func:`~.incar.unknown_incar_tags`);
        both empty for a recipe that is not checked (:func:`checks_potcars`).
        The files are looked at anew on every call (a POTCAR installed meanwhile counts).
    """
    if not checks_potcars(info):
        return [], []
    preset, extra, var = _split(info, cleaned)
    from .incar import known_incar_tags, unknown_incar_tags
    from .library import potcar_facts, resolve_potcar_choice

    fields = {}
    for what, names in (("setups", ("setups",)), ("pp", ("pp", "pp_version")), ("xc", ("xc",))):
        given = [n for n in names if n in extra]
        if given:
            fields[what] = f"{var}[{given[0]!r}]"
    given = [k for k in ("setups", "pp", "pp_version", "xc") if k in extra]
    chosen_by = f"preset {preset!r}" if preset else "no preset"
    if given:
        chosen_by += " with " + ", ".join(f"{k}={extra[k]!r}" for k in given)
    try:
        choice = resolve_potcar_choice(atoms, preset, extra)
    except Exception as exc:  # quacc or ASE refuse these parameters: their words, on the field
        field = fields.get("xc") or fields.get("pp") or ("preset" if "preset" in cleaned or not extra else var)
        said = f"{type(exc).__name__}: {exc}"
        text = (
            f"quacc's VASP calculator cannot be built with these parameters and quacc's settings: "
            f"{said}; change this field to a value quacc takes"
        )
        return [(field, text)], []
    facts = potcar_facts(
        atoms, preset, extra, fields=fields, chosen_by=chosen_by, choice=choice, exports=exports, where=where
    )
    problems, notes = potcar_problems(facts)
    problems += unknown_incar_tags(extra, choice["incar_tags"], known_incar_tags(), var)
    return problems, notes
