"""ClusterPicker: pick where jobs run; create, edit, delete and check cluster profiles.

Every rule lives here, in Python, as in the RecipeForm: the front end lists
``profiles``, renders the ``editor``'s fields (generated from the profile kind's
pydantic model) and reports what the user typed as ``entries``; this module
turns entries into values, validates them with the same code
:meth:`~crystalwidgets.profiles.ProfileStore.save` uses, and sends back
``errors`` per field. Nothing is saved while a field is wrong.

Messages browser -> kernel, each with a ``kind``:

- ``{"kind": "new", "profile_kind": "parsl-slurm"}``: open the editor on a new profile.
- ``{"kind": "edit", "name": ...}``: open the editor on a saved profile (or the built-in ``local``).
- ``{"kind": "close"}``: close the editor, nothing saved.
- ``{"kind": "save"}``: save the editor's profile (renaming deletes the old name).
- ``{"kind": "delete", "name": ...}``: delete a saved profile (the browser asks first).
- ``{"kind": "check", "deep": bool, "draft": bool}``: run ``check()`` of the selected
  profile (``draft``: of the editor's unsaved profile) in a worker thread, bounded by a
  timeout; the result arrives in ``check_result``.
- ``{"kind": "action", "name": ...}``: run the selected profile's action ``name`` (one of
  ``actions``, e.g. start a local server) in a worker thread, bounded by the profile's
  ``action_timeout``; the result arrives in ``action_result``, then a check follows.
- ``{"kind": "refresh"}``: sent on a timer; re-reads the profiles and the block health
  (and, every :data:`LEFTOVERS_EVERY_S`, looks again for leftover blocks).
- ``{"kind": "cleanup_leftovers"}``: cancel the ``leftovers`` (batch jobs that engines of
  kernels that ended left in the scheduler), in a worker thread, bounded.

Everything else travels in synced traitlets.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from .._loop import call_in_kernel, running_loop
from ..errors import ProfileError, SecretTextWarning
from ..profiles import Profile, ProfileStore, profile_kinds
from ..profiles.checks import secret_text_problems
from ..recipes.annotations import from_object, jsonable
from ._entries import errors_by_field, from_entry, to_entry
from ._esm import bundle_path

__all__ = ["ClusterPicker"]

#: Fields every kind has, shown first in this order (``kind`` is chosen, never typed).
_LEADING = ("name", "description")
#: A str field allowing more characters than this is edited in a text area (shell lines).
_MULTILINE_OVER = 1000
#: Seconds between looks for leftover blocks (each asks the scheduler: squeue).
LEFTOVERS_EVERY_S = 30.0
#: Seconds a look for leftover blocks, or their cleanup, may take before it is reported unfinished.
LEFTOVERS_TIMEOUT_S = 60.0


def _bounds(prop: dict[str, Any]) -> str:
    """A number field's limits in words (``1 to 1024``), from its JSON schema, or ""."""
    limits: dict[str, Any] = {}
    for part in [prop, *prop.get("anyOf", [])]:  # Optional fields keep them in one member
        for key, word in (("minimum", "ge"), ("exclusiveMinimum", "gt"), ("maximum", "le"), ("exclusiveMaximum", "lt")):
            if key in part:
                limits[word] = part[key]
    low = f"{limits['ge']}" if "ge" in limits else f"more than {limits['gt']}" if "gt" in limits else ""
    high = f"{limits['le']}" if "le" in limits else f"less than {limits['lt']}" if "lt" in limits else ""
    if low and high:
        return f"{low} to {high}" if "ge" in limits else f"{low}, at most {high}"
    if low:
        return f"at least {low}" if "ge" in limits else low
    if high:
        return f"at most {high}" if "le" in limits else high
    return ""


