"""The recipe catalogue: every quacc job, flow and subflow, read from source.

``recipes`` lists the recipes of ``quacc.recipes`` without importing them: the
package directory is located with the import finders (nothing is executed) and
each module is parsed with :mod:`ast`. Kinds come from the decorators
(``@job``, ``@flow``, ``@subflow``), parameter specs from the signatures and the
numpydoc docstrings. A recipe module is imported only when a recipe is loaded
or asked whether it is available.

Short names drop ``quacc.recipes.`` and a trailing ``core`` module::

    recipes.resolve("emt.relax_job").path == "quacc.recipes.emt.core.relax_job"
    recipes.resolve("emt.slabs.bulk_to_slabs_flow").kind == "flow"
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import inspect
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import (
    CrystalWidgetsError,
    RecipeUnavailableError,
    UnknownRecipeError,
)
from .annotations import (
    ModuleSources,
    module_source,
    parse_file,
    top_statements,
)
from .docs import _summary
from .spec import _SPEC_LOCK, RecipeSpec, _spec_from_ast, _spec_from_callable

__all__ = ["KINDS", "RecipeCatalogue", "RecipeInfo", "recipes"]


KINDS = ("job", "flow", "subflow")


#: ``code`` of a recipe that is a user's own function.
CUSTOM_CODE = "custom"


def _closure(func: Any) -> dict[str, Any]:
    """The free variables of a function with their values (empty cells left out)."""
    names = getattr(getattr(func, "__code__", None), "co_freevars", ())
    out = {}
    for name, cell in zip(names, getattr(func, "__closure__", None) or ()):
        try:
            out[name] = cell.cell_contents
        except ValueError:
            continue
    return out


def _wrappers(func: Any) -> Iterator[Any]:
    """``func`` and every function it wraps (``__wrapped__`` and closure functions)."""
    seen, stack = set(), [func]
    while stack and len(seen) < 50:
        f = stack.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        yield f
        inner = [v for v in _closure(f).values() if inspect.isfunction(v)]
        stack.extend(reversed([*inner, *([f.__wrapped__] if hasattr(f, "__wrapped__") else [])]))


def _failed_guards(func: Callable) -> list[str]:
    """Messages of monty ``@requires`` guards around ``func`` whose condition is false."""
    messages = []
    for f in _wrappers(func):
        for value in _closure(f).values():
            is_guard = type(value).__name__ == "requires" and hasattr(value, "condition")
            if is_guard and not value.condition and str(value.message) not in messages:
                messages.append(str(value.message))
    return messages


def _callable_kind(func: Callable) -> str:
    """job, flow or subflow: quacc's node type in the wrapper's closure, else the name's suffix, else job."""
    for f in _wrappers(func):
        node_type = _closure(f).get("node_type")
        if node_type is not None:
            return str(getattr(node_type, "value", node_type)).lower()
    name = getattr(func, "__name__", "")
    return next((k for k in ("subflow", "flow", "job") if name.endswith(f"_{k}")), "job")


