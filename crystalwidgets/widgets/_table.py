"""JobTable: a live table of a JobManager's jobs (virtualised, sortable, filterable).

The kernel and the browser (js/table/) talk in custom messages, each with a ``kind``, all
declared in :mod:`._messages`. A view asks for a snapshot when it renders; the kernel
answers with every job as one compact array (values in :data:`COLUMNS` order) and with
:data:`SPEC`, from which the browser builds its header, cells and sorting; afterwards it sends
only the jobs that changed. The columns, their labels, widths, formats and sorting are
declared once, in :data:`TABLE_COLUMNS` below.

What the table shows, its filter and its sort, is exported from Python (:meth:`JobTable.to_csv`,
``to_ase_db``, ``to_extxyz``, ``to_dataframe``) and from the toolbar's Export buttons, by the
rules the browser uses (:meth:`JobTable._matches` and :func:`_comparator`, kept in step with
js/table/filter.js and js/table/columns.js; a test sorts the same rows with both).

The rows are never kept in a synced traitlet: that would resend the whole table on each change.
"""

from __future__ import annotations

import functools
import io
import logging
import threading
import time
from typing import Any

import anywidget
import traitlets

from .._loop import call_in_kernel, running_loop
from ..errors import CrystalWidgetsError
from ..jobs import export
from ..jobs.cause import error_headline
from ..jobs.store import StoreError
from ..states import JobState
from ._esm import bundle_path
from ._shown import READING_NOTE, display_structure_soon, frames_soon
from ._table_actions import TableActions
from ._messages import (
    Column,
    Details,
    Error,
    Export,
    Format,
    Rows,
    Snapshot,
    Sort,
    TableSpec,
)

__all__ = ["CHOOSABLE_COLUMNS", "COLUMNS", "COLUMN_WIDTHS", "SORT_KEYS", "SPEC", "TABLE_COLUMNS", "JobTable"]

log = logging.getLogger(__name__)

#: The fields of one row array, in order (``error``: the failure's innermost cause, cut short;
#: for a waiting job, what it waits for: the engine starting, a Slurm block pending...;
#: ``note_since``: since when it waits for that, an epoch, or None: the row counts the seconds).
COLUMNS = (
    "id",
    "recipe",
    "formula",
    "profile",
    "state",
    "energy_ev",
    "max_force_ev_ang",
    "n_steps",
    "created",
    "last_checked",
    "label",
    "error",
    "n_atoms",
    "note_since",
)


def _waiting(rec: Any) -> tuple[str | None, float | None]:
    """What a pending job waits for, as its runner said (``engine_ref["waiting"]``), and since
    when (an epoch, ``engine_ref["waiting_since"]``: the row counts the seconds, "12 s ·
    starting the Parsl engine …"); (None, None) when it waits for nothing said."""
    if rec.state is not JobState.PENDING or not rec.engine_ref_json:
        return None, None
    ref = rec.engine_ref or {}  # decoded once per row
    waiting = ref.get("waiting")
    if not waiting:
        return None, None
    since = ref.get("waiting_since")
    return str(waiting)[:_ERROR_SNIPPET], round(float(since), 3) if isinstance(since, (int, float)) else None


def _column(
    key: str,
    label: str,
    fmt: Format,
    width: int,
    *,
    field: str | None = None,
    grow: float | None = None,
    title: str = "",
    numeric: bool = False,
    sort: Sort = "value",
    digits: int | None = None,
    tooltip: bool = False,
    error_span: int = 1,
    fit_values: int = 0,
) -> Column:
    """One :class:`~._messages.Column`, every key set (``field`` defaults to ``key``)."""
    fieldless = fmt in ("actions", "select")
    if not fieldless and (field or key) not in COLUMNS:
        raise ValueError(f"column {key!r}: {field or key!r} is not a row field")
    return {
        "key": key,
        "label": label,
        "title": title,
        "field": None if fieldless else field or key,
        "format": fmt,
        "digits": digits,
        "numeric": numeric,
        "sort": sort,
        "width": width,
        "grow": grow,
        "tooltip": tooltip,
        "error_span": error_span,
        "fit_values": fit_values,
    }


