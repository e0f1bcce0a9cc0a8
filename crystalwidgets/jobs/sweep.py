"""Sweeps: many jobs of one recipe, a product of structures, structure variations and
parameter values.

A sweep is the product of its structures, their strains and rattles (made by
:func:`crystalwidgets.structures.transform.transform`) and a grid over recipe parameters:
top-level numbers, booleans and ``Literal`` choices, and numbers inside a parameter's
dict (``opt_params.fmax``). A strain is isotropic or along chosen axes (``(0, 0, 2)``:
c only). Every point is validated, as a single submit is, before
anything is recorded; each job's label says what varied ("Cu strain=-1% fmax=0.05").
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import CrystalWidgetsError, RecipeValidationError, StructureError

__all__ = ["MAX_JOBS", "STRAIN_AXES", "parse_strains", "parse_values", "sweep_grid", "sweepable"]

#: A sweep of more jobs is refused (a typo in a range should not record a million jobs).
MAX_JOBS = 100_000

_SWEPT_KINDS = {"int", "float", "bool", "literal"}

#: How a strain sweep's values apply to the cell: each name -> the axes (a, b, c) it strains.
STRAIN_AXES = {"ab": (1, 1, 0), "a": (1, 0, 0), "b": (0, 1, 0), "c": (0, 0, 1)}


def sweepable(spec: Any) -> dict[str, dict[str, Any]]:
    """The parameters a sweep can vary, by path (``method``, ``opt_params.fmax``), with
    their type trees: numbers, booleans and ``Literal`` choices, at the top level or
    inside a parameter's TypedDict (``opt_params``).

    Parameters
    ----------
    spec : RecipeSpec or dict
        The recipe's spec, or its ``to_json()``.
    """
    fields = (spec if isinstance(spec, Mapping) else spec.to_json()).get("fields", [])
    found: dict[str, dict[str, Any]] = {}
    for field in fields:
        if _kinds(field["type"]) & _SWEPT_KINDS:
            found[field["name"]] = field["type"]
        for sub in _typed_fields(field["type"]):
            if _kinds(sub["type"]) & _SWEPT_KINDS:
                found[f"{field['name']}.{sub['name']}"] = sub["type"]
    return found


def _kinds(node: dict[str, Any]) -> set[str]:
    if node.get("kind") == "union":
        return {k for arg in node.get("args", []) for k in _kinds(arg)}
    return {node.get("kind", "any")}


def _typed_fields(node: dict[str, Any]) -> list[dict[str, Any]]:
    if node.get("kind") == "typeddict":
        return node.get("fields", [])
    if node.get("kind") == "union":
        return [f for arg in node.get("args", []) for f in _typed_fields(arg)]
    return []


def parse_values(text: str, node: dict[str, Any] | None = None, what: str = "values") -> list[Any]:
    """The values a sweep field's text gives: ``0.1, 0.05, 0.01`` or ``-2..2:5`` (5 evenly
    spaced values from -2 to 2), numbers for a numeric type, ``true``/``false`` for a
    boolean, the text of each choice for a ``Literal`` (``GFN1-xTB, GFN2-xTB``).

    Raises
    ------
    CrystalWidgetsError
        Naming ``what`` and the form expected.
    """
    kinds = _kinds(node) if node else {"float"}
    numeric = bool({"int", "float"} & kinds)
    parts = [p.strip().strip("'\"") for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise CrystalWidgetsError(f"{what}: no values given; e.g. 0.1, 0.05, 0.01 or -2..2:5")
    values: list[Any] = []
    for part in parts:
        if numeric and ".." in part:
            values += _range(part, what)
        elif numeric:
            values.append(_number(part, what, integer="float" not in kinds))
        elif "bool" in kinds and part.lower() in ("true", "false"):
            values.append(part.lower() == "true")
        else:
            values.append(part)  # a Literal's choice: validate() says when it is none of them
    return values


def parse_strains(text: str, along: str | None = None) -> list[float | tuple[float, float, float]]:
    """The strains (in %) a sweep's strain field gives.

    Parameters
    ----------
    text : str
        Values as for :func:`parse_values` (``-2..2:5``, ``1, 2``), or, with
        ``along="each"``, triples along a, b and c separated by ``;`` (``1 1 -2; 0 0 2``).
    along : {None, "ab", "a", "b", "c", "each"}
        None: isotropic (one value per strain); an axis name: each value strains those
        axes only (``"ab"``: in-plane, ``"c"``: uniaxial along c); ``"each"``: the triples.

    Raises
    ------
    CrystalWidgetsError
        Naming the strain field and the form expected.
    """
    if along is None:
        return parse_values(text, None, what="strain")
    if along in STRAIN_AXES:
        mask = STRAIN_AXES[along]
        return [tuple(float(v * m) for m in mask) for v in parse_values(text, None, what=f"strain {along}")]
    if along != "each":
        raise CrystalWidgetsError(f"strain: along={along!r} is none of {', '.join(STRAIN_AXES)} or 'each'")
    triples = []
    for part in (p for p in text.split(";") if p.strip()):
        numbers = part.replace(",", " ").split()
        if len(numbers) != 3:
            raise CrystalWidgetsError(
                f"strain a b c: {part.strip()!r} is not three percentages (along a, b, c); e.g. 1 1 -2; 0 0 2"
            )
        triples.append(tuple(_number(n, "strain a b c") for n in numbers))
    if not triples:
        raise CrystalWidgetsError("strain a b c: no values given; e.g. 1 1 -2; 0 0 2")
    return triples


def _strain_step(value: Any) -> tuple[str, dict[str, Any], str]:
    """A sweep's strain as a structure tool's step and the words of its label:
    "strain=+1%" (isotropic), "strain c=+2%", "strain ab=-1%", "strain=+1/+1/-2%"."""
    try:
        values = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError):  # not numbers: refused below with the forms it may take
        values = np.array([])
    if values.shape == (1,):
        return "strain", {"percent": float(values[0])}, f"strain={values[0]:+g}%"
    if values.shape != (3,):
        raise CrystalWidgetsError(
            f"sweep: strain {value!r} is neither one percentage (isotropic) nor three (along a, b, c); "
            "e.g. strain=[-1, 0, 1] or strain=[(0, 0, -1), (0, 0, 1)]"
        )
    triple = tuple(float(v) for v in values)
    nonzero = [v for v in triple if v != 0]
    axes = "".join(name for name, v in zip("abc", triple) if v != 0)
    if nonzero and len(set(nonzero)) == 1 and len(axes) < 3:
        said = f"strain {axes}={nonzero[0]:+g}%"
    elif len(set(triple)) == 1:
        said = f"strain={triple[0]:+g}%"
    else:
        said = "strain=" + "/".join(f"{v:+g}" for v in triple) + "%"
    return "strain", {"percent": triple}, said


def _number(text: str, what: str, integer: bool = False) -> int | float:
    try:
        value = float(text)
    except ValueError:
        raise CrystalWidgetsError(f"{what}: {text!r} is not a number; e.g. 0.1, 0.05, 0.01 or -2..2:5") from None
    return int(value) if integer and value.is_integer() else value


def _range(text: str, what: str) -> list[float]:
    start, _, rest = text.partition("..")
    stop, _, count = rest.partition(":")
    first, last = _number(start, what), _number(stop, what)
    n = _number(count, what) if count else None
    if n is None or not float(n).is_integer() or not 2 <= n <= 1000:
        raise CrystalWidgetsError(
            f"{what}: {text!r} is not a range start..stop:count with 2 to 1000 steps; e.g. -2..2:5"
        )
    return [round(float(v), 12) for v in np.linspace(first, last, int(n))]


def sweep_grid(
    recipe: Any,
    kwargs: Mapping[str, Any],
    structures: Sequence[Any],
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    strain: Sequence[float | Sequence[float]] | None = None,
    rattle: Sequence[float] | None = None,
    max_jobs: int = MAX_JOBS,
) -> list[tuple[Any, dict[str, Any], str]]:
    """The ``(structure, kwargs, label)`` jobs of a sweep, every point validated first.

    The product, in this order, of ``structures``, each ``strain`` (in %) and
    each ``rattle`` (standard deviation in Å, seed 0), and the ``grid``'s values. The
    jobs go to :meth:`~crystalwidgets.JobManager.submit_many` (one transaction a batch).

    Parameters
    ----------
    recipe
        The recipe (name or callable).
    kwargs : mapping
        The parameters every job shares (the form's value).
    structures : sequence
        ASE Atoms, or ``(atoms, label)`` pairs (the label starts each job's label;
        default: the formula).
    grid : mapping, optional
        Parameter path (see :func:`sweepable`: ``"method"``, ``"opt_params.fmax"``) to
        the values it takes.
    strain : sequence, optional
        Strains in %, each a structure of its own: a number (isotropic) or three (along
        a, b and c: ``(0, 0, 2)`` strains c only); :func:`parse_strains` reads them from text.
    rattle : sequence of float, optional
        Rattle amplitudes in Å (standard deviation, seed 0), each a structure of its own.
    max_jobs : int
        More jobs than this are refused.

    Returns
    -------
    list of (ase.Atoms, dict, str)
        Each job's structure, cleaned parameters and label ("Cu strain=-2% fmax=0.05").

    Raises
    ------
    CrystalWidgetsError
        Nothing to sweep over, an unknown parameter path, no values, too many jobs, or a
        structure tool's problem (e.g. a strain of a molecule), naming the field and the fix.
    RecipeValidationError
        Every point's bad values, each field named with the sweep value that gave it.
    """
    from ..recipes.catalogue import recipes
    from ..structures.transform import transform

    info = recipes.resolve(recipe)
    if not structures:
        raise CrystalWidgetsError("sweep: no structures; load one first (upload, paste, or App(structure=atoms))")
    grid = dict(grid or {})
    paths = sweepable(info.spec)
    for path, values in grid.items():
        if path not in paths:
            hint = f"use one of {', '.join(paths)}" if paths else f"{info.name} has none"
            raise CrystalWidgetsError(f"sweep: {path!r} is not a parameter of {info.name} a sweep can vary; {hint}")
        if not values:
            raise CrystalWidgetsError(f"sweep: give the values of {path}, e.g. 0.1, 0.05, 0.01")
    variations = [_strain_step(v) for v in strain or ()]
    shakes = [("rattle", {"stdev": v}, f"rattle={v:g}Å") for v in rattle or ()]
    n_structures = len(structures) * max(len(variations), 1) * max(len(shakes), 1)
    n = n_structures * int(np.prod([len(v) for v in grid.values()] or [1]))
    if n > max_jobs:
        raise CrystalWidgetsError(
            f"sweep: {n:,} jobs is more than {max_jobs:,}; give fewer values (or pass max_jobs)"
        )
    points = _points(info, kwargs, grid)
    jobs = []
    for item in structures:
        atoms, label = item if isinstance(item, tuple) else (item, None)
        base = label or atoms.get_chemical_formula()
        for steps in itertools.product(variations or [None], shakes or [None]):
            made, words = atoms, [base]
            for step in steps:
                if step is not None:
                    tool, params, said = step
                    words.append(said)
                    try:
                        made, _ = transform(made, tool, **params)
                    except StructureError as exc:
                        raise StructureError(f"sweep: {' '.join(words)}: {exc}") from None
            _check_fit(info, made, " ".join(words))
            for cleaned, said in points:
                jobs.append((made, cleaned, " ".join(words + said)))
    return jobs


def _check_fit(info: Any, atoms: Any, label: str) -> None:
    """Refuse a structure the recipe surely cannot handle before any job is recorded."""
    from ..errors import UnfitStructureError
    from ..recipes.fit import structure_problems
    from ..structures.formula import reduced_formula

    unfit = structure_problems(info.name, atoms, code=info.code)
    if unfit:
        raise CrystalWidgetsError(f"sweep: {label}: {UnfitStructureError(info.name, unfit, reduced_formula(atoms))}")


def _points(info: Any, kwargs: Mapping[str, Any], grid: dict[str, Sequence[Any]]) -> list[tuple[dict[str, Any], list[str]]]:
    """Each grid point's cleaned parameters and its words for the label; all problems at once."""
    points, problems = [], []
    for combo in itertools.product(*grid.values()):
        params = {k: dict(v) if isinstance(v, Mapping) else v for k, v in kwargs.items()}
        said = []
        for path, value in zip(grid, combo):
            top, _, key = path.partition(".")
            if key:
                inner = params.get(top)
                params[top] = {**(inner if isinstance(inner, Mapping) else {}), key: value}
            else:
                params[top] = value
            said.append(f"{key or top}={value:g}" if isinstance(value, float) else f"{key or top}={value}")
        try:
            points.append((info.spec.validate(params), said))
        except RecipeValidationError as exc:
            where = ", ".join(f"{p}={v!r}" for p, v in zip(grid, combo))
            problems += [(f"{field} (sweep point {where})", message) for field, message in exc.problems]
    if problems:
        raise RecipeValidationError(info.name, list(dict.fromkeys(problems)))
    return points
