"""Check a value against a recipe parameter's type (:class:`~.annotations.TypeNode`): each
problem is a ``(field, message)`` pair whose message says the fix.

The checking is pydantic's: a node becomes a real Python type (:func:`python_type`)
and its strict :class:`~pydantic.TypeAdapter` (cached per node) validates the
value. Strict means no string is turned into a number and no bool counts as a
number; ints are accepted (as floats) where a float is wanted; NaN and infinite
floats are refused. Before pydantic sees a value, numpy scalars become Python
values, tuples, lists and numpy arrays become the sequence the annotation names,
and any mapping becomes a dict.

When a value is refused, pydantic's errors are turned into this project's
messages: an error at the top of a node says the value is of the wrong kind
(``expected ..., got ...; use ...``); otherwise the node's items are explained
one by one with their own adapters, giving field paths such as
``opt_params['fmax']`` and keeping pydantic's union tags out of them.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Union

from pydantic import AllowInfNan, BeforeValidator, ConfigDict, Field, GetPydanticSchema, TypeAdapter, ValidationError
from pydantic_core import core_schema
from typing_extensions import NotRequired, Required, TypedDict

from .annotations import TypeNode, describe, type_hint

__all__ = ["Problems", "adapter", "check_value", "python_type"]


Problems = list[tuple[str, str]]


def _plain(value: Any) -> Any:
    """numpy scalars become the Python value; everything else is returned as is."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return value.item()
    return value


def _sequence(kind: type) -> Callable[[Any], Any]:
    """A before-validator: a list, tuple or numpy array becomes ``kind`` (list or tuple)."""

    def convert(value: Any) -> Any:
        if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
            value = value.tolist()
        return kind(value) if isinstance(value, (list, tuple)) and type(value) is not kind else value

    return convert


def _mapping(value: Any) -> Any:
    """A before-validator: any mapping becomes a dict."""
    return dict(value) if isinstance(value, Mapping) and not isinstance(value, dict) else value


def _literal(values: tuple[Any, ...]) -> Any:
    """A Literal whose values match only values of their own Python type (``True`` is not ``1``)."""

    def schema(source: Any, handler: Any) -> core_schema.CoreSchema:
        kinds = dict.fromkeys(type(v) for v in values)
        choices = [
            core_schema.chain_schema(
                [handler.generate_schema(kind), core_schema.literal_schema([v for v in values if type(v) is kind])]
            )
            for kind in kinds
        ]
        if len(choices) == 1:
            return choices[0]
        expected = ", ".join(map(repr, values))  # one error, not one per type
        return core_schema.union_schema(
            choices,
            mode="left_to_right",
            custom_error_type="literal_error",
            custom_error_context={"expected": expected},
        )

    return Annotated[Any, GetPydanticSchema(schema)]


def _typeddict(node: TypeNode) -> Any:
    fields = {
        f.name: (Required if f.required else NotRequired)[python_type(f.type)]  # type: ignore[valid-type]
        for f in node.fields
    }
    cls = TypedDict(node.name or "TypedDict", fields)  # type: ignore[operator]
    cls.__pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[attr-defined]
    return cls


@functools.lru_cache(maxsize=2048)
def python_type(node: TypeNode) -> Any:
    """The Python type pydantic validates values of ``node`` with.

    ``any``, ``opaque`` and unknown kinds are :data:`~typing.Any` (values pass
    unchecked); ``class`` is ``type``, ``callable`` is ``Callable``; a
    ``typeddict`` becomes a :class:`~typing_extensions.TypedDict` refusing
    unknown keys; an int or float keeps its ``bounds``. Every type converts
    numpy scalars first.
    """
    kind = node.kind
    before: Callable[[Any], Any] = _plain
    if kind in ("bool", "str"):
        tp: Any = {"bool": bool, "str": str}[kind]
    elif kind == "none":
        tp = None
    elif kind == "int":
        tp = Annotated[int, Field(**dict(node.bounds))]
    elif kind == "float":
        tp = Annotated[float, AllowInfNan(False), Field(**dict(node.bounds))]
    elif kind == "literal":
        tp = _literal(node.values)
    elif kind == "union":
        members = tuple(python_type(m) for m in node.args)
        tp = Annotated[Union[members], Field(union_mode="left_to_right")]  # noqa: UP007 (first member that fits)
    elif kind == "dict":
        tp, before = dict[python_type(node.args[0]), python_type(node.args[1])], _mapping  # type: ignore[misc]
    elif kind == "list":
        tp, before = list[python_type(node.args[0])], _sequence(list)  # type: ignore[misc]
    elif kind == "tuple":
        items = (python_type(node.args[0]), ...) if node.variadic else tuple(map(python_type, node.args))
        tp, before = tuple[items], _sequence(tuple)  # type: ignore[misc]
    elif kind == "typeddict":
        tp, before = _typeddict(node), _mapping
    elif kind == "class":
        tp = type
    elif kind == "callable":
        tp = Callable
    else:  # any, opaque
        tp = Any
    return Annotated[tp, BeforeValidator(before)]


