"""Parameter types of recipes: a small type tree, read from annotations without evaluating them.

quacc writes its annotations as strings whose names exist only under
``TYPE_CHECKING``, so they are read with :mod:`ast`, never evaluated. Names a
module imports or defines (TypedDicts such as ``OptParams``, aliases such as
``CopyFiles``) are followed through the source of the defining module, which
is located and parsed, never imported. Real typing objects (a user's own
function without ``from __future__ import annotations``) map to the same tree.

A :class:`TypeNode` is one of these kinds: ``any``, ``none``, ``bool``, ``int``,
``float``, ``str``, ``literal`` (``values``), ``union`` (``args``), ``dict``
(``args`` = key, value), ``list`` (``args`` = item), ``tuple`` (``args``, or one
arg and ``variadic``), ``typeddict`` (``fields``), ``class`` (``type[...]``: any
class), ``callable`` (``Callable[...]``: any callable), ``opaque`` (a name such
as ``Atoms``: values are accepted unchecked).

An ``int`` or ``float`` node may carry ``bounds`` (``(("gt", 0),)``). Annotations
cannot say them; they come from :data:`KNOWN_BOUNDS`, the physical limits of
well-known quacc parameters (``opt_params['fmax'] > 0``).
"""

from __future__ import annotations

import ast
import collections.abc
import dataclasses
import importlib.util
import inspect
import json
import sys
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["KNOWN_BOUNDS", "jsonable", "ModuleSources", "Namespace", "TypeNode", "TypedField", "describe", "from_object", "module_source", "parse_annotation", "parse_file", "top_statements", "type_hint"]


@dataclasses.dataclass(frozen=True)
class TypedField:
    """One key of a TypedDict: its name, type and whether it must be given."""

    name: str
    type: TypeNode
    required: bool

    def to_json(self) -> dict[str, Any]:
        """The field as a JSON-able dict."""
        return {"name": self.name, "type": self.type.to_json(), "required": self.required}


@dataclasses.dataclass(frozen=True, repr=False)
class TypeNode:
    """A parameter type as a small tree (see the module docstring for the kinds).

    Parameters
    ----------
    kind
        The node kind.
    name
        Display name: ``bool``, ``OptParams``, ``Atoms``, or the source text of
        an opaque annotation.
    args
        Union members; dict key and value; list item; tuple items.
    values
        The choices of a ``literal``.
    fields
        The keys of a ``typeddict``.
    variadic
        For a ``tuple``: ``tuple[X, ...]``.
    origin
        Where an opaque name was imported from (``ase.atoms.Atoms``), if known.
    bounds
        For an ``int`` or ``float``: limits as ``(name, number)`` pairs, names
        from ``gt``, ``ge``, ``lt``, ``le`` (``(("gt", 0),)`` is ``> 0``).
    """

    kind: str
    name: str = ""
    args: tuple[TypeNode, ...] = ()
    values: tuple[Any, ...] = ()
    fields: tuple[TypedField, ...] = ()
    variadic: bool = False
    origin: str = ""
    bounds: tuple[tuple[str, float], ...] = ()

    def __repr__(self) -> str:
        return f"<TypeNode {self.kind}: {self}>"

    def __str__(self) -> str:
        if self.kind == "literal":
            return f"Literal[{', '.join(map(repr, self.values))}]"
        if self.kind == "union":
            return " | ".join(map(str, self.args))
        if self.kind in ("dict", "list") or (self.kind == "tuple" and self.args):
            inner = ", ".join(map(str, self.args)) + (", ..." if self.variadic else "")
            return f"{self.kind}[{inner}]"
        return self.name or self.kind

    @property
    def optional(self) -> bool:
        """Whether None is an accepted value."""
        return self.kind in ("none", "any") or any(a.kind == "none" for a in self._members())

    @property
    def choices(self) -> tuple[Any, ...] | None:
        """The allowed values when the type is a Literal (or a Literal | None), else None."""
        members = [m for m in self._members() if m.kind != "none"]
        if members and all(m.kind == "literal" for m in members):
            return tuple(v for m in members for v in m.values)
        return None

    def _members(self) -> tuple[TypeNode, ...]:
        return self.args if self.kind == "union" else (self,)

    def to_json(self) -> dict[str, Any]:
        """The tree as JSON-able dicts: ``kind`` and ``name``, plus the parts the kind has."""
        out: dict[str, Any] = {"kind": self.kind, "name": str(self)}
        if self.args:
            out["args"] = [a.to_json() for a in self.args]
        if self.kind == "literal":
            out["values"] = [jsonable(v)[0] for v in self.values]
        if self.fields:
            out["fields"] = [f.to_json() for f in self.fields]
        if self.variadic:
            out["variadic"] = True
        if self.origin:
            out["origin"] = self.origin
        if self.bounds:
            out["bounds"] = dict(self.bounds)
        return out


