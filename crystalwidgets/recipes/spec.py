"""What a recipe takes: one :class:`ParamSpec` per parameter and a :class:`RecipeSpec` that
validates keyword arguments before anything is submitted, naming every bad field and its fix."""

from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import (
    RecipeValidationError,
    UncheckedKwargsWarning,
)
from .annotations import (
    ModuleSources,
    Namespace,
    TypeNode,
    jsonable,
    module_source,
    parse_annotation,
    parse_file,
    type_hint,
)
from .docs import _parse_doc
from .validate import check_value

__all__ = ["ParamSpec", "RecipeSpec", "Unevaluated"]


EMPTY = inspect.Parameter.empty


_SPEC_LOCK = threading.RLock()


@dataclasses.dataclass(frozen=True)
class Unevaluated:
    """A default value read from source that is not a literal (kept as its source text)."""

    text: str

    def __repr__(self) -> str:
        return self.text


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """One parameter of a recipe.

    Parameters
    ----------
    name
        The parameter's name.
    annotation
        The annotation as written (``"OptParams | None"``); empty if none.
    type
        The annotation parsed into a :class:`~crystalwidgets.recipes.annotations.TypeNode`.
    default
        The default value, ``inspect.Parameter.empty`` when required, or an
        :class:`Unevaluated` for a non-literal default read from source.
    help
        The numpydoc description, links stripped.
    kind
        The :class:`inspect.Parameter` kind name (``POSITIONAL_OR_KEYWORD``, ``KEYWORD_ONLY``...).
    is_structure
        Whether this is the structure input (the first positional ``atoms``):
        given separately, not a form field.
    """

    name: str
    annotation: str
    type: TypeNode
    default: Any = EMPTY
    help: str = ""
    kind: str = "POSITIONAL_OR_KEYWORD"
    is_structure: bool = False

    @property
    def required(self) -> bool:
        """Whether the parameter has no default."""
        return self.default is EMPTY

    @property
    def optional(self) -> bool:
        """Whether None is an accepted value."""
        return self.type.optional

    @property
    def choices(self) -> tuple[Any, ...] | None:
        """The allowed values of a Literal parameter, else None."""
        return self.type.choices

    def to_json(self) -> dict[str, Any]:
        """The parameter as a JSON-able dict for a form field.

        ``default`` is the value when it is JSON-able, else its repr (then
        ``default_is_repr`` is true); it is None for a required parameter.
        """
        default, is_repr = jsonable(self.default) if not self.required else (None, False)
        choices = self.choices
        return {
            "name": self.name,
            "annotation": self.annotation,
            "type": self.type.to_json(),
            "required": self.required,
            "default": default,
            "default_is_repr": is_repr,
            "optional": self.optional,
            "choices": [jsonable(c)[0] for c in choices] if choices is not None else None,
            "help": self.help,
            "kind": self.kind,
        }