#: The columns the browser shows, left to right: it builds its header, cells, grid widths and
#: sorting from these (they travel in :data:`SPEC`, in every snapshot).
TABLE_COLUMNS: tuple[Column, ...] = (
    _column("select", "", "select", 28, sort=None, title="Select jobs for Cancel or Resubmit (shift-click: a range)"),
    _column("id", "ID", "short_id", 80, title="Short job id (first 8 characters)"),
    _column("recipe", "Recipe", "text", 96, grow=1.5, tooltip=True, fit_values=300),
    _column("formula", "Formula", "text", 72, grow=1, tooltip=True, fit_values=160),
    _column("atoms", "Atoms", "number", 56, field="n_atoms", numeric=True, digits=0, title="Atoms in the job's structure"),
    _column("label", "Label", "text", 120, grow=1.2, tooltip=True, title="A sweep's point (what varied: Cu fmax=0.05), or your label"),
    _column("profile", "Profile", "text", 64, grow=0.8, tooltip=True, fit_values=160, title="Where the job runs"),
    _column("state", "State", "state", 96, sort="rank"),
    _column("energy_ev", "Energy (eV)", "number", 104, numeric=True, digits=4, error_span=2),
    _column(
        "max_force_ev_ang",
        "Fmax (eV/Å)",
        "number",
        110,
        numeric=True,
        digits=3,
        title="Largest force on an atom at the end (so far, while a relaxation runs)",
    ),
    _column(
        "steps",
        "Steps",
        "number",
        56,
        field="n_steps",
        numeric=True,
        digits=0,
        title="Optimiser or MD steps (growing while the job runs)",
    ),
    _column(
        "age",
        "Age",
        "age",
        56,
        field="created",
        numeric=True,
        sort="newest_first",
        title="Time since the job was submitted",
    ),
    _column(
        "last_checked",
        "Checked",
        "ago",
        76,
        numeric=True,
        sort="newest_first",
        title="Time since a runner last confirmed the job's state",
    ),
    _column("actions", "", "actions", 76, sort=None),
)
#: Every column's key, left to right (``column_widths`` names some of them).
_COLUMN_KEYS = tuple(c["key"] for c in TABLE_COLUMNS)
#: Columns the Columns menu can hide (``hidden_columns``): all but the checkboxes and buttons.
CHOOSABLE_COLUMNS = tuple(c["key"] for c in TABLE_COLUMNS if c["format"] not in ("select", "actions"))
#: Narrowest and widest a column can be made (px, ``column_widths``).
COLUMN_WIDTHS = (24, 2000)
#: The store setting keeping the tables' ``hidden_columns`` and ``column_widths``.
LAYOUT_SETTING = "table.columns"


def _saved_layout(store: Any) -> dict[str, Any]:
    """The columns' layout saved on ``store``, without what this version has no column for
    (a layout saved by another version of crystalwidgets)."""
    try:
        saved = store.setting(LAYOUT_SETTING) or {}
    except StoreError as exc:
        log.warning("the table's saved columns were not read: %s", exc)
        return {}
    low, high = COLUMN_WIDTHS
    hidden = saved.get("hidden_columns")
    widths = saved.get("column_widths")
    layout: dict[str, Any] = {}
    if isinstance(hidden, list):
        layout["hidden_columns"] = [key for key in hidden if key in CHOOSABLE_COLUMNS]
    if isinstance(widths, dict):
        layout["column_widths"] = {
            key: width
            for key, width in widths.items()
            if key in _COLUMN_KEYS and isinstance(width, int) and not isinstance(width, bool) and low <= width <= high
        }
    return layout