ANY = TypeNode("any", "Any")


NONE = TypeNode("none", "None")


_SIMPLE = {
    "bool": TypeNode("bool", "bool"),
    "int": TypeNode("int", "int"),
    "float": TypeNode("float", "float"),
    "str": TypeNode("str", "str"),
    "None": NONE,
    "NoneType": NONE,
    "Any": ANY,
    "object": ANY,
}


_DICTS = {"dict", "Dict", "Mapping", "MutableMapping"}


_LISTS = {"list", "List", "Sequence", "MutableSequence"}


_TUPLES = {"tuple", "Tuple"}


_CALLABLES = {"Callable"}


_CLASSES = {"type", "Type"}


_UNWRAP = {"NotRequired", "Required", "Annotated", "Final", "ClassVar", "ReadOnly"}


_MAX_DEPTH = 12


_OPT_BOUNDS = {"fmax": (("gt", 0),), "max_steps": (("ge", 1),)}


#: Limits of the numbers in well-known TypedDicts: TypedDict (``module.Name``) -> key -> bounds.
KNOWN_BOUNDS: dict[str, dict[str, tuple[tuple[str, float], ...]]] = {
    "quacc.types.OptParamsNoCell": _OPT_BOUNDS,
    "quacc.types.OptParams": _OPT_BOUNDS,  # inherits them when read from source; a live class lists them itself
}


def _bounded(node: TypeNode, bounds: tuple[tuple[str, float], ...]) -> TypeNode:
    """``node`` with ``bounds`` on its numbers (the int and float members of a union)."""
    if node.kind == "union":
        return dataclasses.replace(node, args=tuple(_bounded(a, bounds) for a in node.args))
    return dataclasses.replace(node, bounds=bounds) if node.kind in ("int", "float") else node


def _typeddict_node(name: str, fields: tuple[TypedField, ...], origin: str) -> TypeNode:
    """A ``typeddict`` node, its numbers bounded as :data:`KNOWN_BOUNDS` says."""
    known = KNOWN_BOUNDS.get(origin, {})
    fields = tuple(dataclasses.replace(f, type=_bounded(f.type, known[f.name])) if f.name in known else f for f in fields)
    return TypeNode("typeddict", name, fields=fields, origin=origin)


def _union_of(members: Iterator[TypeNode] | list[TypeNode]) -> TypeNode:
    """A union of ``members``, flattened and without duplicates (one member: itself)."""
    flat: list[TypeNode] = []
    for member in members:
        for m in member._members():
            if m.kind == "any":
                return ANY
            if m not in flat:
                flat.append(m)
    return flat[0] if len(flat) == 1 else TypeNode("union", args=tuple(flat))


