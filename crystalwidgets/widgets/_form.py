"""RecipeForm: pick a quacc recipe and fill its parameters; validation happens here, in Python.

The front end renders the recipe's spec (``spec``) and reports what the user typed
(``entries``: text as typed, checkbox states, choices by index, key/value rows).
This module turns entries into Python values by the parameter's type, runs the
catalogue's ``spec.validate`` and sends back ``errors`` (per field, the spec's own
messages), ``value`` (the cleaned kwargs) and ``valid``. Nothing is validated in JS.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from .._files import jsanitized
from .._loop import call_in_kernel, running_loop
from ..errors import RecipeValidationError, UncheckedKwargsWarning
from ..recipes.availability import availability
from ..recipes.catalogue import recipes
from ..recipes.executables import job_settings, missing_program, program_of
from ..recipes.fit import structure_problems
from ..vasp import checks_potcars, vasp_problems
from ..vasp.preview import preview_inputs
from ._entries import errors_by_field, from_entry, to_entry
from ._esm import bundle_path

__all__ = ["RecipeForm"]

_CHECKING = "checking the POTCARs of this structure..."
_FIX_FIRST = "the input preview comes once the problems above are fixed"

class RecipeForm(anywidget.AnyWidget):
    """Pick a recipe and fill its parameters; ``value`` holds the cleaned kwargs.

    Parameters
    ----------
    recipe : str
        Recipe to show first (short name or dotted path).
    **kwargs
        Initial parameter values, as you would pass them to the recipe.

    Examples
    --------
    >>> form = RecipeForm("emt.relax_job", relax_cell=True)
    >>> form.value
    {'relax_cell': True}
    """

    _esm = bundle_path("form.js")
    _css = bundle_path("form.css")

    #: Every recipe: name, code, kind, summary, available (None until known), reason, needs
    #: (why its program is missing on this machine: it runs on cluster profiles only; or None)
    #: and program (that program's name, when missing).
    catalogue = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: The selected recipe's short name.
    recipe = traitlets.Unicode("").tag(sync=True)
    #: The selected recipe's spec (``RecipeSpec.to_json()``), rendered by the front end.
    spec = traitlets.Dict().tag(sync=True)
    #: What the user entered, per parameter (set by the front end; omitted = recipe default).
    entries = traitlets.Dict().tag(sync=True)
    #: Problems per field path (``relax_cell``, ``opt_params['fmax']``) from ``spec.validate``,
    #: and under ``structure`` what the recipe cannot handle of :attr:`structure`.
    errors = traitlets.Dict().tag(sync=True)
    #: Names passed to ``**calc_kwargs`` without any check.
    unchecked = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: Warnings that do not stop a submit (a POTCAR pymatgen does not know), ``field: message``.
    notes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: The input files a VASP job will write (:func:`crystalwidgets.vasp.preview.preview_inputs`),
    #: ``{}`` for other recipes or without a structure.
    preview = traitlets.Dict().tag(sync=True)
    #: The cleaned keyword arguments (empty while a parameter is wrong).
    value = traitlets.Dict().tag(sync=True)
    valid = traitlets.Bool(False).tag(sync=True)
    #: Whether the submit button may be pressed (the App turns it off without a structure).
    can_submit = traitlets.Bool(True).tag(sync=True)
    #: Why submit is off, or what the last submit did (shown as text).
    status = traitlets.Unicode("").tag(sync=True)
    submit_label = traitlets.Unicode("Submit").tag(sync=True)

    def __init__(self, recipe: str = "emt.relax_job", **kwargs: Any) -> None:
        self._structure: Any = None
        settings = job_settings()  # read once: each recipe's program is looked up in it
        super().__init__(catalogue=[self._entry(info, settings) for info in recipes])
        self._submit_callbacks: list[Callable[[RecipeForm], None]] = []
        self._structure: Any = None
        self._worker_env: tuple[dict[str, str], str] = ({}, "worker_init")
        self._round = 0  # validation rounds: a late structure check of an older round is dropped
        self._entries_of: dict[str, dict[str, Any]] = {}  # what was entered per recipe, kept
        self.on_msg(self._on_frontend_msg)
        self.recipe = recipes.resolve(recipe).name
        if kwargs:
            self.set_values(**kwargs)
        self._start_availability()

    # -- public --------------------------------------------------------------

    def set_values(self, **kwargs: Any) -> None:
        """Fill fields from Python values (replacing what was entered for those fields)."""
        by_name = {p["name"]: p for p in self.spec.get("fields", [])}
        entries = dict(self.entries)
        for name, value in kwargs.items():
            node = by_name[name]["type"] if name in by_name else {"kind": "any"}
            if name not in by_name and self.spec.get("var_keyword"):
                rows = entries.get(f"**{self.spec['var_keyword']}", {"rows": []})["rows"]
                rows = [r for r in rows if r[0] != name] + [[name, json.dumps(value)]]
                entries[f"**{self.spec['var_keyword']}"] = {"rows": rows}
            else:
                entries[name] = to_entry(node, value)
        self.entries = entries

    @property
    def structure(self) -> Any:
        """The structure the recipe will run on (ase.Atoms), or None; the App sets it.

        With a structure, what the recipe surely cannot handle (elements EMT lacks, no
        cell for a recipe that needs one) is shown in ``errors`` under ``structure`` and
        the form is not ``valid``; the checks that need files too run after (a VASP
        recipe's POTCARs, see :func:`crystalwidgets.vasp.vasp_problems`).
        """
        return self._structure

    @structure.setter
    def structure(self, atoms: Any) -> None:
        self._structure = atoms
        self._validate()

    def set_profile(self, profile: Any) -> None:
        """Check for the workers of ``profile`` (a saved profile): what its ``worker_init``
        exports (e.g. ``VASP_PP_PATH``) is what its jobs see. The App calls it on every pick."""
        from ..profiles.checks import worker_exports

        exports = worker_exports(getattr(profile, "worker_init", "") or "")
        worker_env = (exports, f"the worker_init of profile {profile.name!r}")
        if worker_env != self._worker_env:
            self._worker_env = worker_env
            self._validate()

    def on_submit(self, callback: Callable[[RecipeForm], None]) -> None:
        """Call ``callback(form)`` when the user presses submit on a valid form."""
        self._submit_callbacks.append(callback)

    # -- internals -----------------------------------------------------------

    @staticmethod
    def _entry(info: Any, settings: Any) -> dict[str, Any]:
        data = info.to_json()
        entry = {k: data[k] for k in ("name", "code", "kind", "summary", "available", "unavailable_reason")}
        # its program (vasp_std...) missing here: allowed, but only on a cluster profile
        needs = missing_program(info.name, settings, code=info.code)
        program = program_of(info.name, settings, code=info.code) if needs else None
        return {**entry, "needs": needs, "program": program.executable if program else None}

    @traitlets.observe("recipe")
    def _recipe_changed(self, change: dict[str, Any]) -> None:
        """Show the new recipe's fields with what was entered for it before (switching
        away and back keeps the entries), empty for a recipe not filled in yet."""
        if change["old"]:
            self._entries_of[change["old"]] = dict(self.entries)
        with self.hold_sync():
            self.spec = recipes.resolve(change["new"]).spec.to_json()
            self.entries = self._entries_of.get(change["new"], {})
            self._validate()

    @traitlets.observe("entries")
    def _entries_changed(self, change: dict[str, Any]) -> None:
        self._validate()

    def kwargs(self) -> dict[str, Any]:
        """The entries as Python values (before validation)."""
        by_name = {p["name"]: p for p in self.spec.get("fields", [])}
        out: dict[str, Any] = {}
        for name, entry in self.entries.items():
            if not isinstance(entry, dict) or entry.get("use_default"):
                continue
            if name.startswith("**"):
                out.update(from_entry({"kind": "dict"}, entry))
            elif name in by_name:
                out[name] = from_entry(by_name[name]["type"], entry)
        return out

    def _validate(self) -> None:
        self._round += 1
        info = recipes.resolve(self.recipe)
        spec = info.spec
        kwargs = self.kwargs()
        problems: list[tuple[str, str]] = []
        cleaned: dict[str, Any] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UncheckedKwargsWarning)
            try:
                cleaned = spec.validate(kwargs)
            except RecipeValidationError as exc:
                problems = list(exc.problems)
        params_ok = not problems
        if self._structure is not None:  # the same check as the manager's, shown before submit
            problems += structure_problems(info.name, self._structure, code=info.code)
        errors = errors_by_field(problems)
        # the checks that need the structure and files (a VASP recipe's POTCARs) run after
        structure_check = not errors and self._structure is not None and checks_potcars(info)
        with self.hold_sync():
            self.errors = errors
            self.unchecked = spec.unchecked(kwargs)
            self.notes = []
            if not structure_check:
                self.preview = {}
            self.valid = not errors and not structure_check
            self.value = jsanitized(cleaned) if params_ok else {}
            if structure_check:
                self.status = _CHECKING
            elif self.status == _CHECKING:
                self.status = ""
        if structure_check:
            self._check_structure(info, self._structure, cleaned, self._round)

    def _check_structure(self, info: Any, atoms: Any, cleaned: dict[str, Any], round_: int) -> None:
        """The checks that need the structure (POTCARs), off the kernel's thread when it has a loop."""
        loop = running_loop()

        exports, where = self._worker_env

        def work() -> None:
            try:
                problems, notes = vasp_problems(info, atoms, cleaned, exports=exports, where=where)
            except Exception as exc:  # shown, never lost; the submit checks again
                problems, notes = [], [("POTCARs", f"could not be checked here ({exc}); submit checks them again")]
            if problems:
                preview = {"files": {}, "potcars": [], "unknown_tags": [], "error": _FIX_FIRST}
            elif round_ != self._round:  # outdated already: no preview for it
                preview = {}
            else:
                try:
                    preview = preview_inputs(info, atoms, cleaned, exports=exports)
                except Exception as exc:
                    preview = {"files": {}, "potcars": [], "unknown_tags": [], "error": f"no preview: {exc}"}
            call_in_kernel(loop, apply, problems, notes, preview)

        def apply(problems: list[tuple[str, str]], notes: list[tuple[str, str]], preview: dict[str, Any]) -> None:
            if round_ != self._round:  # the user changed something meanwhile: a newer check runs
                return
            with self.hold_sync():
                self.errors = errors_by_field(problems)
                self.notes = [f"{field}: {message}" for field, message in notes]
                self.preview = jsanitized(preview)
                self.valid = not problems
                if self.status == _CHECKING:
                    self.status = ""

        if loop is None:  # a script: check in place
            work()
        else:
            threading.Thread(target=work, name="cw-recipe-structure-check", daemon=True).start()

    def _on_frontend_msg(self, widget: Any, content: dict[str, Any], buffers: list) -> None:
        # the messages: _messages.FORM_FROM_BROWSER
        if content.get("kind") == "submit" and self.valid and self.can_submit:
            for callback in self._submit_callbacks:
                try:
                    callback(self)
                except Exception as exc:  # shown to the user, never lost
                    self.status = f"not submitted: {exc}"  # the callback refused it: nothing recorded

    def _start_availability(self) -> None:
        loop = running_loop()

        def work() -> None:
            try:
                reasons = availability()
            except Exception as exc:  # e.g. timed out: leave them unknown, say so once
                reasons = None
                error = f"could not check which recipes can run here: {exc}"
            else:
                error = ""

            def apply() -> None:
                if reasons is None:
                    self.status = error
                    return
                self.catalogue = [
                    {**e, "available": reasons.get(e["name"]) is None, "unavailable_reason": reasons.get(e["name"])}
                    if e["name"] in reasons
                    else e
                    for e in self.catalogue
                ]

            call_in_kernel(loop, apply)

        threading.Thread(target=work, name="cw-recipe-availability", daemon=True).start()