def _import_failure(module: str, exc: BaseException, declared: tuple[str, ...]) -> str:
    """Why ``module`` cannot be imported, in words, with what the recipe declares it needs."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        text = f"missing Python module {exc.name!r} (importing {module} fails: {exc})"
    else:
        text = f"importing {module} fails: {type(exc).__name__}: {exc}"
    if declared:
        text += "; the recipe declares: " + "; ".join(declared)
    return text


class RecipeInfo:
    """One recipe: its names, kind, summary, parameter spec and availability.

    Made by :meth:`RecipeCatalogue.resolve` and the listing methods, not directly.

    Attributes
    ----------
    name
        Short name (``emt.relax_job``); a user's function: its qualified name.
    path
        Dotted path to import it by (``quacc.recipes.emt.core.relax_job``).
    module
        The module holding it.
    code
        The quacc code (``emt``, ``vasp``, ``common``...) or ``custom`` for a user's function.
    kind
        ``job``, ``flow`` or ``subflow``.
    summary
        The first paragraph of its docstring, as plain text.
    """

    def __init__(
        self,
        *,
        name: str,
        path: str,
        module: str,
        code: str,
        kind: str,
        summary: str,
        spec_factory: Callable[[], RecipeSpec],
        func: Callable | None = None,
        declared: tuple[str, ...] = (),
        uses: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.path = path
        self.module = module
        self.code = code
        self.kind = kind
        self.summary = summary
        self._spec_factory = spec_factory
        self._func = func
        self._declared = declared
        self._uses = uses
        self._reason: str | None = None
        self._checked = False

    def __repr__(self) -> str:
        return f"<RecipeInfo {self.name} ({self.kind}) {self.path}>"

    @functools.cached_property
    def spec(self) -> RecipeSpec:
        """The parameter spec (read from source for catalogued recipes: no import)."""
        with _SPEC_LOCK:  # the source caches behind it are shared
            return self._spec_factory()

    @property
    def available(self) -> bool:
        """Whether the recipe can run here.

        The first call imports the recipe's module (seconds for some codes):
        widgets should ask from a worker thread. A recipe is unavailable when
        its module fails to import, when one of its ``@requires`` guards
        fails, or when a guarded function it calls (a subflow) would refuse.
        """
        self._check()
        return self._reason is None

    @property
    def unavailable_reason(self) -> str | None:
        """Why the recipe cannot run here (missing package, failed guard, import error), or None."""
        self._check()
        return self._reason

    def _check(self) -> None:
        if self._checked:
            return
        try:
            func = self.load()
        except RecipeUnavailableError:
            return
        failed = _failed_guards(func)
        # a flow is only as available as the guarded functions it calls (phonopy...)
        scope = getattr(inspect.unwrap(func), "__globals__", {})
        for name in self._uses if not failed else ():
            needs = _failed_guards(used) if inspect.isfunction(used := scope.get(name)) else []
            failed += [f"it calls {name}, which needs: {'; '.join(needs)}"] if needs else []
        self._reason = "; ".join(failed) or None
        self._checked = True

    def load(self) -> Callable:
        """The recipe function, importing its module on first use.

        Raises
        ------
        RecipeUnavailableError
            When the module cannot be imported, saying why.
        """
        if self._func is not None:
            return self._func
        try:
            func = importlib.import_module(self.module)
            for part in self.path[len(self.module) + 1 :].split("."):
                func = getattr(func, part)
        except Exception as exc:
            self._reason = _import_failure(self.module, exc, self._declared)
            self._checked = True
            raise RecipeUnavailableError(f"{self.name} cannot be loaded: {self._reason}") from exc
        self._func = func
        return func

    def to_json(self) -> dict[str, Any]:
        """The recipe as a JSON-able dict; ``available`` is None until it has been checked."""
        return {
            "name": self.name,
            "path": self.path,
            "module": self.module,
            "code": self.code,
            "kind": self.kind,
            "summary": self.summary,
            "available": (self._reason is None) if self._checked else None,
            "unavailable_reason": self._reason,
        }


def _called_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    """The plain names a function body calls (``phonon_subflow(...)``), in order of appearance."""
    nodes = (n for stmt in func.body for n in ast.walk(stmt))
    calls = (n.func.id for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name))
    return tuple(dict.fromkeys(calls))


def _short_name(parts: tuple[str, ...], func: str) -> str:
    """``("emt", "core"), "relax_job"`` -> ``emt.relax_job``: a trailing ``core`` module is dropped."""
    return ".".join((*(parts[:-1] if parts[-1:] == ("core",) else parts), func))


def _decorations(func: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str | None, tuple[str, ...]]:
    """The recipe kind named by the decorators, and the messages of its ``@requires`` guards."""
    kind, declared = None, []
    for deco in func.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
        if name in KINDS and kind is None:
            kind = name
        elif name == "requires" and isinstance(deco, ast.Call):
            message = deco.args[1] if len(deco.args) > 1 else next(
                (k.value for k in deco.keywords if k.arg == "message"), None
            )
            if isinstance(message, ast.Constant) and isinstance(message.value, str):
                declared.append(message.value)
    return kind, tuple(declared)


class RecipeCatalogue:
    """Every job, flow and subflow of a recipe package, read from source on first use.

    Parameters
    ----------
    package
        The package to catalogue (``quacc.recipes``).

    Examples
    --------
    >>> from crystalwidgets import recipes
    >>> info = recipes.resolve("emt.relax_job")
    >>> info.kind, info.spec.validate({"relax_cell": True})
    ('job', {'relax_cell': True})
    """

    def __init__(self, package: str = "quacc.recipes") -> None:
        self.package = package
        self._lock = threading.Lock()
        self._entries: list[RecipeInfo] | None = None
        self._lookup: dict[str, RecipeInfo] = {}
        self._sources = ModuleSources({package.split(".")[0]})
        # a function submitted many times (a sweep) is read once; a redefined one is new
        self._by_callable: weakref.WeakKeyDictionary[Any, dict[str | None, RecipeInfo]] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        state = f"{len(self._entries)} recipes" if self._entries is not None else "not read yet"
        return f"<RecipeCatalogue {self.package}: {state}>"

    # -- reading

    def _all(self) -> list[RecipeInfo]:
        if self._entries is None:
            with self._lock:
                if self._entries is None:
                    self._entries = self._scan()
        return self._entries

    def _scan(self) -> list[RecipeInfo]:
        init = module_source(self.package)
        if init is None or init.name != "__init__.py":
            top = self.package.split(".")[0]
            raise CrystalWidgetsError(f"cannot find the package {self.package}; install it (pip install {top})")
        root = init.parent
        found = []
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            parts = parts[:-1] if is_package else parts
            if any(p.startswith("_") or not p.isidentifier() for p in parts):
                continue
            tree = parse_file(path)
            if tree is None:
                continue
            module = ".".join((self.package, *parts))
            namespace = self._sources.add(module, tree, is_package=is_package)
            order = (parts[:1], parts[1:] != ("core",), parts[1:])
            for number, stmt in enumerate(top_statements(tree.body)):
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and not stmt.name.startswith("_"):
                    kind, declared = _decorations(stmt)
                    if kind:
                        found.append((order, number, parts, stmt, kind, declared, module, namespace))
        entries = []
        for _, _, parts, stmt, kind, declared, module, namespace in sorted(found, key=lambda f: f[:2]):
            short = _short_name(parts, stmt.name)
            if short in self._lookup:  # only if a package also defines what its core module does
                short = ".".join((*parts, stmt.name))
            doc = ast.get_docstring(stmt) or ""
            info = RecipeInfo(
                name=short,
                path=f"{module}.{stmt.name}",
                module=module,
                code=parts[0] if parts else "",
                kind=kind,
                summary=_summary(doc),
                spec_factory=functools.partial(_spec_from_ast, short, stmt.args, doc, namespace),
                declared=declared,
                uses=_called_names(stmt),
            )
            entries.append(info)
            relative = ".".join((*parts, stmt.name))
            for key in (short, info.path, relative):
                self._lookup.setdefault(key, info)
        return entries

    # -- public

    def __iter__(self) -> Iterator[RecipeInfo]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, name: object) -> bool:
        self._all()
        return isinstance(name, str) and name in self._lookup

    def codes(self) -> list[str]:
        """The codes that have recipes (``emt``, ``vasp``...), sorted."""
        return sorted({r.code for r in self._all()})

    def list(self, code: str | None = None, kind: str | None = None) -> list[RecipeInfo]:
        """The recipes, optionally only those of one code and/or one kind.

        Parameters
        ----------
        code
            A code from :meth:`codes`, such as ``"emt"``.
        kind
            ``"job"``, ``"flow"`` or ``"subflow"``.

        Raises
        ------
        UnknownRecipeError
            For a code or kind that does not exist, naming the valid ones.
        """
        codes = self.codes()
        if code is not None and code not in codes:
            close = difflib.get_close_matches(str(code), codes, 3, 0.5)
            hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
            raise UnknownRecipeError(f"unknown code {code!r}; {hint}codes: {', '.join(codes)}", str(code), close)
        if kind is not None and kind not in KINDS:
            kinds = ", ".join(map(repr, KINDS))
            raise UnknownRecipeError(f"unknown kind {kind!r}; use one of {kinds}", str(kind))
        return [r for r in self._all() if code in (None, r.code) and kind in (None, r.kind)]

    def to_json(self) -> list[dict[str, Any]]:
        """Every recipe's :meth:`RecipeInfo.to_json`, for a picker."""
        return [r.to_json() for r in self._all()]

    def resolve(self, recipe: str | Callable | RecipeInfo) -> RecipeInfo:
        """Find a recipe.

        Parameters
        ----------
        recipe
            A short name (``"emt.relax_job"``) or full dotted path
            (``"quacc.recipes.emt.core.relax_job"``) of a catalogued quacc recipe,
            a function (a quacc recipe, a user's own ``@job`` function or any plain
            function), or a :class:`RecipeInfo`. A name is never imported: a
            dotted path outside the catalogue (``"os.system"``) is refused; pass
            your own function itself.

        Returns
        -------
        RecipeInfo
            Catalogued quacc recipes come from source: resolving one by name
            imports no recipe module.

        Raises
        ------
        UnknownRecipeError
            For a name that is no recipe, naming the closest valid names.
        """
        if isinstance(recipe, RecipeInfo):
            return recipe
        if isinstance(recipe, str):
            return self._resolve_name(recipe.strip())
        if callable(recipe):
            return self._resolve_callable(recipe)
        raise UnknownRecipeError(
            "expected a recipe name such as 'emt.relax_job' or a function, "
            f"got {type(recipe).__name__} {recipe!r}"
        )

    def _resolve_name(self, name: str) -> RecipeInfo:
        self._all()
        if name in self._lookup:
            return self._lookup[name]
        raise self._unknown(name)  # a name is never imported: only the catalogue answers

    def _unknown(self, name: str) -> UnknownRecipeError:
        full = name.startswith(f"{self.package}.")
        candidates = [r.path if full else r.name for r in self._all()]
        tail = name.rsplit(".", 1)[-1]
        same_tail = [c for c in candidates if c.rsplit(".", 1)[-1] == tail]
        close = difflib.get_close_matches(name, candidates, 5, 0.6)
        # a bare function name: every recipe of that name first; else the closest first
        ordered = [*same_tail, *close] if "." not in name else [*close, *same_tail]
        close = list(dict.fromkeys(ordered))[:15]
        code = name.split(".")[0]
        top = name.split(".")[0]
        foreign = "." in name and top != "quacc" and top not in self.codes()
        what = (
            f"{name!r} is not a recipe: a name resolves only to one of quacc's recipes; to run "
            "a function of your own, pass the function itself (mgr.submit(atoms, my_job))"
            if foreign
            else f"unknown recipe {name!r}"
        )
        if close:
            hint = f"did you mean {', '.join(map(repr, close))}?"
        elif code in self.codes():
            close = [r.name for r in self.list(code=code)]
            what = f"{name!r} is a code, not a recipe" if name == code else what
            hint = f"recipes of {code}: {', '.join(close)}"
        else:
            hint = f"see recipes.codes() and recipes.list(); codes: {', '.join(self.codes())}"
        return UnknownRecipeError(f"{what}; {hint}", name, close)

    def _resolve_callable(self, func: Callable, path: str | None = None) -> RecipeInfo:
        try:
            seen = self._by_callable.setdefault(func, {})
        except TypeError:  # not weakly referenceable (e.g. a builtin): read it each time
            return self._read_callable(func, path)
        if path not in seen:
            seen[path] = self._read_callable(func, path)
        return seen[path]

    def _read_callable(self, func: Callable, path: str | None) -> RecipeInfo:
        module = getattr(func, "__module__", None) or ""
        qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(func).__name__
        if module.startswith(f"{self.package}."):
            self._all()
            known = self._lookup.get(f"{module}.{qualname}")
            live = importlib.import_module(module) if known else None
            if known is not None and getattr(live, qualname, None) is func:
                return known
        try:
            signature = inspect.signature(func)
        except (TypeError, ValueError) as exc:
            message = f"cannot read the parameters of {qualname!r} ({exc}); pass a Python function"
            raise UnknownRecipeError(message) from exc
        under = module.startswith(f"{self.package}.")
        parts = tuple(module.split(".")[self.package.count(".") + 1 :])
        name = _short_name(parts, qualname) if under else qualname
        doc = inspect.getdoc(func) or ""
        return RecipeInfo(
            name=name,
            path=path or f"{module}.{qualname}",
            module=module,
            code=name.split(".")[0] if under else CUSTOM_CODE,
            kind=_callable_kind(func),
            summary=_summary(doc),
            spec_factory=functools.partial(_spec_from_callable, name, func, signature, self._sources),
            func=func,
        )


#: The catalogue of ``quacc.recipes``, read on first use.
recipes = RecipeCatalogue()
