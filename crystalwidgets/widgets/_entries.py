"""Form entries (what a generated field reports) to Python values and back.

Shared by every form the widgets generate from a type tree (recipe parameters,
profile fields). Entries: ``{"checked": bool}``, ``{"choice": index}``,
``{"text": str}``, ``{"rows": [[key, text], ...]}``. Values are converted by the
field's type only; whether they are *valid* is decided by the spec or model
that owns the field, never here and never in JS.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["from_entry", "kinds", "to_entry"]


def _number(text: str, integer: bool) -> Any:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text  # validate() names the field and says what is expected
    return int(value) if integer and math.isfinite(value) and value.is_integer() else value


def _loose(text: str) -> Any:
    """Text typed for a free-form value: JSON when it parses (0.01, true, [1, 2]), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def kinds(node: dict[str, Any]) -> list[str]:
    """The kinds of a type tree, unions flattened (``float | None`` -> float, none)."""
    if node.get("kind") == "union":
        return [k for arg in node.get("args", []) for k in kinds(arg)]
    return [node.get("kind", "any")]


def from_entry(node: dict[str, Any], entry: dict[str, Any]) -> Any:
    """The Python value of one form entry, by the parameter's type tree."""
    found = kinds(node)
    if "checked" in entry:
        return bool(entry["checked"])
    if "choice" in entry:
        choices = [c for arg in _literal_nodes(node) for c in arg.get("values", [])]
        index = entry["choice"]
        return choices[index] if isinstance(index, int) and 0 <= index < len(choices) else None
    if "rows" in entry:
        keys = {f["name"]: f["type"] for f in _typed_fields(node)}
        return {
            str(k): from_entry(keys[k], {"text": v}) if k in keys else _loose(v)
            for k, v in entry["rows"]
            if str(k).strip()
        }
    text = str(entry.get("text", ""))
    if text.strip().lower() == "none" and "none" in found:
        return None
    if "int" in found or "float" in found:
        return _number(text, integer="float" not in found)
    if "str" in found and not {"list", "tuple", "dict"} & set(found):
        return text
    return _loose(text)


def _typed_fields(node: dict[str, Any]) -> list[dict[str, Any]]:
    if node.get("kind") == "typeddict":
        return node.get("fields", [])
    return [f for arg in node.get("args", []) for f in _typed_fields(arg)]


def _literal_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    if node.get("kind") == "literal":
        return [node]
    return [n for arg in node.get("args", []) for n in _literal_nodes(arg)]


def to_entry(node: dict[str, Any], value: Any) -> dict[str, Any]:
    """The form entry showing ``value`` (inverse of :func:`_from_entry`)."""
    found = kinds(node)
    if value is None:
        return {"text": "None"}
    if isinstance(value, bool) and set(found) <= {"bool", "none"}:
        return {"checked": bool(value)}
    literals = [c for arg in _literal_nodes(node) for c in arg.get("values", [])]
    if literals and value in literals:
        return {"choice": literals.index(value)}
    if isinstance(value, dict):
        return {"rows": [[k, json.dumps(v) if not isinstance(v, str) else v] for k, v in value.items()]}
    if isinstance(value, str):
        return {"text": value}
    return {"text": json.dumps(value)}


def errors_by_field(problems: Iterable[tuple[str, str]], key: Callable[[str], str] = str) -> dict[str, str]:
    """``{field: message}`` for the form's fields, the messages of one field joined by "; ".

    ``key`` maps a problem's field (``opt_params['fmax']``, ``a.b``) to the form field
    that shows it.
    """
    errors: dict[str, str] = {}
    for field, message in problems:
        name = key(field)
        errors[name] = f"{errors[name]}; {message}" if name in errors else message
    return errors