def _field_order(cls: type[Profile]) -> list[str]:
    """``name``, ``description``, then the kind's own fields before the ones it inherits."""
    names = [n for n in cls.model_fields if n != "kind"]
    order = [n for n in _LEADING if n in names]
    for klass in cls.__mro__:
        for name in vars(klass).get("__annotations__", {}):
            if name in names and name not in order:
                order.append(name)
    return order + [n for n in names if n not in order]


def field_specs(cls: type[Profile]) -> list[dict[str, Any]]:
    """The form fields of a profile kind, in the shape of ``ParamSpec.to_json()``.

    Defaults, limits, help and lengths come from the model's JSON schema
    (``cls.model_json_schema()``); the type tree, which the forms draw, from the annotations.

    Each: ``name``, ``annotation`` (the type as text), ``type`` (the type tree), ``required``
    (``name`` always is: a profile is picked by it), ``default``, ``default_is_repr``,
    ``optional`` (None accepted: an emptied field means "not set"), ``help`` (the field's
    description and limits) and ``multiline`` (shell lines: a text area).
    """
    schema = cls.model_json_schema()
    props, required_names = schema["properties"], set(schema.get("required", ()))
    specs = []
    for name in _field_order(cls):
        prop = props[name]
        node = from_object(cls.model_fields[name].annotation, None, 0)  # the forms' type tree
        required = name in required_names
        default, is_repr = jsonable(prop.get("default")) if not required else (None, False)
        bounds = _bounds(prop)
        help_text = " ".join(filter(None, [prop.get("description", ""), f"Allowed: {bounds}." if bounds else ""]))
        specs.append(
            {
                "name": name,
                "annotation": str(node),
                "type": node.to_json(),
                "required": required or name == "name",
                "default": default,
                "default_is_repr": is_repr,
                "optional": node.optional,
                "help": help_text,
                "multiline": node.kind == "str" and prop.get("maxLength", 0) > _MULTILINE_OVER,
            }
        )
    return specs


def _summary(cls: type[Profile]) -> str:
    """The first paragraph of a kind's docstring, on one line."""
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(doc.split())