#: Columns the table sorts by, the values of ``sort_by`` (``age`` sorts by creation time,
#: newest first when ascending).
SORT_KEYS = tuple(column["key"] for column in TABLE_COLUMNS if column["sort"] is not None)
#: Fields the free-text filter searches, the same in the browser and in :meth:`JobTable.to_dataframe`.
TEXT_FIELDS = ("id", "recipe", "formula", "profile", "state", "label")
#: Everything the browser needs to draw rows, sent in each snapshot.
SPEC: TableSpec = {
    "columns": list(TABLE_COLUMNS),
    "states": [state.value for state in JobState],
    "active_states": [state.value for state in JobState if not state.is_terminal],
    "error_states": [JobState.FAILED.value, JobState.ORPHANED.value],
    "note_states": [JobState.PENDING.value, JobState.RUNNING.value],
    "text_fields": list(TEXT_FIELDS),
    "choosable": list(CHOOSABLE_COLUMNS),
    "width_range": list(COLUMN_WIDTHS),
}
_TEXT_INDEX = tuple(COLUMNS.index(name) for name in TEXT_FIELDS)
_ID, _RECIPE, _PROFILE, _STATE, _CREATED = (
    COLUMNS.index(name) for name in ("id", "recipe", "profile", "state", "created")
)
_STATE_RANK = {state: rank for rank, state in enumerate(SPEC["states"])}
_ERROR_SNIPPET = 200
#: Up to this many jobs the snapshot is built on the kernel's thread when the browser asks;
#: above, in a worker thread (~0.5 s per 10,000 jobs here), and sent when ready.
SNAPSHOT_INLINE_JOBS = 2_000
#: Largest file the Export buttons send to the browser (characters): a bigger one is
#: refused with the Python call that writes it instead.
EXPORT_MAX_CHARS = 20_000_000
#: File name and extension of each format the Export buttons offer.
EXPORT_FILES: dict[str, str] = {"csv": "jobs.csv", "extxyz": "jobs.extxyz"}