@dataclasses.dataclass(frozen=True)
class RecipeSpec:
    """The parameters of one recipe, and how to check values for them.

    Parameters
    ----------
    recipe
        The recipe's name (used in messages).
    params
        Every named parameter, in signature order (the structure input included).
    var_keyword
        The name of the ``**kwargs`` parameter (``calc_kwargs``), or None.
    description
        The docstring's summary and extended summary, as plain text.
    var_keyword_help
        The documentation of the ``**kwargs`` parameter.
    """

    recipe: str
    params: tuple[ParamSpec, ...]
    var_keyword: str | None = None
    description: str = ""
    var_keyword_help: str = ""

    @property
    def structure(self) -> ParamSpec | None:
        """The structure input parameter, or None if the recipe takes none."""
        return next((p for p in self.params if p.is_structure), None)

    @property
    def fields(self) -> tuple[ParamSpec, ...]:
        """The parameters a form shows: all but the structure input."""
        return tuple(p for p in self.params if not p.is_structure)

    def unchecked(self, kwargs: Mapping[str, Any]) -> list[str]:
        """The names in ``kwargs`` that go unchecked to ``**var_keyword`` (none if there is no such parameter)."""
        names = {p.name for p in self.params}
        return [k for k in kwargs if k not in names] if self.var_keyword else []

    def validate(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Check parameters and return them cleaned.

        Parameters
        ----------
        kwargs
            Parameter values by name, without the structure input.

        Returns
        -------
        dict
            The given parameters, cleaned: ints given for floats become floats,
            numpy scalars become Python values, tuples/lists as annotated.
            Names that go to ``**var_keyword`` are passed through as given and
            reported with an :class:`UncheckedKwargsWarning`.

        Raises
        ------
        RecipeValidationError
            Listing every problem: unknown names (with the closest valid name),
            wrong types, values outside a Literal, NaN or infinite numbers,
            missing required parameters, bad keys of TypedDict parameters.
        """
        if not isinstance(kwargs, Mapping):
            got = f"{type(kwargs).__name__}"
            problem = ("parameters", f"expected a dict of name: value, got {got}")
            raise RecipeValidationError(self.recipe, [problem])
        by_name = {p.name: p for p in self.params}
        cleaned: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for key, value in kwargs.items():
            param = by_name.get(key)
            if not isinstance(key, str):
                problems.append((repr(key), "a parameter name must be a string such as 'relax_cell'"))
            elif not key.isidentifier():
                problems.append((key, "not a valid parameter name (letters, digits and _ only)"))
            elif key == self.var_keyword:
                fix = f"give the entries of **{key} as parameters of their own, not as one dict named {key}"
                problems.append((key, fix))
            elif param is None and self.var_keyword:
                cleaned[key] = value
            elif param is None:
                problems.append((key, f"not a parameter of {self.recipe}{self._closest(key)}"))
            elif param.is_structure:
                fix = "this is the structure input; pass the structure separately, not as a parameter"
                problems.append((key, fix))
            elif param.kind == "POSITIONAL_ONLY":
                problems.append((key, "a positional-only parameter cannot be given by name"))
            else:
                cleaned[key], found = check_value(param.type, value, key)
                problems += found
        for param in self.params:
            if param.required and not param.is_structure and param.name not in kwargs:
                problems.append((param.name, f"required; give {type_hint(param.type)}"))
        if problems:
            raise RecipeValidationError(self.recipe, problems)
        unchecked = self.unchecked(kwargs)
        if unchecked:
            warnings.warn(UncheckedKwargsWarning(self._unchecked_message(unchecked)), stacklevel=2)
        return cleaned

    def _closest(self, key: str) -> str:
        names = [p.name for p in self.fields]
        close = difflib.get_close_matches(key, names, 1, 0.6)
        if close:
            return f"; did you mean {close[0]!r}?"
        return f"; valid parameters: {', '.join(names)}" if names else "; it takes no parameters"

    def _unchecked_message(self, names: list[str]) -> str:
        listed = ", ".join(map(repr, names))
        verb = "is not a parameter" if len(names) == 1 else "are not parameters"
        text = f"{self.recipe}: {listed} {verb} of the recipe; passed unchecked to **{self.var_keyword}"
        text += " (the calculator)" if self.var_keyword == "calc_kwargs" else ""
        fields = [p.name for p in self.fields]
        near = [
            f"{n!r} looks like {c[0]!r}" for n in names if (c := difflib.get_close_matches(n, fields, 1, 0.75))
        ]
        return text + (f"; check the spelling: {', '.join(near)}" if near else "")

    def to_json(self) -> dict[str, Any]:
        """The spec as a JSON-able dict for a form: one entry in ``fields`` per form field."""
        structure = self.structure
        return {
            "recipe": self.recipe,
            "description": self.description,
            "structure": structure.name if structure else None,
            "var_keyword": self.var_keyword,
            "var_keyword_help": self.var_keyword_help,
            "fields": [p.to_json() for p in self.fields],
        }


def _is_structure(param: ParamSpec) -> bool:
    return param.name == "atoms" or param.type.name.rsplit(".", 1)[-1] == "Atoms"


def _build_spec(recipe: str, params: list[ParamSpec], var_keyword: str | None, doc: str) -> RecipeSpec:
    """A spec with help texts from ``doc`` and the first positional ``atoms`` marked as the structure."""
    description, helps = _parse_doc(doc)
    params = [dataclasses.replace(p, help=helps.get(p.name, "")) for p in params]
    if params and params[0].kind != "KEYWORD_ONLY" and _is_structure(params[0]):
        params[0] = dataclasses.replace(params[0], is_structure=True)
    var_help = helps.get(var_keyword, "") if var_keyword else ""
    return RecipeSpec(recipe, tuple(params), var_keyword, description, var_help)


def _literal_default(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return Unevaluated(ast.unparse(node))


def _spec_from_ast(recipe: str, args: ast.arguments, doc: str, namespace: Namespace) -> RecipeSpec:
    """The spec of a recipe read from its source (no import)."""
    params = []
    positional = [*args.posonlyargs, *args.args]
    defaults = [EMPTY] * (len(positional) - len(args.defaults)) + [_literal_default(d) for d in args.defaults]
    kw_defaults = [EMPTY if d is None else _literal_default(d) for d in args.kw_defaults]
    kinds = ["POSITIONAL_ONLY"] * len(args.posonlyargs) + ["POSITIONAL_OR_KEYWORD"] * len(args.args)
    for arg, default, kind in [
        *zip(positional, defaults, kinds),
        *((a, d, "KEYWORD_ONLY") for a, d in zip(args.kwonlyargs, kw_defaults)),
    ]:
        annotation = ast.unparse(arg.annotation) if arg.annotation else ""
        type_ = parse_annotation(arg.annotation, namespace) if arg.annotation else parse_annotation(EMPTY)
        params.append(ParamSpec(arg.arg, annotation, type_, default, kind=kind))
    return _build_spec(recipe, params, args.kwarg.arg if args.kwarg else None, doc)


def _spec_from_callable(
    recipe: str, func: Callable, signature: inspect.Signature, sources: ModuleSources
) -> RecipeSpec:
    """The spec of a live function: its signature, docstring and (string) annotations."""
    module = getattr(func, "__module__", "") or ""
    path = module_source(module) if module else None
    tree = parse_file(path) if path else None
    runtime = getattr(inspect.unwrap(func), "__globals__", {})
    is_package = bool(path and path.name == "__init__.py")
    namespace = Namespace(module, tree, sources, is_package=is_package, runtime=runtime)
    params, var_keyword = [], None
    for p in signature.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_keyword = p.name
        elif p.kind is not p.VAR_POSITIONAL:
            ann = p.annotation
            text = "" if ann is EMPTY else ann if isinstance(ann, str) else inspect.formatannotation(ann)
            params.append(ParamSpec(p.name, text, parse_annotation(ann, namespace), p.default, kind=p.kind.name))
    return _build_spec(recipe, params, var_keyword, inspect.getdoc(func) or "")
