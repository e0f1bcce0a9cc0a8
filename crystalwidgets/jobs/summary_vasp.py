"""What a VASP user looks at first, from the schema quacc returns (emmet's TaskDoc as a dict).

Band gap, Fermi level and total magnetisation of the last calculation, and custodian's
own record of the run (``custodian.json``, which emmet reads into the schema): each
correction's handler, the errors it saw and the actions it took, and the number of
restarts they caused. Runs inside the job like :func:`~.summary.summarise`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["describe_action", "vasp_values"]

_TEXT_MAX = 300
_CORRECTIONS_MAX = 50


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _number(value: Any) -> float | None:
    from .summary import _float

    return _float(value)


def _short(text: str) -> str:
    return text if len(text) <= _TEXT_MAX else text[: _TEXT_MAX - 1] + "…"


def describe_action(action: Any) -> str:
    """One custodian action in words: ``INCAR: set ISMEAR=0, SIGMA=0.05``.

    Custodian's actions are ``{"dict": "INCAR", "action": {"_set": {...}}}`` or
    ``{"file": "CONTCAR", "action": {"_file_copy": {"dest": "POSCAR"}}}``; anything else
    is shown as its JSON.
    """
    if isinstance(action, Mapping) and isinstance(action.get("action"), Mapping):
        target = action.get("dict") or action.get("file") or "?"
        parts = []
        for verb, args in action["action"].items():
            word = str(verb).lstrip("_").replace("_", " ")
            if isinstance(args, Mapping):
                parts.append(f"{word} " + ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in args.items()))
            else:
                parts.append(f"{word} {json.dumps(args, default=str)}")
        return _short(f"{target}: {'; '.join(parts)}")
    return _short(json.dumps(action, default=str))


def _handler_name(handler: Any) -> str:
    if isinstance(handler, Mapping):
        return str(handler.get("@class") or handler.get("name") or "?")
    if handler is None:
        return "?"
    return type(handler).__name__ if not isinstance(handler, str) else handler


def _corrections(runs: Any) -> list[dict[str, Any]]:
    out = []
    for run in runs if isinstance(runs, list) else []:
        for corr in run.get("corrections") or [] if isinstance(run, Mapping) else []:
            if not isinstance(corr, Mapping):
                continue
            errors = [str(e) for e in corr.get("errors") or []]
            actions = [describe_action(a) for a in corr.get("actions") or []]
            handler = _handler_name(corr.get("handler"))
            done = "; ".join(actions) if actions else "no action (it could not correct this)"
            text = f"{handler} saw {', '.join(errors) or 'an error'}: {done}"
            out.append({"handler": handler, "errors": errors, "actions": actions, "text": _short(text)})
    return out[:_CORRECTIONS_MAX]


def vasp_values(result: Mapping[str, Any]) -> dict[str, Any]:
    """The VASP values of one quacc VASP schema; empty for any other result.

    Returns
    -------
    dict
        ``band_gap_ev`` (emmet's, from the band structure), ``efermi_ev``, ``is_metal``,
        ``total_magnetization`` (μB, from the OUTCAR), ``custodian_restarts`` (VASP runs
        started again after a correction) and ``custodian_corrections`` (each:
        ``handler``, ``errors``, ``actions`` in words, ``text``), the last two None when
        VASP ran without custodian.
    """
    calcs = result.get("calcs_reversed")
    if not isinstance(calcs, list) or not calcs or "vasp_version" not in result:
        return {}
    last = calcs[0].get("output") if isinstance(calcs[0], Mapping) else None
    runs = result.get("custodian")
    corrections = _corrections(runs) if runs else None
    gap = _get(result, "output", "bandgap")
    metal = _get(last, "is_metal")
    return {
        "band_gap_ev": _number(gap if gap is not None else _get(last, "bandgap")),
        "efermi_ev": _number(_get(last, "efermi")),
        "is_metal": None if metal is None else bool(metal),
        "total_magnetization": _number(_get(last, "outcar", "total_magnetization")),
        "custodian_restarts": None if corrections is None else len(corrections),
        "custodian_corrections": corrections,
    }