def jsonable(value: Any) -> tuple[Any, bool]:
    """``(value, False)`` when ``value`` is strict JSON, else ``(repr(value), True)``."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value), True
    return value, False


def _opaque(name: str, origin: str = "") -> TypeNode:
    return TypeNode("opaque", name, origin=origin)


def module_source(module: str) -> Path | None:
    """The ``.py`` file of ``module``, found without importing it (None if not found)."""
    loaded = sys.modules.get(module)
    if loaded is not None:
        file = getattr(loaded, "__file__", None)
        return Path(file) if file and file.endswith(".py") else None
    top, *rest = module.split(".")
    try:
        # For a top-level name find_spec runs the finders only, not the package.
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:
        return Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None
    for location in spec.submodule_search_locations or ():
        base = Path(location, *rest)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def top_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, including those under ``if``/``try`` (e.g. TYPE_CHECKING)."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            yield from top_statements(stmt.body)
            yield from top_statements(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            for part in (stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody):
                yield from top_statements(part)
        else:
            yield stmt


def _is_type_expr(node: ast.expr) -> bool:
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.BitOr) and _is_type_expr(node.left) and _is_type_expr(node.right)
    return isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)) or (
        isinstance(node, ast.Constant) and node.value is None
    )


class Namespace:
    """The names one module's annotations can use, read from its source.

    Parameters
    ----------
    module
        Dotted module name.
    tree
        The parsed module, or None when its source is not available.
    sources
        Where other modules' namespaces come from.
    is_package
        Whether the module is a package ``__init__`` (for relative imports).
    runtime
        The module's live globals, consulted for names the source does not explain.
    """

    def __init__(
        self,
        module: str,
        tree: ast.Module | None,
        sources: ModuleSources,
        *,
        is_package: bool = False,
        runtime: Mapping[str, Any] | None = None,
    ) -> None:
        self.module = module
        self._sources = sources
        self._runtime = runtime or {}
        self._imports: dict[str, tuple[str, str | None]] = {}
        self._defs: dict[str, ast.AST] = {}
        self._cache: dict[str, TypeNode | None] = {}
        package = module if is_package else module.rpartition(".")[0]
        for stmt in top_statements(tree.body if tree else []):
            if isinstance(stmt, ast.ImportFrom):
                base = stmt.module or ""
                if stmt.level:
                    parent = package.rsplit(".", stmt.level - 1)[0] if stmt.level > 1 else package
                    base = f"{parent}.{base}" if base else parent
                for alias in stmt.names:
                    self._imports[alias.asname or alias.name] = (base, alias.name)
            elif isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    if alias.asname:
                        self._imports[alias.asname] = (alias.name, None)
            elif isinstance(stmt, ast.ClassDef):
                self._defs[stmt.name] = stmt
            elif (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and _is_type_expr(stmt.value)
            ):
                self._defs[stmt.targets[0].id] = stmt.value
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value:
                if getattr(stmt.annotation, "id", getattr(stmt.annotation, "attr", "")) == "TypeAlias":
                    self._defs[stmt.target.id] = stmt.value

    def resolve(self, name: str, depth: int = 0) -> TypeNode | None:
        """The type ``name`` stands for in this module, or None when the module does not know it."""
        if name not in self._cache:
            self._cache[name] = None  # a name that refers to itself ends as opaque
            self._cache[name] = self._resolve(name, depth)
        return self._cache[name]

    def _resolve(self, name: str, depth: int) -> TypeNode | None:
        if depth > _MAX_DEPTH:
            return _opaque(name)
        definition = self._defs.get(name)
        if isinstance(definition, ast.ClassDef):
            return self._typeddict(definition, depth) or _opaque(name, f"{self.module}.{name}")
        if definition is not None:
            return _from_ast(definition, self, depth + 1)
        if name in self._imports:
            module, attr = self._imports[name]
            other = self._sources.namespace(module) if attr else None
            found = other.resolve(attr, depth + 1) if other else None
            if found is not None:
                return found
            if name in self._runtime:
                return from_object(self._runtime[name], None, depth + 1)
            return _opaque(name, f"{module}.{attr}" if attr else module)
        if name in self._runtime:
            return from_object(self._runtime[name], None, depth + 1)
        return None

    def _typeddict(self, cls: ast.ClassDef, depth: int) -> TypeNode | None:
        fields: dict[str, TypedField] = {}
        is_typeddict = False
        for base in cls.bases:
            base_name = getattr(base, "id", getattr(base, "attr", ""))
            if base_name == "TypedDict":
                is_typeddict = True
                continue
            parent = self.resolve(base_name, depth + 1) if base_name else None
            if parent is None or parent.kind != "typeddict":
                return None
            is_typeddict = True
            fields.update((f.name, f) for f in parent.fields)
        if not is_typeddict:
            return None
        total = not any(
            k.arg == "total" and isinstance(k.value, ast.Constant) and k.value.value is False
            for k in cls.keywords
        )
        for stmt in cls.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                required = total
                ann = stmt.annotation
                head = ann.value if isinstance(ann, ast.Subscript) else None
                head_name = getattr(head, "id", getattr(head, "attr", ""))
                if head_name in ("NotRequired", "Required"):
                    required = head_name == "Required"
                field_type = _from_ast(ann, self, depth + 1)
                fields[stmt.target.id] = TypedField(stmt.target.id, field_type, required)
        return _typeddict_node(cls.name, tuple(fields.values()), f"{self.module}.{cls.name}")


class ModuleSources:
    """Namespaces of modules read from source, cached; only under the given top packages.

    Parameters
    ----------
    roots
        Top-level package names whose modules may be located and parsed
        (``{"quacc"}``); names imported from elsewhere stay opaque.
    """

    def __init__(self, roots: set[str]) -> None:
        self.roots = set(roots)
        self._namespaces: dict[str, Namespace | None] = {}

    def add(self, module: str, tree: ast.Module, *, is_package: bool = False) -> Namespace:
        """Register an already parsed module and return its namespace."""
        ns = Namespace(module, tree, self, is_package=is_package)
        self._namespaces[module] = ns
        return ns

    def namespace(self, module: str) -> Namespace | None:
        """The namespace of ``module``, parsed from its source on first use (None if unavailable)."""
        if module not in self._namespaces:
            self._namespaces[module] = None
            if module.split(".")[0] in self.roots:
                path = module_source(module)
                tree = parse_file(path) if path else None
                if tree is not None:
                    self._namespaces[module] = self.add(module, tree, is_package=path.name == "__init__.py")
        return self._namespaces[module]


def parse_file(path: Path) -> ast.Module | None:
    """The parsed source of ``path``, or None when it cannot be read or parsed."""
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None


def parse_annotation(annotation: Any, namespace: Namespace | None = None) -> TypeNode:
    """Parse an annotation into a :class:`TypeNode`.

    Parameters
    ----------
    annotation
        A string (``"OptParams | None"``), an :mod:`ast` expression, a real
        typing object (``dict[str, int]``), or ``inspect.Parameter.empty``.
    namespace
        Where names come from; without it only builtins and typing names are known.

    Returns
    -------
    TypeNode
        The type tree; anything not understood becomes an ``opaque`` node.
    """
    if isinstance(annotation, ast.expr):
        return _from_ast(annotation, namespace, 0)
    return from_object(annotation, namespace, 0)


def _parse_text(text: str, namespace: Namespace | None, depth: int) -> TypeNode:
    try:
        expr = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return _opaque(text)
    return _from_ast(expr, namespace, depth)


def _head(node: ast.expr) -> str:
    """The last name of a Name or Attribute (``typing.Literal`` -> ``Literal``)."""
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _from_ast(node: ast.AST, namespace: Namespace | None, depth: int) -> TypeNode:
    if depth > _MAX_DEPTH:
        return _opaque(ast.unparse(node))
    if isinstance(node, ast.Constant):
        if node.value is None:
            return NONE
        if isinstance(node.value, str):
            return _parse_text(node.value, namespace, depth + 1)
        return _opaque(ast.unparse(node))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union_of([_from_ast(side, namespace, depth + 1) for side in (node.left, node.right)])
    if isinstance(node, (ast.Name, ast.Attribute)):
        return _from_name(node, namespace, depth)
    if isinstance(node, ast.Subscript):
        return _from_subscript(node, namespace, depth)
    return _opaque(ast.unparse(node))


def _from_name(node: ast.Name | ast.Attribute, namespace: Namespace | None, depth: int) -> TypeNode:
    name = _head(node)
    if name in _SIMPLE:
        return _SIMPLE[name]
    if name in _DICTS:
        return TypeNode("dict", "dict", args=(ANY, ANY))
    if name in _LISTS:
        return TypeNode("list", "list", args=(ANY,))
    if name in _TUPLES:
        return TypeNode("tuple", "tuple", args=(ANY,), variadic=True)
    if name in _CALLABLES or name in _CLASSES:
        return TypeNode("callable" if name in _CALLABLES else "class", ast.unparse(node))
    if isinstance(node, ast.Name) and namespace is not None:
        found = namespace.resolve(name, depth + 1)
        if found is not None:
            return found
    return _opaque(ast.unparse(node))


def _from_subscript(node: ast.Subscript, namespace: Namespace | None, depth: int) -> TypeNode:
    head = _head(node.value)
    if head in _CALLABLES or head in _CLASSES:
        return TypeNode("callable" if head in _CALLABLES else "class", ast.unparse(node))
    items = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
    sub = [_from_ast(i, namespace, depth + 1) for i in items] if head != "Literal" else []
    if head == "Literal":
        try:
            values = tuple(ast.literal_eval(i) for i in items)
        except ValueError:
            return _opaque(ast.unparse(node))
        return TypeNode("literal", values=values)
    if head == "Optional":
        return _union_of([sub[0], NONE])
    if head == "Union":
        return _union_of(sub)
    if head in _UNWRAP:
        return sub[0]
    if head in _DICTS and len(sub) == 2:
        return TypeNode("dict", "dict", args=tuple(sub))
    if head in _LISTS and len(sub) == 1:
        return TypeNode("list", "list", args=tuple(sub))
    if head in _TUPLES:
        if len(items) == 2 and isinstance(items[1], ast.Constant) and items[1].value is Ellipsis:
            return TypeNode("tuple", "tuple", args=(sub[0],), variadic=True)
        return TypeNode("tuple", "tuple", args=tuple(sub))
    return _opaque(ast.unparse(node))


def _is_typeddict_class(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, dict) and hasattr(obj, "__required_keys__")


def from_object(obj: Any, namespace: Namespace | None = None, depth: int = 0) -> TypeNode:
    """The :class:`TypeNode` of a real annotation object (strings are parsed in ``namespace``)."""
    if depth > _MAX_DEPTH:
        return _opaque(repr(obj))
    if obj is inspect.Parameter.empty:
        return ANY
    if isinstance(obj, str):
        return _parse_text(obj, namespace, depth + 1)
    if isinstance(obj, typing.ForwardRef):
        return _parse_text(obj.__forward_arg__, namespace, depth + 1)
    if obj is None or obj is type(None):
        return NONE
    if obj is typing.Any or obj is object:
        return ANY
    if obj in (bool, int, float, str):
        return _SIMPLE[obj.__name__]
    origin, args = typing.get_origin(obj), typing.get_args(obj)
    if origin is collections.abc.Callable or obj is collections.abc.Callable or obj is typing.Callable:
        return TypeNode("callable", inspect.formatannotation(obj))
    if origin is type or obj is type:
        return TypeNode("class", inspect.formatannotation(obj))
    sub = [from_object(a, namespace, depth + 1) for a in args if a is not Ellipsis]
    if origin is typing.Literal:
        return TypeNode("literal", values=args)
    if origin in (typing.Union, types.UnionType):
        return _union_of(sub)
    if origin is typing.Annotated or getattr(origin, "_name", "") in _UNWRAP:
        return sub[0]
    if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping) or obj is dict:
        return TypeNode("dict", "dict", args=tuple(sub) if len(sub) == 2 else (ANY, ANY))
    if origin in (list, collections.abc.Sequence, collections.abc.MutableSequence) or obj is list:
        return TypeNode("list", "list", args=tuple(sub) if len(sub) == 1 else (ANY,))
    if origin is tuple or obj is tuple:
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            return TypeNode("tuple", "tuple", args=(sub[0] if sub else ANY,), variadic=True)
        return TypeNode("tuple", "tuple", args=tuple(sub))
    if _is_typeddict_class(obj):
        try:
            hints = typing.get_type_hints(obj)
        except Exception:  # string annotations naming TYPE_CHECKING-only types
            hints = dict(getattr(obj, "__annotations__", {}))
        fields = tuple(
            TypedField(k, from_object(v, namespace, depth + 1), k in obj.__required_keys__)
            for k, v in hints.items()
        )
        return _typeddict_node(obj.__name__, fields, f"{obj.__module__}.{obj.__qualname__}")
    text = inspect.formatannotation(obj)
    return _opaque(text, f"{obj.__module__}.{obj.__qualname__}" if isinstance(obj, type) else "")


def describe(node: TypeNode) -> str:
    """A type in words for messages: ``float or None``, ``one of 'a', 'b'``."""
    if node.kind == "literal":
        return "one of " + ", ".join(map(repr, node.values)) if len(node.values) > 1 else repr(node.values[0])
    if node.kind == "union":
        return " or ".join(describe(m) for m in node.args)
    if node.kind == "typeddict":
        return f"a dict ({node.name})"
    return str(node)


def type_hint(node: TypeNode) -> str:
    """How to write a value of the type, for the fix part of a message (``True or False``)."""
    hints = {
        "bool": "True or False",
        "int": "a whole number such as 3",
        "float": "a number such as 0.05",
        "str": "a string in quotes",
        "none": "None",
        "dict": "a dict such as {'key': value}",
        "list": "a list such as [...]",
        "tuple": "a tuple or list",
        "class": "a class (the class itself, not its name)",
        "callable": "a function",
    }
    if node.kind == "literal":
        return describe(node)
    if node.kind == "union":
        return " or ".join(type_hint(m) for m in node.args)
    if node.kind == "typeddict":
        keys = ", ".join(repr(f.name) for f in node.fields)
        return f"a dict with keys from {keys}" if keys else "a dict"
    if node.kind == "tuple" and not node.variadic:
        return f"a tuple or list of {len(node.args)} items"
    return hints.get(node.kind, f"a value of type {node}")
