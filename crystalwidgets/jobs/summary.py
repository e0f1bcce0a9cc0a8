"""Summaries of recipe results: the numbers a job table shows.

:func:`summarise` runs where the recipe ran (inside the job), on the raw result,
so the kernel only ever reads a small JSON file. The same function applied to a
recipe called directly in-process gives the same summary.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["summarise"]

_VALUE_REPR_MAX = 200


def _float(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _formula(atoms: Any) -> str | None:
    """The store's rule (:func:`~crystalwidgets.structures.reduced_formula`), so a row keeps its formula."""
    if not hasattr(atoms, "get_chemical_formula"):
        return None
    from ..structures.formula import reduced_formula

    return reduced_formula(atoms)


def _max_force(forces: Any) -> float | None:
    if forces is None:
        return None
    import numpy as np

    arr = np.asarray(forces, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 3 or not len(arr):
        return None
    return float(np.linalg.norm(arr, axis=1).max())


def _is_schema(obj: Any) -> bool:
    return isinstance(obj, Mapping) and isinstance(obj.get("results"), Mapping)


def _run_summary(result: Mapping[str, Any]) -> dict[str, Any]:
    results = result["results"]
    atoms = result.get("atoms")
    summary: dict[str, Any] = {
        "kind": "run",
        "energy_ev": _float(results.get("energy")),
        "max_force_ev_ang": _max_force(results.get("forces")),
        "formula": _formula(atoms),
        "n_atoms": len(atoms) if atoms is not None else None,
        "converged": None if result.get("converged") is None else bool(result["converged"]),
        "n_steps": None,
        "energies_ev": None,
        "work_dir": str(result["dir_name"]) if result.get("dir_name") else None,
    }
    from .summary_vasp import vasp_values

    summary.update(vasp_values(result))
    steps = result.get("trajectory_results")
    if steps:
        summary["energies_ev"] = [_float(s.get("energy")) for s in steps]
        # optimizer steps taken: frames recorded minus the starting one
        summary["n_steps"] = len(steps) - 1
    return summary


def _schemas(obj: Any, key: str = "") -> list[tuple[str, Mapping[str, Any]]] | None:
    """Every schema in nested lists/dicts, keyed by path (``static[2]``); None if anything else is there."""
    if _is_schema(obj):
        return [(key, obj)]
    if isinstance(obj, Mapping):
        pairs = [(f"{key}.{k}" if key else str(k), v) for k, v in obj.items()]
    elif isinstance(obj, (list, tuple)):
        pairs = [(f"{key}[{i}]", v) for i, v in enumerate(obj)]
    else:
        return None
    found: list[tuple[str, Mapping[str, Any]]] = []
    for sub_key, value in pairs:
        sub = _schemas(value, sub_key)
        if sub is None:
            return None
        found += sub
    return found


def summarise(result: Any) -> dict[str, Any]:
    """The summary of one recipe result.

    Parameters
    ----------
    result
        What a recipe returned: a quacc schema dict (``RunSchema``, ``OptSchema``...),
        nested lists/dicts of them (flows), or anything else (a user's own job).

    Returns
    -------
    dict
        JSON-able. For a single run: ``kind="run"``, ``energy_ev``, ``max_force_ev_ang``,
        ``formula`` (reduced, of the final atoms), ``n_atoms``, ``converged``, ``n_steps``
        and ``energies_ev`` (per optimizer step, relaxations only), ``work_dir``; for VASP
        also band gap, Fermi level, magnetisation and custodian's corrections
        (:func:`~.summary_vasp.vasp_values`).
        For flows: ``kind="flow"``, ``n_outputs``, ``outputs`` (one run summary each,
        without per-step energies, with its ``key`` such as ``static[2]``), ``formula``
        when all outputs share it, ``converged`` (no output unconverged), and
        ``energy_ev`` only when the flow has a single output (energies of different
        structures are not comparable). Otherwise ``kind="value"`` and a short ``value``.
    """
    if _is_schema(result):
        return _run_summary(result)
    items = _schemas(result) if isinstance(result, (Mapping, list, tuple)) and result else None
    if items:
        outputs = []
        for key, item in items:
            one = _run_summary(item)
            del one["energies_ev"], one["kind"]
            outputs.append({"key": key, **one})
        formulas = {o["formula"] for o in outputs}
        single = outputs[0] if len(outputs) == 1 else {}
        return {
            "kind": "flow",
            "n_outputs": len(outputs),
            "outputs": outputs,
            "energy_ev": single.get("energy_ev"),
            "max_force_ev_ang": max(
                (o["max_force_ev_ang"] for o in outputs if o["max_force_ev_ang"] is not None), default=None
            ),
            "formula": formulas.pop() if len(formulas) == 1 else None,
            "n_atoms": single.get("n_atoms"),
            "converged": all(o["converged"] is not False for o in outputs),
        }
    text = repr(result)
    if len(text) > _VALUE_REPR_MAX:
        text = text[: _VALUE_REPR_MAX - 1] + "…"
    return {"kind": "value", "value": text, "energy_ev": None}
