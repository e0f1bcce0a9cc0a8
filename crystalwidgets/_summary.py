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
    try:
        return atoms.symbols.formula.reduce()[0].format("metal")
    except AttributeError:
        return None


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
    steps = result.get("trajectory_results")
    if steps:
        summary["energies_ev"] = [_float(s.get("energy")) for s in steps]
        # optimizer steps taken: frames recorded minus the starting one
        summary["n_steps"] = len(steps) - 1
    return summary


def summarise(result: Any) -> dict[str, Any]:
    """The summary of one recipe result.

    Parameters
    ----------
    result
        What a recipe returned: a quacc schema dict (``RunSchema``, ``OptSchema``...),
        a list or dict of them (flows), or anything else (a user's own job).

    Returns
    -------
    dict
        JSON-able. For a single run: ``kind="run"``, ``energy_ev``, ``max_force_ev_ang``,
        ``formula`` (reduced, of the final atoms), ``n_atoms``, ``converged``, ``n_steps``
        and ``energies_ev`` (per optimizer step, relaxations only), ``work_dir``.
        For flows: ``kind="flow"``, ``n_outputs``, ``outputs`` (one run summary each,
        without per-step energies, keyed by position or name), and ``energy_ev`` /
        ``formula`` of the lowest-energy output. Otherwise ``kind="value"`` and a
        short ``value`` text.
    """
    if _is_schema(result):
        return _run_summary(result)
    items: list[tuple[str, Any]] | None = None
    if isinstance(result, (list, tuple)) and result and all(map(_is_schema, result)):
        items = [(str(i), r) for i, r in enumerate(result)]
    elif isinstance(result, Mapping) and result and all(map(_is_schema, result.values())):
        items = [(str(k), r) for k, r in result.items()]
    if items is not None:
        outputs = []
        for key, item in items:
            one = _run_summary(item)
            one.pop("energies_ev")
            one.pop("kind")
            outputs.append({"key": key, **one})
        with_energy = [o for o in outputs if o["energy_ev"] is not None]
        best = min(with_energy, key=lambda o: o["energy_ev"]) if with_energy else {}
        return {
            "kind": "flow",
            "n_outputs": len(outputs),
            "outputs": outputs,
            "energy_ev": best.get("energy_ev"),
            "max_force_ev_ang": best.get("max_force_ev_ang"),
            "formula": best.get("formula"),
            "n_atoms": best.get("n_atoms"),
            "converged": all(o["converged"] is not False for o in outputs),
        }
    text = repr(result)
    if len(text) > _VALUE_REPR_MAX:
        text = text[: _VALUE_REPR_MAX - 1] + "…"
    return {"kind": "value", "value": text, "energy_ev": None}