def _rounded(value: Any, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _sort_value(mode: Sort, index: int, row: list[Any]) -> Any:
    """The value a row sorts by in a column of sort ``mode`` (None sorts last either way)."""
    if mode == "value":
        return row[index]
    if mode == "rank":
        return _STATE_RANK.get(row[index], -1)
    if mode == "newest_first":  # an epoch: the most recent first
        return None if row[index] is None else -row[index]
    return None


def _comparator(sort_by: str, descending: bool) -> Any:
    """Order of rows sorted by the column ``sort_by``; ties: newest first, then by id.

    The browser's rule (keep both in step: ``comparator`` in js/table/columns.js), as a
    ``cmp`` function for :func:`functools.cmp_to_key`.
    """
    column = next((c for c in TABLE_COLUMNS if c["key"] == sort_by), None)
    mode = column["sort"] if column is not None else None
    index = COLUMNS.index(column["field"]) if column is not None and column["field"] else -1
    sign = -1 if descending else 1

    def compare(a: list[Any], b: list[Any]) -> float:
        x = _sort_value(mode, index, a)
        y = _sort_value(mode, index, b)
        if x != y:
            if x is None:
                return 1
            if y is None:
                return -1
            if x < y:
                return -sign
            if x > y:
                return sign
        return (b[_CREATED] - a[_CREATED]) or (-1 if a[_ID] < b[_ID] else 1)

    return compare


class _TooBig(Exception):
    """An export went over :data:`EXPORT_MAX_CHARS`."""


class _Bounded(io.StringIO):
    """A text buffer that refuses to grow past ``limit`` characters (raises :class:`_TooBig`)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, text: str) -> int:
        if self.tell() + len(text) > self.limit:
            raise _TooBig
        return super().write(text)


def _matches_text(row: list[Any], terms: list[str]) -> bool:
    """True when every term occurs (case-insensitively) in the row's searchable fields."""
    haystack = " ".join(str(row[i]) for i in _TEXT_INDEX if row[i] is not None).lower()
    return all(term in haystack for term in terms)


class JobTable(TableActions, anywidget.AnyWidget):
    """A live table of the jobs of a :class:`~crystalwidgets.JobManager`.

    One row per job: short id, recipe, formula, atom count, label, profile, state, energy,
    max force, steps, age and when a runner last confirmed the job's state. The Columns
    menu hides and shows columns; a header's right edge drags to resize its column
    (double-click: fit it to what it shows); both are saved on the manager's store, so the
    next table there opens the same way. Click a column header to sort, use the
    dropdowns and the search box to filter, click a row for its details (parameters, work
    dir, error text, final structure, energy per optimiser step). Running and pending jobs
    have a Cancel button (a running job asks for confirmation first). The table draws only
    the rows in view, so 10,000 jobs stay smooth; after the first snapshot it receives
    only the rows that changed.

    The toolbar's Export buttons download the jobs the table shows, in its order: CSV (one
    row per job) and extended XYZ (the final structures, with energies and forces; the
    kernel builds the file in a worker thread and sends it, up to
    :data:`EXPORT_MAX_CHARS` characters). From Python, :meth:`to_csv`, :meth:`to_ase_db`,
    :meth:`to_extxyz` and :meth:`to_dataframe` export the same rows (see
    :mod:`crystalwidgets.jobs.export`); jobs without a final structure are skipped and
    counted in the report returned.

    Rows are ticked by their checkbox (shift-click: a range): the toolbar cancels or resubmits
    the selected jobs after one question and shows the report per job
    (:meth:`JobManager.cancel_many`, ``resubmit_many``). The details offer Resubmit, the job's
    Files (list, text of a file's end, download, zip: :meth:`JobManager.files`) and, once
    :meth:`on_template` wires a form (the App does), Use as template (:meth:`use_as_template`).

    Parameters
    ----------
    manager : crystalwidgets.JobManager
        The manager whose jobs are shown; the table follows its changes until
        :meth:`close`.
    **kwargs
        Initial values of the traits below (``filter_state="running"``, ``height=600``...).

    Attributes
    ----------
    filter_state, filter_recipe, filter_profile : str
        Show only jobs with this state / recipe / profile ("" shows all).
    filter_text : str
        Show only jobs whose id, recipe, formula, profile, state or label contain every
        word of this text (case-insensitive).
    sort_by : str
        The column rows are sorted by, one of :data:`SORT_KEYS`.
    sort_descending : bool
        Reverse the order (``sort_by="age"`` ascending shows the newest job first).
    stale_after : float
        Seconds without a check after which a running job is marked stale. Default:
        three times the manager's ``monitor_interval``.
    details_id : str
        Id of the job whose details are shown under the table ("" for none).
    height : int
        Height of the scrolling rows area in pixels.
    viewer : StructureViewer or None
        The 3D view in the details panel, created the first time details are shown.
    can_template : bool
        Read-only: a form takes "Use as template" (set by :meth:`on_template`).
    hidden_columns : list of str
        Keys of the columns not shown, some of :data:`CHOOSABLE_COLUMNS` (``["profile",
        "last_checked"]``); saved on the manager's store when changed.
    column_widths : dict of str to int
        Widths in px the user gave columns (by key, within :data:`COLUMN_WIDTHS`); a column
        not named takes its default width. Saved on the store when changed.

    Examples
    --------
    >>> mgr = JobManager()
    >>> table = JobTable(mgr, filter_state="running")
    >>> table  # doctest: +SKIP
    >>> table.to_dataframe()  # the jobs the filter shows, in the table's order
    >>> table.to_ase_db("relaxed.db")  # their final structures, energies and forces  # doctest: +SKIP
    >>> table.to_extxyz("relaxed.extxyz", overwrite=True)  # doctest: +SKIP
    """

    _esm = bundle_path("table.js")
    _css = bundle_path("table.css")

    filter_state = traitlets.Unicode("").tag(sync=True)
    filter_recipe = traitlets.Unicode("").tag(sync=True)
    filter_profile = traitlets.Unicode("").tag(sync=True)
    filter_text = traitlets.Unicode("").tag(sync=True)
    sort_by = traitlets.Enum(SORT_KEYS, default_value="age").tag(sync=True)
    sort_descending = traitlets.Bool(False).tag(sync=True)
    stale_after = traitlets.Float(min=0.0).tag(sync=True)
    details_id = traitlets.Unicode("").tag(sync=True)
    height = traitlets.Int(420, min=120, max=4000).tag(sync=True)
    viewer = anywidget.WidgetTrait().tag(sync=True)
    can_template = traitlets.Bool(False, read_only=True).tag(sync=True)
    hidden_columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    column_widths = traitlets.Dict(value_trait=traitlets.Int(), key_trait=traitlets.Unicode()).tag(sync=True)

    def __init__(self, manager: Any, **kwargs: Any) -> None:
        from ..jobs.manager import JobManager

        if not isinstance(manager, JobManager):
            raise TypeError(
                f"manager: expected a crystalwidgets.JobManager, got {type(manager).__name__}; "
                "create one with crystalwidgets.JobManager() and pass it: JobTable(mgr)"
            )
        self.manager = manager
        # id -> (summary JSON text, (formula, energy, max force, steps, atoms)): parse each summary once
        self._numbers: dict[str, tuple[str | None, tuple[Any, Any, Any, Any, Any]]] = {}
        self._live = False  # a view asked for the snapshot: from then on, send changes
        # ids changed while a snapshot is built off the kernel's thread (sent after it), or None
        self._held: set[str] | None = None
        # (job id, completed?, "final" | "input" | None, note) of the structure in the viewer
        self._shown_structure: tuple[str, bool, str | None, str | None] | None = None
        self._reading: tuple[str, bool] | None = None  # (job id, completed?) read off the thread
        self._exporting = False  # an Export button's file is being built
        self._init_actions()
        kwargs.setdefault("stale_after", 3.0 * manager.monitor_interval)
        for name, value in _saved_layout(manager.store).items():
            kwargs.setdefault(name, value)
        super().__init__(**kwargs)
        self.observe(self._save_layout, names=["hidden_columns", "column_widths"])
        self.on_msg(self._on_message)
        self._unsubscribe = manager.subscribe(self._on_changes)

    # -- public API ----------------------------------------------------------

    def to_dataframe(self) -> Any:
        """The jobs the table's current filters show, in its order, as a pandas DataFrame.

        Columns are those of :meth:`JobManager.to_dataframe`; rows are sorted as the table
        sorts them (``sort_by``, ``sort_descending``). With no filter set, every job.
        """
        frame = self.manager.to_dataframe()
        position = {job_id: i for i, job_id in enumerate(frame["id"])}
        order = [position[job_id] for job_id in self._shown_ids() if job_id in position]
        return frame.iloc[order].reset_index(drop=True)

    def to_csv(self, path_or_buffer: Any, *, overwrite: bool = False) -> export.ExportReport:
        """Write the jobs the table shows (its filter and sort) as CSV, one row per job.

        See :func:`crystalwidgets.jobs.export.to_csv` (columns
        :data:`~crystalwidgets.jobs.export.CSV_COLUMNS`); ``path_or_buffer`` is a file name
        or an open text buffer.
        """
        records = {rec.id: rec for rec in self.manager.jobs()}
        shown = [records[i] for i in self._shown_ids() if i in records]
        return export.to_csv(shown, path_or_buffer, overwrite=overwrite)

    def to_ase_db(self, path: Any, *, overwrite: bool = False) -> export.ExportReport:
        """Write the final structures of the jobs the table shows, in its order, to a new ASE
        database, with energies, forces and the jobs' keys.

        See :func:`crystalwidgets.jobs.export.to_ase_db`; jobs without a final structure
        are skipped and counted in the report returned.
        """
        return export.to_ase_db(self.manager, self._shown_ids(), path, overwrite=overwrite)

    def to_extxyz(self, path_or_buffer: Any, *, overwrite: bool = False) -> export.ExportReport:
        """Write the final structures of the jobs the table shows, in its order, as extended
        XYZ, with energies, forces and the jobs' keys.

        See :func:`crystalwidgets.jobs.export.to_extxyz`; ``path_or_buffer`` is a file name
        or an open text buffer; jobs without a final structure are skipped and counted in
        the report.
        """
        return export.to_extxyz(self.manager, self._shown_ids(), path_or_buffer, overwrite=overwrite)

    def show_details(self, job_id: str) -> None:
        """Open the details of a job (full id or unique prefix such as the short id)."""
        self.details_id = self.manager.get(job_id).id

    def close(self) -> None:
        """Stop following the manager and close the widget (and its structure viewer)."""
        unsubscribe = self.__dict__.pop("_unsubscribe", None)  # absent if __init__ refused
        if unsubscribe is not None:
            unsubscribe()
        if self.viewer is not None:
            self.viewer.close()
        super().close()

    # -- validation ----------------------------------------------------------

    @traitlets.validate("filter_state")
    def _validate_filter_state(self, proposal: Any) -> str:
        value = proposal["value"]
        if value and value not in {s.value for s in JobState}:
            states = ", ".join(s.value for s in JobState)
            raise traitlets.TraitError(
                f"filter_state: {value!r} is not a job state; use one of {states} or '' for all"
            )
        return value

    @traitlets.validate("hidden_columns")
    def _validate_hidden_columns(self, proposal: Any) -> list[str]:
        hidden = set(proposal["value"])
        unknown = sorted(hidden - set(CHOOSABLE_COLUMNS))
        if unknown:
            raise traitlets.TraitError(
                f"hidden_columns: {', '.join(map(repr, unknown))} is not a column that can be hidden; "
                f"use some of {', '.join(CHOOSABLE_COLUMNS)}"
            )
        return [key for key in CHOOSABLE_COLUMNS if key in hidden]  # the table's order, once each

    @traitlets.validate("column_widths")
    def _validate_column_widths(self, proposal: Any) -> dict[str, int]:
        low, high = COLUMN_WIDTHS
        for key, width in proposal["value"].items():
            if key not in _COLUMN_KEYS:
                raise traitlets.TraitError(f"column_widths: {key!r} is not a column; use some of {', '.join(_COLUMN_KEYS)}")
            if not low <= width <= high:
                raise traitlets.TraitError(
                    f"column_widths[{key!r}]: {width} px is outside {low}-{high} px; give a width in that range"
                )
        return dict(proposal["value"])

    def _save_layout(self, _change: Any) -> None:
        """Keep the columns' choice and widths on the store, for the next table there."""
        layout = {"hidden_columns": self.hidden_columns, "column_widths": self.column_widths}
        try:
            self.manager.store.put_setting(LAYOUT_SETTING, layout)
        except StoreError as exc:  # the table still works: only the next one opens as before
            log.warning("the table's columns were not saved: %s", exc)

    @traitlets.validate("details_id")
    def _validate_details_id(self, proposal: Any) -> str:
        value = proposal["value"]
        if value:
            try:
                return self.manager.get(value).id
            except KeyError as exc:
                raise traitlets.TraitError(f"details_id: {exc.args[0]}") from None
        return value

    # -- rows ----------------------------------------------------------------

    def _row(self, rec: Any) -> list[Any]:
        """One job as a compact array in :data:`COLUMNS` order."""
        summary_json = rec.summary_json
        cached = self._numbers.get(rec.id)
        if cached is None or cached[0] is not summary_json:
            summary = rec.summary or {}
            cached = (
                summary_json,
                (
                    summary.get("formula") or rec.formula,
                    _rounded(summary.get("energy_ev"), 6),
                    _rounded(summary.get("max_force_ev_ang"), 4),
                    summary.get("n_steps"),
                    rec.atom_count(summary),
                ),
            )
            self._numbers[rec.id] = cached
        formula, energy, force, steps, atoms = cached[1]
        error = error_headline(rec.error, _ERROR_SNIPPET)
        note, since = (None, None) if error else _waiting(rec)
        return [
            rec.id,
            rec.recipe,
            formula,
            rec.profile,
            rec.state.value,
            energy,
            force,
            steps,
            round(rec.created, 3),
            _rounded(rec.last_checked, 3),
            rec.label,
            error or note,
            atoms,
            since,
        ]

    def _rows(self) -> list[list[Any]]:
        return [self._row(rec) for rec in self.manager.jobs()]

    def _view(self) -> dict[str, Any]:
        """The filters and the sort now (read on the kernel's thread, used in any thread)."""
        return {
            name: getattr(self, name)
            for name in ("filter_state", "filter_recipe", "filter_profile", "filter_text", "sort_by", "sort_descending")
        }

    def _shown_ids(self, view: dict[str, Any] | None = None) -> list[str]:
        """Ids of the jobs the table shows, in its order (the browser's ``view.shown``)."""
        view = self._view() if view is None else view
        rows = [row for row in self._rows() if self._matches(row, view)]
        rows.sort(key=functools.cmp_to_key(_comparator(view["sort_by"], view["sort_descending"])))
        return [row[_ID] for row in rows]

    def _matches(self, row: list[Any], view: dict[str, Any]) -> bool:
        """The browser's filter rule (keep both in step: ``matches`` in js/table/filter.js)."""
        if view["filter_state"] and row[_STATE] != view["filter_state"]:
            return False
        if view["filter_recipe"] and row[_RECIPE] != view["filter_recipe"]:
            return False
        if view["filter_profile"] and row[_PROFILE] != view["filter_profile"]:
            return False
        return _matches_text(row, view["filter_text"].lower().split())

    # -- messages ------------------------------------------------------------

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        kind = content.get("kind") if isinstance(content, dict) else None
        if kind == "snapshot":
            self._live = True
            self._answer_snapshot()
        elif kind == "cancel":
            self._cancel(str(content.get("id", "")))
        elif kind == "continue":
            self._continue(str(content.get("id", "")))
        elif kind == "export":
            self._export(content.get("format"))
        elif kind in (handlers := self._action_handlers()):
            handlers[kind](content)
        else:
            self._send_error(f"the table cannot handle a message of kind {kind!r}")

    def _answer_snapshot(self) -> None:
        """Send every job: at once for a few, else built in a worker thread (the kernel's
        thread stays free; changes meanwhile are held and sent right after it)."""
        if self.manager.store.count() <= SNAPSHOT_INLINE_JOBS:  # (its history loads in ms, if not yet)
            self._send_snapshot(self._snapshot())
            return
        if self._held is not None:
            return  # one is being built: it answers this request too
        self._held = set()
        loop = running_loop()

        def work() -> None:
            try:
                snapshot = self._snapshot()
            except Exception as exc:  # noqa: BLE001 - the store could not be read: say so
                log.exception("building the job table's snapshot failed")
                call_in_kernel(loop, self._snapshot_failed, str(exc))
                return
            call_in_kernel(loop, self._send_snapshot, snapshot)

        threading.Thread(target=work, name="cw-table-snapshot", daemon=True).start()

    def _send_snapshot(self, snapshot: Snapshot) -> None:
        held, self._held = self._held, None
        if self.comm is None:
            return  # closed meanwhile
        self.send(snapshot)
        if held:
            self._on_changes(dict.fromkeys(held, {"state": None}))
        if self.details_id:
            self._send_details()

    def _snapshot_failed(self, message: str) -> None:
        self._held = None
        if self.comm is not None:
            self._send_error(f"cannot show the jobs: {message}")

    def _snapshot(self) -> Snapshot:
        return {
            "kind": "snapshot",
            "columns": list(COLUMNS),
            "spec": SPEC,
            "rows": self._rows(),
            "now": time.time(),
        }

    def _send_error(self, message: str, job_id: str | None = None) -> None:
        error: Error = {"kind": "error", "message": message}
        if job_id is not None:
            error["id"] = job_id
        self.send(error)

    def _export(self, fmt: Any) -> None:
        """Build the file of an Export button in a worker thread (reading final structures
        takes a while for thousands of jobs) and send it as an :class:`~._messages.Export`."""
        if fmt not in EXPORT_FILES:
            self._send_error(f"cannot export: unknown format {fmt!r}; use one of {', '.join(EXPORT_FILES)}")
            return
        if self._exporting:
            self._send_error("cannot export: the previous export is still being built; wait for it")
            return
        self._exporting = True
        view = self._view()
        loop = running_loop()

        def work() -> None:
            buffer = _Bounded(EXPORT_MAX_CHARS)
            ids: list[str] = []
            try:
                ids = self._shown_ids(view)
                if fmt == "csv":
                    records = {rec.id: rec for rec in self.manager.jobs()}
                    report = export.to_csv([records[i] for i in ids if i in records], buffer)
                else:
                    report = export.to_extxyz(self.manager, ids, buffer)
            except _TooBig:
                call_in_kernel(
                    loop,
                    self._export_failed,
                    f"cannot export: the {fmt} file of these {len(ids):,} jobs is over "
                    f"{EXPORT_MAX_CHARS:,} characters, too big to send to the browser; write it "
                    f"from Python instead: table.to_{fmt}({EXPORT_FILES[fmt]!r})",
                )
                return
            except Exception as exc:  # noqa: BLE001 - the store or a file could not be read: say so
                log.exception("exporting the job table failed")
                call_in_kernel(loop, self._export_failed, f"cannot export: {exc}")
                return
            message: Export = {
                "kind": "export",
                "format": fmt,
                "filename": EXPORT_FILES[fmt],
                "text": buffer.getvalue(),
                "note": str(report),
            }
            call_in_kernel(loop, self._send_export, message)

        threading.Thread(target=work, name="cw-table-export", daemon=True).start()

    def _send_export(self, message: Export) -> None:
        self._exporting = False
        if self.comm is not None:
            self.send(message)

    def _export_failed(self, message: str) -> None:
        self._exporting = False
        if self.comm is not None:
            self._send_error(message)

    def _cancel(self, job_id: str) -> None:
        try:
            self.manager.cancel(job_id)
        except (KeyError, CrystalWidgetsError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
            self._send_error(f"cannot cancel: {message}", job_id)
        except Exception as exc:  # a runner failing to cancel: tell the user, keep the table
            log.exception("cancelling job %s failed", job_id)
            self._send_error(f"cannot cancel: {exc}", job_id)

    def _continue(self, job_id: str) -> None:
        try:
            rec = self.manager.continue_from(job_id)
        except (KeyError, CrystalWidgetsError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
            self._send_error(f"cannot continue: {message}", job_id)
            return
        self.details_id = rec.id

    def _on_changes(self, changes: dict[str, dict[str, Any]]) -> None:
        """Manager callback: send the changed jobs' rows, one message per batch."""
        if not self._live:
            return
        if self._held is not None:  # a snapshot is being built: these follow it
            self._held.update(changes)
            return
        rows = []
        for job_id in changes:
            try:
                rows.append(self._row(self.manager.get(job_id)))
            except KeyError:
                continue
        if rows:
            message: Rows = {"kind": "rows", "rows": rows, "now": time.time()}
            self.send(message)
        if set(changes.get(self.details_id, ())) - {"last_checked"}:
            self._send_details()  # not for liveness checks: they change nothing shown there

    # -- details -------------------------------------------------------------

    @traitlets.observe("details_id")
    def _on_details_id(self, change: Any) -> None:
        if change["new"]:
            self._send_details()

    def _show_structure(
        self, key: tuple[str, bool], atoms: Any, which: str | None, note: str | None, late: bool
    ) -> None:
        """Put a job's display structure in :attr:`viewer`; resend the details if read late."""
        if self._reading == key:
            self._reading = None
        if self.comm is None:
            return  # closed meanwhile
        if atoms is not None:
            if self.viewer is None:
                from ._viewer import StructureViewer

                self.viewer = StructureViewer(height=320)
            self.viewer.structure = atoms
        self._shown_structure = (*key, which, note)
        if atoms is not None:
            frames_soon(self.manager, key[0], functools.partial(self._show_frames, key))
        if late and self.details_id == key[0]:
            self._send_details()

    def _show_frames(self, key: tuple[str, bool], frames: Any, note: str | None) -> None:
        """Give :attr:`viewer` the job's steps (read off the thread), unless another job's
        structure is on show by now."""
        if note is not None:
            log.warning("job %s: %s", key[0][:8], note)
        shown = self._shown_structure
        if self.comm is None or self.viewer is None or shown is None or shown[:2] != key:
            return
        self.viewer.trajectory = frames

    def _send_details(self) -> None:
        """Send the open job's details and show its structure in :attr:`viewer`."""
        rec = self.manager.get(self.details_id)
        summary = rec.summary or {}
        shown = self._shown_structure
        key = (rec.id, rec.state is JobState.COMPLETED)
        if shown is not None and shown[:2] == key:
            structure, structure_note = shown[2:]
        elif self._reading == key:
            structure, structure_note = None, READING_NOTE
        else:
            self._reading = key
            if display_structure_soon(self.manager, rec.id, functools.partial(self._show_structure, key)):
                structure, structure_note = self._shown_structure[2:]
            else:  # an old job's result: read in a child process, shown when it is
                structure, structure_note = None, READING_NOTE
        details: Details = {
            "kind": "details",
            "id": rec.id,
            "recipe": rec.recipe,
            "state": rec.state.value,
            "profile": rec.profile,
            "runner": rec.runner,
            "label": rec.label,
            "formula": summary.get("formula") or rec.formula,
            "params": rec.params,
            "work_dir": rec.work_dir,
            "error": rec.error,
            "created": rec.created,
            "started": rec.started,
            "finished": rec.finished,
            "last_checked": rec.last_checked,
            "summary": summary,
            "structure": structure,
            "structure_note": structure_note,
            "now": time.time(),
        }
        self.send(details)