@functools.lru_cache(maxsize=2048)
def adapter(node: TypeNode) -> TypeAdapter:
    """The (cached) pydantic adapter of ``node``; validate with ``strict=True``."""
    return TypeAdapter(python_type(node))


def _errors(node: TypeNode, value: Any) -> list[dict[str, Any]]:
    """pydantic's errors for ``value`` as ``node`` (empty when valid)."""
    try:
        adapter(node).validate_python(value, strict=True)
    except ValidationError as exc:
        return exc.errors(include_url=False, include_input=False)
    return []


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
        The cleaned value and the list of ``(field, message)`` problems (empty
        when valid). A refused value is returned as given.
    """
    try:
        cleaned = adapter(node).validate_python(value, strict=True)
    except ValidationError as exc:
        return value, _explain(node, value, exc.errors(include_url=False, include_input=False), field)
    except RecursionError:
        return value, [(field, "nested too deeply to check or store (or it refers to itself); flatten it")]
    return cleaned, _stored_as_json(node, cleaned, field)


#: How deep data given for ``Any`` is followed when looking for what JSON cannot store.
_MAX_NESTING = 100


def _stored_as_json(node: TypeNode, value: Any, field: str) -> Problems:
    """Free data (``additional_fields: dict[str, Any]``, ``list[Any]``) must be storable as JSON.

    Classes, functions and objects of named types (an optimizer class, an Atoms) are what
    their annotation asks for and travel to the job as they are; free data does not get
    turned into its repr in the store and the job's results.
    """
    members = [m for m in (node.args if node.kind == "union" else (node,)) if m.kind != "none"]
    if len(members) != 1 or value is None:
        return []
    node = members[0]
    # containers of free data; a bare ``Any`` (a user's own parameter) may be any object
    if (node.kind == "dict" and node.args and node.args[-1].kind == "any") or (
        node.kind == "list" and node.args and node.args[0].kind == "any"
    ):
        bad = _first_non_json(value, field, 0, field)
        if bad:
            return [bad]
    return []


def _first_non_json(value: Any, where: str, depth: int, root: str) -> tuple[str, str] | None:
    if depth > _MAX_NESTING:
        return (root, f"nested more than {_MAX_NESTING} levels deep; flatten it")
    if value is None or isinstance(value, (bool, int, str)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (where, f"{value} cannot be stored; use a finite number")
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return None  # numpy numbers and arrays are stored as their values
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return (where, f"the key {key!r} is not a string; JSON keys must be strings")
            found = _first_non_json(item, f"{where}[{key!r}]", depth + 1, root)
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _first_non_json(item, f"{where}[{i}]", depth + 1, root)
            if found:
                return found
        return None
    kind = type(value)
    return (
        where,
        f"holds a {kind.__module__}.{kind.__qualname__}, which cannot be stored with the job; "
        "use numbers, strings, lists and dicts",
    )


# ---------------------------------------------------------------- messages


#: pydantic's errors of a number outside its bounds: the bound's name, and how to say it.
_BOUNDS = {
    "greater_than": ("gt", "too small", "greater than {}"),
    "greater_than_equal": ("ge", "too small", "of at least {}"),
    "less_than": ("lt", "too large", "less than {}"),
    "less_than_equal": ("le", "too large", "of at most {}"),
}


#: Errors at the top of a node that mean the right kind of value with something wrong about it.
_INSIDE = {"finite_number", "too_long", "too_short", *_BOUNDS}


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


def _not_one_of(value: Any, literals: list[Any], extra: str = "") -> str:
    names = [v for v in literals if isinstance(v, str)]
    return f"{value!r} is not one of {', '.join(map(repr, literals))}{extra}{_suggest(value, names)}"


def _explain(node: TypeNode, value: Any, errors: list[dict[str, Any]], field: str) -> Problems:
    """The problems of a value pydantic refused as ``node`` with ``errors``."""
    value = _plain(value)
    if node.kind == "union":
        return _explain_union(node, value, field)
    if node.kind == "literal":
        return [(field, _not_one_of(value, list(node.values)))]
    top = {e["type"] for e in errors if not e["loc"]}
    if "finite_number" in top:
        return [(field, f"{float(value)!r} is not a finite number; use a finite number such as 0.05")]
    for error, (name, what, limit) in _BOUNDS.items():
        if error in top:
            noun = "a whole number" if node.kind == "int" else "a number"
            return [(field, f"{value!r} is {what}; use {noun} {limit.format(dict(node.bounds)[name])}")]
    short = any(e["type"] == "missing" and len(e["loc"]) == 1 for e in errors)
    if node.kind == "tuple" and not node.variadic and ("too_long" in top or short):
        message = f"expected {len(node.args)} items ({node}), got {len(value)}; use {type_hint(node)}"
        return [(field, message)]
    if top:
        return _mismatch(node, value, field)
    problems = _explain_items(node, value, errors, field)
    return problems or _mismatch(node, value, field)


def _explain_union(node: TypeNode, value: Any, field: str) -> Problems:
    literals = [v for m in node.args if m.kind == "literal" for v in m.values]
    if node.choices is not None or (isinstance(value, str) and any(isinstance(v, str) for v in literals)):
        others = [describe(m) for m in node.args if m.kind not in ("literal", "none")]
        extra = (", None" if node.optional else "") + (f" (or {' or '.join(others)})" if others else "")
        return [(field, _not_one_of(value, literals, extra))]
    for member in node.args:
        errors = _errors(member, value)
        if any(e["loc"] or e["type"] in _INSIDE for e in errors):  # the right kind of value, wrong inside
            return _explain(member, value, errors, field)
    return _mismatch(node, value, field)


def _check_item(node: TypeNode, value: Any, field: str) -> Problems:
    errors = _errors(node, value)
    return _explain(node, value, errors, field) if errors else []


def _explain_items(node: TypeNode, value: Any, errors: list[dict[str, Any]], field: str) -> Problems:
    """The problems inside a dict, list, tuple or TypedDict, item by item, in the value's order."""
    problems: Problems = []
    if node.kind == "dict":
        key_type, value_type = node.args
        for key, item in value.items():
            sub = f"{field}[{key!r}]"
            problems += _check_item(key_type, key, f"{sub} (key)") + _check_item(value_type, item, sub)
    elif node.kind in ("list", "tuple"):
        items = _sequence(list)(value)
        types = [node.args[0]] * len(items) if node.kind == "list" or node.variadic else node.args
        for i, (item_type, item) in enumerate(zip(types, items)):
            problems += _check_item(item_type, item, f"{field}[{i}]")
    elif node.kind == "typeddict":
        known = {f.name: f for f in node.fields}
        for key, item in value.items():
            sub = f"{field}[{key!r}]"
            if key in known:
                problems += _check_item(known[key].type, item, sub)
            else:
                fix = _suggest(key, list(known)) or f"; valid keys: {', '.join(known)}"
                problems.append((sub, f"not a key of {node.name}{fix}"))
        for e in errors:
            if e["type"] == "missing" and len(e["loc"]) == 1 and e["loc"][0] in known:
                name = e["loc"][0]
                problems.append(
                    (f"{field}[{name!r}]", f"required key of {node.name}; give {type_hint(known[name].type)}")
                )
    return problems
