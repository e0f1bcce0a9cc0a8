"""Check a value against a recipe parameter's type (:class:`~.annotations.TypeNode`): each
problem is a ``(field, message)`` pair whose message says the fix."""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping
from typing import Any

from .annotations import TypeNode, describe, type_hint

__all__ = ["Problems", "check_value"]


Problems = list[tuple[str, str]]


def _plain(value: Any) -> Any:
    """numpy scalars become the Python value; everything else is returned as is."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return value.item()
    return value


def _got(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _mismatch(node: TypeNode, value: Any, field: str) -> Problems:
    fix = f"use {type_hint(node)}"
    if isinstance(value, str) and node.kind in ("int", "float", "union"):
        try:
            number = float(value)
        except ValueError:
            pass
        else:  # a number written as a string: say so
            fix = f"write the number without quotes, e.g. {value.strip()}" if math.isfinite(number) else fix
    elif isinstance(value, float) and node.kind == "int" and value.is_integer():
        fix = f"use the whole number {int(value)}"
    return [(field, f"expected {describe(node)}, got {_got(value)}; {fix}")]


def _suggest(word: Any, options: list[str]) -> str:
    if not isinstance(word, str):
        return ""
    lower = {o.lower(): o for o in options}
    close = [lower[word.lower()]] if word.lower() in lower else difflib.get_close_matches(word, options, 1, 0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_value(node: TypeNode, value: Any, field: str) -> tuple[Any, Problems]:
    """Check ``value`` against ``node``.

    Parameters
    ----------
    node
        The expected type.
    value
        The value given. numpy scalars are turned into Python values; ints are
        accepted (as floats) where a float is wanted; bools are not numbers;
        strings are never turned into numbers.
    field
        The name used in messages (``opt_params['fmax']`` for nested values).

    Returns
    -------
    tuple
        The cleaned value and the list of ``(field, message)`` problems (empty when valid).
    """
    value = _plain(value)
    return _CHECKS.get(node.kind, _accept)(node, value, field)


def _accept(node: TypeNode, value: Any, field: str) -> tuple[Any, Problems]:
    return value, []


def _simple(node: TypeNode, value: Any, field: str) -> tuple[Any, Problems]:
    ok = {
        "none": value is None,
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "class": isinstance(value, type),
        "callable": callable(value),
    }[node.kind]
    return (value, []) if ok else (value, _mismatch(node, value, field))


def _float(node: TypeNode, value: Any, field: str) -> tuple[Any, Problems]:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return value, _mismatch(node, value, field)
    number = float(value)
    if not math.isfinite(number):
        return value, [(field, f"{number!r} is not a finite number; use a finite number such as 0.05")]
    return number, []


def _literal(node: TypeNode, value: Any, field: str) -> tuple[Any, Problems]:
    if any(type(value) is type(v) and value == v for v in node.values):
        return value, []
    choices = ", ".join(map(repr, node.values))
    names = [v for v in node.values if isinstance(v, str)]
    return value, [(field, f"{value!r} is not one of {choices}{_suggest(value, names)}")]


def _union(node: TypeNode, value: Any, field: str) -> tuple[Any, Problems]:
    tried = []
    for member in node.args:
        cleaned, problems = check_value(member, value, field)
        if not problems:
            return cleaned, []
        tried.append((member, problems))
    literals = [v for m in node.args if m.kind == "literal" for v in m.values]
    if node.choices is not None or (isinstance(value, str) and any(isinstance(v, str) for v in literals)):
        choices = ", ".join(map(repr, literals)) + (", None" if node.optional else "")
        others = [describe(m) for m in node.args if m.kind not in ("literal", "none")]
        choices += f" (or {' or '.join(others)})" if others else ""
        names = [v for v in literals if isinstance(v, str)]
        return value, [(field, f"{value!r} is not one of {choices}{_suggest(value, names)}")]
    for member, problems in tried:  # the right kind of value, wrong inside: say what is wrong
        if _same_family(member, value):
            return value, problems
    return value, _mismatch(node, value, field)


def _same_family(node: TypeNode, value: Any) -> bool:
    if node.kind == "float":
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if node.kind in ("dict", "typeddict"):
        return isinstance(value, Mapping)
    if node.kind in ("list", "tuple"):
        return isinstance(value, (list, tuple))
    return False


def _dict(node: TypeNode, value: Any, field: str) -> tuple[Any, Problems]:
    if not isinstance(value, Mapping):
        return value, _mismatch(node, value, field)
    key_type, value_type = node.args
    cleaned, problems = {}, []
    for key, item in value.items():
        sub = f"{field}[{key!r}]"
        key, key_problems = check_value(key_type, key, f"{sub} (key)")
        cleaned[key], item_problems = check_value(value_type, item, sub)
        problems += key_problems + item_problems
    return cleaned, problems


def _items(value: Any) -> Any:
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    return value


def _list(node: TypeNode, value: Any, field: str) -> tuple[Any, Problems]:
    value = _items(value)
    if not isinstance(value, (list, tuple)):
        return value, _mismatch(node, value, field)
    cleaned, problems = [], []
    for i, item in enumerate(value):
        item, item_problems = check_value(node.args[0], item, f"{field}[{i}]")
        cleaned.append(item)
        problems += item_problems
    return cleaned, problems


def _tuple(node: TypeNode, value: Any, field: str) -> tuple[Any, Problems]:
    value = _items(value)
    if not isinstance(value, (list, tuple)):
        return value, _mismatch(node, value, field)
    if node.variadic:
        cleaned, problems = _list(TypeNode("list", args=node.args), value, field)
        return tuple(cleaned), problems
    if len(value) != len(node.args):
        message = f"expected {len(node.args)} items ({node}), got {len(value)}; use {type_hint(node)}"
        return value, [(field, message)]
    checked = [check_value(t, v, f"{field}[{i}]") for i, (t, v) in enumerate(zip(node.args, value))]
    return tuple(c for c, _ in checked), [p for _, ps in checked for p in ps]


def _typeddict(node: TypeNode, value: Any, field: str) -> tuple[Any, Problems]:
    if not isinstance(value, Mapping):
        return value, _mismatch(node, value, field)
    known = {f.name: f for f in node.fields}
    cleaned, problems = {}, []
    for key, item in value.items():
        sub = f"{field}[{key!r}]"
        if key not in known:
            fix = _suggest(key, list(known)) or f"; valid keys: {', '.join(known)}"
            problems.append((sub, f"not a key of {node.name}{fix}"))
            continue
        cleaned[key], item_problems = check_value(known[key].type, item, sub)
        problems += item_problems
    for name, spec in known.items():
        if spec.required and name not in value:
            problems.append((f"{field}[{name!r}]", f"required key of {node.name}; give {type_hint(spec.type)}"))
    return cleaned, problems


_CHECKS = {
    "none": _simple,
    "bool": _simple,
    "int": _simple,
    "str": _simple,
    "class": _simple,
    "callable": _simple,
    "float": _float,
    "literal": _literal,
    "union": _union,
    "dict": _dict,
    "list": _list,
    "tuple": _tuple,
    "typeddict": _typeddict,
}