class ClusterPicker(anywidget.AnyWidget):
    """Pick the cluster profile jobs go to; create, edit, delete and check profiles.

    ``value`` is the selected profile's name (what :class:`~crystalwidgets.widgets.App`
    submits to). Profiles are read from and saved to a
    :class:`~crystalwidgets.profiles.ProfileStore` (``profiles.json``, 0600, no secrets).

    Parameters
    ----------
    manager : JobManager, optional
        When given, the block health of its live runner for the selected profile
        (Parsl blocks with their Slurm job ids, states and reasons) is shown and
        refreshed every ``refresh_interval`` seconds; its profile store is used.
    profiles : ProfileStore, optional
        Where profiles live (default: the manager's, else the user's config dir).
    value : str
        The profile selected first.
    check_timeout, deep_check_timeout : float
        Seconds a check (a deep check) may take before the picker reports it as
        unfinished; the kernel never waits for it either way.

    Examples
    --------
    >>> picker = ClusterPicker()
    >>> picker.value
    'local'
    """

    _esm = bundle_path("picker.js")
    _css = bundle_path("picker.css")

    #: Every profile, ``local`` first: name, kind, description, saved (in the file), problem.
    profiles = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: Registered kinds: kind, summary.
    kinds = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: The selected profile's name.
    value = traitlets.Unicode("local").tag(sync=True)
    #: The open editor: mode ("new" or "edit"), kind, summary, original (name edited), fields;
    #: empty when closed.
    editor = traitlets.Dict().tag(sync=True)
    #: What the user entered in the editor, per field (set by the front end).
    entries = traitlets.Dict().tag(sync=True)
    #: Problems per field name; other keys ("profile", unknown fields) concern the whole profile.
    errors = traitlets.Dict().tag(sync=True)
    #: What to warn about in the editor without refusing it, per field: free text that looks
    #: like a secret (:meth:`Profile.warnings`).
    warnings = traitlets.Dict().tag(sync=True)
    #: The last check: id, profile, deep, state (running, done, failed, timeout), problems,
    #: warnings, message, started, finished, timeout.
    check_result = traitlets.Dict().tag(sync=True)
    #: What can be done for the selected profile beside checking it (``Profile.actions()``):
    #: name, label, help.
    actions = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: The last action: id, profile, action, label, state (running, done, failed, timeout),
    #: message, started, finished, timeout.
    action_result = traitlets.Dict().tag(sync=True)
    #: Block health of the manager's runner for the selected profile (``runner.health()``);
    #: empty when there is none.
    health = traitlets.Dict().tag(sync=True)
    #: What the last action did, or why it did nothing (shown as text).
    status = traitlets.Unicode("").tag(sync=True)
    #: The Slurm allocation this kernel runs in, in words ("this kernel runs in Slurm job 123
    #: on node n1, 4 cores, ends at 08:10"), shown above the profiles; "" outside one.
    allocation = traitlets.Unicode("").tag(sync=True)
    #: Seconds between the front end's refresh requests (profiles and block health).
    refresh_interval = traitlets.Float(3.0).tag(sync=True)
    #: Batch jobs that engines of kernels that ended left queued or running (the manager's
    #: :meth:`~crystalwidgets.JobManager.leftover_blocks`): job_id, name, state, reason,
    #: profile, engine. Looked for off the kernel's thread when the picker opens and every
    #: :data:`LEFTOVERS_EVERY_S` while it is shown; empty without a manager.
    leftovers = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: The last cleanup of the leftovers: state (running, done, failed, timeout), message.
    leftovers_result = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        manager: Any = None,
        *,
        profiles: ProfileStore | None = None,
        value: str = "local",
        check_timeout: float = 120.0,
        deep_check_timeout: float = 300.0,
    ) -> None:
        super().__init__()
        self._manager = manager
        self._store = profiles or getattr(manager, "profiles", None) or ProfileStore()
        self.check_timeout = check_timeout
        self.deep_check_timeout = deep_check_timeout
        self._check_seq = 0
        self.kinds = [{"kind": k, "summary": _summary(cls)} for k, cls in profile_kinds().items()]
        self.on_msg(self._on_frontend_msg)
        alloc = self._store.allocation
        if alloc is not None:
            self.allocation = (
                f"{alloc.describe()[0].upper()}{alloc.describe()[1:]}: the profile "
                f"'allocation' runs jobs on its {alloc.cpus} cores, beside the Slurm profiles"
            )
        self._leftovers_seq = 0
        self._leftovers_looked = 0.0
        self.refresh()
        self.value = value
        self._look_for_leftovers()

    # -- public --------------------------------------------------------------

    def names(self) -> list[str]:
        """Names of the profiles that can be picked, ``local`` first."""
        return [p["name"] for p in self.profiles]

    def profile(self) -> Profile:
        """The selected profile.

        Raises
        ------
        ProfileError
            When it is saved but invalid (its message says what to fix).
        """
        return self._store.get(self.value)

    def refresh(self) -> None:
        """Re-read the saved profiles and the block health."""
        rows, problem = self._read_profiles()
        with self.hold_sync():
            self.profiles = rows
            if problem:
                self.status = problem
            if self.value not in {r["name"] for r in rows}:
                self.status = f"profile {self.value!r} is gone (deleted elsewhere); picked 'local'"
                self.value = "local"
            self._update_actions()
            self._update_health()

    # -- profiles ------------------------------------------------------------

    def _read_profiles(self) -> tuple[list[dict[str, Any]], str]:
        local = {"name": "local", "kind": "local", "description": "", "saved": False, "problem": ""}
        try:
            names = self._store.names()
            saved = {n for n in names if self._store.is_saved(n)}
        except ProfileError as exc:
            return [local], str(exc)
        rows = []
        for name in names:
            try:
                p = self._store.get(name)
            except ProfileError as exc:
                rows.append({**local, "name": name, "kind": "?", "saved": True, "problem": str(exc)})
                continue
            row = {"name": name, "kind": p.kind, "description": p.description, "saved": name in saved}
            rows.append({**row, "problem": ""})
        return rows, ""

    def _saved_names(self) -> set[str]:
        return {p["name"] for p in self.profiles if p["saved"]}

    @traitlets.validate("value")
    def _valid_value(self, proposal: dict[str, Any]) -> str:
        name = proposal["value"]
        if name not in self.names():  # perhaps saved elsewhere since the last refresh
            self.profiles = self._read_profiles()[0]
        if name not in self.names():
            raise traitlets.TraitError(
                f"unknown profile {name!r}; pick one of {', '.join(self.names())} or create it first"
            )
        return name

    @traitlets.observe("value")
    def _value_changed(self, change: dict[str, Any]) -> None:
        with self.hold_sync():
            if self.check_result.get("state") != "running":
                self.check_result = {}
            if self.action_result.get("state") != "running":
                self.action_result = {}
            self._update_actions()
            self._update_health()

    def _update_actions(self) -> None:
        try:
            actions = self.profile().actions()
        except ProfileError:
            actions = []
        if actions != self.actions:
            self.actions = actions

    # -- editor --------------------------------------------------------------

    def _open(self, mode: str, kind: str, original: str | None, entries: dict[str, Any]) -> None:
        cls = profile_kinds()[kind]
        with self.hold_sync():
            self.editor = {
                "mode": mode,
                "kind": kind,
                "summary": _summary(cls),
                "original": original,
                "fields": field_specs(cls),
            }
            self.entries = entries
            self._validate()

    def _new(self, kind: str) -> None:
        if kind not in profile_kinds():
            self.status = f"unknown profile kind {kind!r}; use one of {', '.join(profile_kinds())}"
            return
        base = profile_kinds()[kind].model_fields["name"].default
        name, n = base, 1
        while name in self.names():
            n += 1
            name = f"{base}-{n}"
        self._open("new", kind, None, {"name": {"text": name}})

    def _edit(self, name: str) -> None:
        try:
            profile = self._store.get(name)
        except ProfileError as exc:
            self.status = f"cannot edit {name!r}: {exc}"
            return
        values = profile.model_dump(mode="json")
        entries = {}
        for spec in field_specs(type(profile)):
            value = values[spec["name"]]
            if spec["name"] == "name" or value != spec["default"]:
                entries[spec["name"]] = to_entry(spec["type"], value)
        self._open("edit", profile.kind, name, entries)

    def _close(self) -> None:
        with self.hold_sync():
            self.editor = {}
            self.entries = {}
            self.errors = {}
            self.warnings = {}

    def _draft(self) -> dict[str, Any]:
        """The editor's entries as a profile dict (unknown entries pass through, to be refused)."""
        fields = {f["name"]: f for f in self.editor.get("fields", [])}
        data: dict[str, Any] = {"kind": self.editor.get("kind")}
        for name, entry in self.entries.items():
            if not isinstance(entry, dict) or entry.get("use_default"):
                continue
            spec = fields.get(name)
            if spec is None:
                data[name] = from_entry({"kind": "any"}, entry)
            elif spec["optional"] and "text" in entry and not str(entry["text"]).strip():
                data[name] = None  # an emptied optional field: not set
            else:
                data[name] = from_entry(spec["type"], entry)
        return data

    def _errors_of(self, exc: ProfileError) -> dict[str, str]:
        """ProfileError problems by field (nested locations by their top field)."""
        fields = {f["name"] for f in self.editor.get("fields", [])}

        def shown_on(field: str) -> str:
            top = field.split(".")[0]
            return top if top in fields else field

        return errors_by_field(exc.problems or [("profile", str(exc))], shown_on)

    def _name_errors(self, name: Any) -> dict[str, str]:
        """A new name must not replace another saved profile by accident."""
        if not isinstance(name, str) or name == self.editor.get("original"):
            return {}
        if name in self._saved_names():
            return {"name": f"a profile named {name!r} exists already; pick another name, or edit {name!r}"}
        if name == "local" and self.editor.get("kind") != "local":
            return {"name": "the name 'local' is kept for the local kind; pick another name"}
        return {}

    def _validate(self) -> Profile | None:
        """Validate the editor's entries as the store would; set ``errors``; the profile or None."""
        if not self.editor:
            self.errors = {}
            self.warnings = {}
            return None
        data = self._draft()
        texts = {k: v for k, v in data.items() if isinstance(v, str) and k not in ("kind", "name")}
        self.warnings = errors_by_field(secret_text_problems(texts))
        profile = None
        try:
            profile = ProfileStore.validate(data)
            errors = {}
        except ProfileError as exc:
            errors = self._errors_of(exc)
        errors.update(self._name_errors(data.get("name")))
        self.errors = errors
        return profile if not errors else None

    @traitlets.observe("entries")
    def _entries_changed(self, change: dict[str, Any]) -> None:
        self._validate()

    def _save(self) -> None:
        if not self.editor:
            return
        data = self._draft()
        name_errors = self._name_errors(data.get("name"))
        if name_errors:
            self.errors = name_errors
            self.status = "not saved: fix the fields marked in red"
            return
        try:
            with warnings.catch_warnings():  # said in the status instead of the kernel's log
                warnings.simplefilter("ignore", SecretTextWarning)
                saved = self._store.save(data)
        except ProfileError as exc:
            self.errors = self._errors_of(exc)
            self.status = "not saved: fix the fields marked in red"
            return
        except OSError as exc:
            self.errors = {"profile": f"could not write {self._store.path}: {exc}"}
            self.status = "not saved"
            return
        original = self.editor.get("original")
        renamed = bool(original) and original != saved.name
        with self.hold_sync():
            if renamed and original in self._saved_names():
                self._store.delete(original)
            self._close()
            self.value = saved.name
            self.refresh()
            stale = self.check_result.get("profile") in (saved.name, original)
            if stale and self.check_result.get("state") != "running":
                self.check_result = {}  # checked the old settings
            was = f" (was {original!r})" if renamed else ""
            warned = "".join(f"; warning: {field}: {message}" for field, message in saved.warnings())
            self.status = f"saved {saved.name!r}{was} to {self._store.path}{warned}"

    def _delete(self, name: str) -> None:
        if name not in self._saved_names():
            self.status = (
                "the built-in 'local' profile cannot be deleted (a saved 'local' can: "
                "the built-in comes back)"
                if name == "local"
                else f"unknown profile {name!r}; nothing deleted"
            )
            return
        self._store.delete(name)
        with self.hold_sync():
            if self.editor.get("original") == name:
                self._close()
            self.refresh()
            if self.value == name:
                self.value = "local"
            back = " (the built-in local profile is back)" if name == "local" else ""
            self.status = f"deleted {name!r}{back}"

    # -- check ---------------------------------------------------------------

    def _start_check(self, deep: bool, draft: bool) -> None:
        if draft:
            profile = self._validate()
            if profile is None:
                self.status = "fix the fields marked in red before checking"
                return
            label = f"{profile.name} (unsaved)"
        else:
            try:
                profile = self.profile()
            except ProfileError as exc:
                now = time.time()
                self.check_result = {
                    "profile": self.value, "deep": deep, "state": "failed", "problems": [],
                    "message": str(exc), "started": now, "finished": now,
                }
                return
            label = profile.name
        self._check_seq += 1
        seq = self._check_seq
        timeout = self.deep_check_timeout if deep else self.check_timeout
        self.check_result = {
            "id": seq, "profile": label, "deep": deep, "state": "running", "problems": [],
            "warnings": [f"{field}: {message}" for field, message in profile.warnings()],
            "message": "", "started": time.time(), "finished": None, "timeout": timeout,
        }

        def done(outcome: dict[str, Any]) -> None:
            if "timeout" in outcome:
                result = {"state": "timeout", "message": (
                    f"the check did not finish within {timeout:g} s, so its result is unknown; it "
                    "goes on in the background and is ignored (is the cluster answering? try again)"
                )}
            elif "error" in outcome:
                result = {"state": "failed", "message": f"the check itself failed: {outcome['error']}"}
            else:
                result = {"state": "done", "problems": [str(p) for p in outcome["value"]]}
            self._finish("check_result", seq, result)

        _in_background(lambda: profile.check(deep=deep), timeout, done, f"cw-check-{profile.name}")

    def _finish(self, trait: str, seq: int, result: dict[str, Any]) -> None:
        """Finish the check or action ``seq`` in ``trait``, unless a newer one replaced it."""
        if getattr(self, trait).get("id") != seq:
            return  # a newer one replaced it, or the selection moved on
        setattr(self, trait, {**getattr(self, trait), **result, "finished": time.time()})

    # -- actions -------------------------------------------------------------

    def _start_action(self, name: str) -> None:
        if self.action_result.get("state") == "running":
            self.status = f"{self.action_result.get('label')} is still running; wait for it to finish"
            return
        try:
            profile = self.profile()
            offered = {a["name"]: a for a in profile.actions()}
        except ProfileError as exc:
            self.status = f"cannot act on {self.value!r}: {exc}"
            return
        if name not in offered:
            self.status = f"profile {profile.name!r} offers no action {name!r}"
            return
        self._check_seq += 1
        seq = self._check_seq
        label = offered[name]["label"]
        timeout = profile.action_timeout(name)
        self.action_result = {
            "id": seq, "profile": profile.name, "action": name, "label": label, "state": "running",
            "message": "", "started": time.time(), "finished": None, "timeout": timeout,
        }

        def done(outcome: dict[str, Any]) -> None:
            if "timeout" in outcome:
                result = {"state": "timeout", "message": (
                    f"it did not finish within {timeout:g} s; it goes on in the background (check again later)"
                )}
            elif "error" in outcome:
                result = {"state": "failed", "message": outcome["error"]}
            else:
                result = {"state": "done", "message": str(outcome["value"])}
            if self.value == profile.name:  # show what the action changed; this check
                # supersedes one still running (it may have looked before the action), and
                # starts before the action shows finished, so no old result passes for its
                self._start_check(deep=False, draft=False)
            self._finish("action_result", seq, result)

        _in_background(lambda: profile.run_action(name), timeout, done, f"cw-action-{profile.name}")

    # -- block health --------------------------------------------------------

    def _update_health(self) -> None:
        health = self._read_health()
        if health != self.health:
            self.health = health

    def _read_health(self) -> dict[str, Any]:
        """``health()`` of the manager's live runner for the selection (the Runner protocol)."""
        runner = self._manager.runner(self.value) if self._manager is not None else None
        if runner is None:
            return {}
        try:
            health = runner.health()
        except Exception as exc:  # shown, never raised into the comm handler
            problem = f"could not read the block health: {exc}"
            health = {"profile": self.value, "blocks": [], "problem": problem}
        if isinstance(health.get("checked"), (int, float)):  # the browser's clock may differ
            health = {**health, "age_s": round(time.time() - health["checked"])}
        return json.loads(json.dumps(health, default=str))

    # -- leftovers of kernels that ended --------------------------------------

    def _look_for_leftovers(self) -> None:
        """Ask the manager, in a worker thread, which blocks dead kernels left (bounded)."""
        if self._manager is None:
            return
        self._leftovers_looked = time.monotonic()
        self._leftovers_seq += 1
        seq = self._leftovers_seq

        def done(outcome: dict[str, Any]) -> None:
            if seq != self._leftovers_seq:
                return  # a newer look (or a cleanup) replaced this one
            if "value" in outcome:
                found = json.loads(json.dumps(outcome["value"], default=str))
                if found != self.leftovers:
                    self.leftovers = found

        _in_background(self._manager.leftover_blocks, LEFTOVERS_TIMEOUT_S, done, "cw-leftovers-look")

    def _cleanup_leftovers(self) -> None:
        if self._manager is None:
            self.status = "no manager: nothing to clean up"
            return
        if self.leftovers_result.get("state") == "running":
            self.status = "the cleanup is still running; wait for it to finish"
            return
        self._leftovers_seq += 1  # a look running now may have seen the blocks before the cleanup
        self.leftovers_result = {"state": "running", "message": "cancelling the leftover blocks…"}

        def done(outcome: dict[str, Any]) -> None:
            if "timeout" in outcome:
                result = {"state": "timeout", "message": (
                    f"the cleanup did not finish within {LEFTOVERS_TIMEOUT_S:g} s; it goes on in the "
                    "background (is Slurm answering?)")}
            elif "error" in outcome:
                result = {"state": "failed", "message": f"could not cancel them: {outcome['error']}"}
            else:
                ids = outcome["value"]
                result = {"state": "done", "message": (
                    f"cancelled {len(ids)} leftover block(s): Slurm job(s) {', '.join(map(str, ids))}"
                    if ids else "no leftover block was left to cancel")}
            self.leftovers_result = result
            self._look_for_leftovers()

        _in_background(self._manager.cleanup_leftovers, LEFTOVERS_TIMEOUT_S, done, "cw-leftovers-cleanup")

    def _refresh_from_browser(self) -> None:
        self.refresh()
        if time.monotonic() - self._leftovers_looked >= LEFTOVERS_EVERY_S:
            self._look_for_leftovers()

    # -- messages ------------------------------------------------------------

    def _handlers(self, content: dict[str, Any]) -> dict[str, Callable[[], Any]]:
        """What each kind of :data:`~._messages.PICKER_FROM_BROWSER` does with ``content``."""
        return {
            "new": lambda: self._new(str(content.get("profile_kind"))),
            "edit": lambda: self._edit(str(content.get("name"))),
            "close": self._close,
            "save": self._save,
            "delete": lambda: self._delete(str(content.get("name"))),
            "check": lambda: self._start_check(bool(content.get("deep")), bool(content.get("draft"))),
            "action": lambda: self._start_action(str(content.get("name"))),
            "refresh": self._refresh_from_browser,
            "cleanup_leftovers": self._cleanup_leftovers,
        }

    def _on_frontend_msg(self, widget: Any, content: dict[str, Any], buffers: list) -> None:
        kind = content.get("kind")
        handlers = self._handlers(content)
        try:
            if kind in handlers:
                handlers[kind]()
        except Exception as exc:  # shown to the user, never lost in the kernel log
            self.status = f"{kind} failed: {type(exc).__name__}: {exc}"


def _in_background(work: Callable[[], Any], timeout: float, done: Callable[[dict[str, Any]], None], name: str) -> None:
    """Run ``work`` in a thread; hand ``done`` its outcome on the kernel's loop, within ``timeout``.

    The outcome is ``{"value": ...}``, ``{"error": "Type: message"}`` or ``{"timeout": True}``
    (the work goes on in its thread, its result ignored). The kernel never waits for it.
    """
    loop = running_loop()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except Exception as exc:  # a broken check or action is shown, never lost
            outcome["error"] = f"{type(exc).__name__}: {exc}"

    def watch() -> None:
        worker = threading.Thread(target=run, name=name, daemon=True)
        worker.start()
        worker.join(timeout)
        call_in_kernel(loop, done, {"timeout": True} if worker.is_alive() else dict(outcome))

    threading.Thread(target=watch, name=f"{name}-watch", daemon=True).start()
