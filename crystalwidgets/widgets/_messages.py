"""The custom messages between the widgets and their browser sides, declared once, here.

Every message is one JSON object with a ``kind``; each widget dispatches on the kinds it
declares below (``*_FROM_BROWSER`` / ``*_TO_BROWSER``: kind -> TypedDict), and the tests
check every message sent, from both sides, against these declarations.

JobTable: the kernel builds its messages in ``_table.py``; the browser (js/table/) reads
them and dispatches on ``kind`` in js/table/index.js.

browser -> kernel
    :class:`SnapshotRequest` when a view renders; :class:`CancelRequest` from a Cancel button;
    :class:`ExportRequest` from an Export button; :class:`BulkRequest` from the selection's
    toolbar (cancel or resubmit the selected jobs) and the details' Resubmit;
    :class:`TemplateRequest` from "Use as template"; :class:`FilesRequest`,
    :class:`FileTextRequest` and :class:`DownloadRequest` from the details' Files.
kernel -> browser
    :class:`Snapshot` (the answer to a request: every job, and the :class:`TableSpec` the
    browser builds its header, cells and sorting from); :class:`Rows` (only the jobs that
    changed, one message per batch the manager publishes); :class:`Details` (the open job);
    :class:`Export` (the file an Export button asked for); :class:`BulkDone` (what a bulk
    action did, per job); :class:`Files`, :class:`FileText` and :class:`Download` (a job's
    files; a download's bytes travel as the message's one buffer); :class:`Status` (a line
    for the status bar); :class:`Error` (a request the kernel refused).
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = [
    "FORM_FROM_BROWSER",
    "PICKER_FROM_BROWSER",
    "TABLE_FROM_BROWSER",
    "TABLE_TO_BROWSER",
    "BulkAction",
    "BulkDone",
    "BulkRequest",
    "CancelRequest",
    "ContinueRequest",
    "Download",
    "DownloadRequest",
    "FileText",
    "FileTextRequest",
    "Files",
    "FilesRequest",
    "Status",
    "TemplateRequest",
    "Column",
    "Details",
    "Error",
    "Export",
    "ExportFormat",
    "ExportRequest",
    "FromBrowser",
    "Rows",
    "Snapshot",
    "SnapshotRequest",
    "TableSpec",
    "ToBrowser",
]

#: How a column draws its cell (js/table/columns.js has one painter per format).
#:
#: ``short_id``: the first 8 characters, the full id and the job's label on hover;
#: ``text``: the value as text; ``state``: a coloured badge, marked when the job is stale;
#: ``number``: the value with ``digits`` decimals; ``age``: time since the value (an epoch);
#: ``ago``: "… ago" since the value, empty when there is none; ``actions``: the Cancel
#: button of an active job (``field`` is None).
#: ``select``: the row's checkbox (selected rows are kept by id in the browser; ``field`` is None).
Format = Literal["select", "short_id", "text", "state", "number", "age", "ago", "actions"]

#: How a column sorts: ``value`` (the field's value), ``rank`` (the value's position in
#: :attr:`TableSpec.states`), ``newest_first`` (an epoch, the most recent first), or None
#: (the column does not sort; it has no sort button and is not a ``sort_by`` value).
Sort = Literal["value", "rank", "newest_first"] | None

#: The files the table's Export buttons download: ``csv`` (one row per job) or ``extxyz``
#: (the jobs' final structures with energies and forces).
ExportFormat = Literal["csv", "extxyz"]

#: What the selection's toolbar does to the selected jobs.
BulkAction = Literal["cancel", "resubmit"]


# -- browser -> kernel -------------------------------------------------------


class SnapshotRequest(TypedDict):
    """A view has rendered and needs every job; the answer is a :class:`Snapshot`."""

    kind: Literal["snapshot"]


class CancelRequest(TypedDict):
    """Cancel this job (full id); a refusal comes back as an :class:`Error`, the new state as
    :class:`Rows`."""

    kind: Literal["cancel"]
    id: str


class ContinueRequest(TypedDict):
    """Submit a new job starting from this job's last structure (same recipe and parameters);
    its details open. A refusal comes back as an :class:`Error`."""

    kind: Literal["continue"]
    id: str


class ExportRequest(TypedDict):
    """Send the jobs the table shows (its filter and sort) as a file of ``format``; the
    answer is an :class:`Export`, or an :class:`Error` (too big, unreadable)."""

    kind: Literal["export"]
    format: ExportFormat


class BulkRequest(TypedDict):
    """Cancel or resubmit these jobs (the browser asked once for all of them); the answer is a
    :class:`BulkDone`, or an :class:`Error` (too many at once)."""

    kind: Literal["bulk"]
    action: BulkAction
    ids: list[str]


class TemplateRequest(TypedDict):
    """Put this job's structure, recipe and parameters into the App's form (offered when the
    table's ``can_template`` is on); a :class:`Status` or an :class:`Error` answers."""

    kind: Literal["template"]
    id: str


class FilesRequest(TypedDict):
    """List this job's work dir; the answer is a :class:`Files` or an :class:`Error`."""

    kind: Literal["files"]
    id: str


class _FileTextFields(TypedDict):
    kind: Literal["file_text"]
    id: str
    path: str


class FileTextRequest(_FileTextFields, total=False):
    """Show this file of the job's work dir (``path`` relative to it) as text: the answer is a
    :class:`FileText` (its end, for a big file) or an :class:`Error`."""

    #: How much of the file's end (bytes; default 64 KB, at most 4 MB): "Show more" asks
    #: the last answer's ``more``.
    tail_bytes: int


class DownloadRequest(TypedDict):
    """Send this file (``zip`` False) or a zip of this dir (``zip`` True; ``path`` "" for the
    whole work dir) of the job's work dir: a :class:`Download` or an :class:`Error` answers."""

    kind: Literal["download"]
    id: str
    path: str
    zip: bool


# -- kernel -> browser -------------------------------------------------------


class Column(TypedDict):
    """One column of the table as the browser shows it, left to right."""

    #: The ``sort_by`` value of the column and its header's ``data-key``.
    key: str
    #: Header text.
    label: str
    #: Header tooltip ("" for none).
    title: str
    #: The row field (a name in :attr:`Snapshot.columns`) the cell shows; None for actions.
    field: str | None
    format: Format
    #: Decimals of a ``number``.
    digits: int | None
    #: Right-aligned, tabular figures.
    numeric: bool
    sort: Sort
    #: Minimum width in px; with ``grow``, the column takes that share (CSS ``fr``) of the
    #: room left, else it is exactly ``width`` wide.
    width: int
    grow: float | None
    #: The cell's tooltip repeats its text (for values that may be cut short).
    tooltip: bool
    #: A text column of few distinct values (recipe, formula, profile) is made as wide as the
    #: longest value in the table, up to this many px (0: not fitted to its values).
    fit_values: int
    #: For a job in one of :attr:`TableSpec.error_states` with an error, this cell shows the
    #: error line across this many columns (1: never).
    error_span: int


class TableSpec(TypedDict):
    """What the browser needs to know to draw rows: sent once, in each :class:`Snapshot`."""

    columns: list[Column]
    #: Every job state, in the order the state column sorts and the state filter lists them.
    states: list[str]
    #: States of a job that can still be cancelled (they have a Cancel button).
    active_states: list[str]
    #: States whose rows show the job's error line.
    error_states: list[str]
    #: States whose rows show that line as a note (what a waiting job waits for, a retry),
    #: where the cells it would cover are still empty.
    note_states: list[str]
    #: Row fields the search box searches (every word must occur in one of them).
    text_fields: list[str]
    #: Keys of the columns the Columns menu can hide (``JobTable.hidden_columns``).
    choosable: list[str]
    #: Narrowest and widest a column can be made, in px (``JobTable.column_widths``).
    width_range: list[int]


class Snapshot(TypedDict):
    """Every job, answering a :class:`SnapshotRequest`."""

    kind: Literal["snapshot"]
    #: The fields of one row array, in order.
    columns: list[str]
    spec: TableSpec
    #: One compact array per job, oldest first.
    rows: list[list[Any]]
    #: The kernel's clock (epoch seconds): ages are computed in the browser from it.
    now: float


class Rows(TypedDict):
    """The rows of the jobs that changed (one batch of the manager's events)."""

    kind: Literal["rows"]
    rows: list[list[Any]]
    now: float


class _ErrorFields(TypedDict):
    kind: Literal["error"]
    message: str


class Error(_ErrorFields, total=False):
    """A request the kernel refused; ``id``: the job it was for (a cancel, a file...)."""

    id: str


class Details(TypedDict):
    """Everything about the job in ``details_id``; sent whenever it is set and the job changes."""

    kind: Literal["details"]
    id: str
    recipe: str
    state: str
    profile: str
    runner: str
    label: str | None
    formula: str | None
    params: dict[str, Any]
    work_dir: str | None
    #: The full error text (a traceback), shown as text.
    error: str | None
    created: float
    started: float | None
    finished: float | None
    last_checked: float | None
    summary: dict[str, Any]
    #: Which structure :attr:`JobTable.viewer` shows: ``"final"``, ``"input"`` or None.
    structure: str | None
    #: Why it is not the final one, or why there is none.
    structure_note: str | None
    now: float


class Export(TypedDict):
    """The file an :class:`ExportRequest` asked for, downloaded by the browser as is."""

    kind: Literal["export"]
    format: ExportFormat
    #: The name the download gets.
    filename: str
    #: The file's content (at most ``EXPORT_MAX_CHARS`` characters).
    text: str
    #: What was written and which jobs were skipped and why (shown as text).
    note: str


class BulkDone(TypedDict):
    """What a :class:`BulkRequest` did, job by job."""

    kind: Literal["bulk"]
    action: BulkAction
    #: One line for the user: "cancelled 2; 1 had already finished".
    message: str
    #: Job id -> its outcome (``cancelled``, ``resubmitted``, ``finished``, ``missing``,
    #: ``refused``, ``failed``).
    outcomes: dict[str, str]
    #: For a resubmit: old job id -> the new job's id.
    new_ids: dict[str, str]


class Files(TypedDict):
    """The entries of a job's work dir, each dir followed by what it holds."""

    kind: Literal["files"]
    id: str
    #: ``[path, size in bytes, modified (epoch s), "file" | "dir" | "link"]`` per entry,
    #: paths relative to the work dir with ``/``.
    entries: list[list[Any]]
    #: The list was cut (a dir of more than ``LIST_MAX_ENTRIES`` entries).
    truncated: bool


class FileText(TypedDict):
    """A file of a job's work dir as text (shown as text, never as HTML): its end for a big
    one; ``text`` None for a binary file (``note`` says so)."""

    kind: Literal["file_text"]
    id: str
    path: str
    size: int
    #: Offset of the first byte shown (0: from the start).
    start: int
    text: str | None
    note: str
    #: The ``tail_bytes`` that shows more of the file's end ("Show more"); None: all shown,
    #: or as much as a view shows (the note says to download the rest).
    more: int | None


class Download(TypedDict):
    """A file, or a zip, of a job's work dir: its bytes are the message's one buffer, the
    browser downloads them as it does an :class:`Export`."""

    kind: Literal["download"]
    id: str
    filename: str
    #: MIME type of the download.
    mime: str
    size: int
    note: str


class Status(TypedDict):
    """A line for the table's status bar (what a request did)."""

    kind: Literal["status"]
    message: str


FromBrowser = (
    SnapshotRequest
    | CancelRequest
    | ContinueRequest
    | ExportRequest
    | BulkRequest
    | TemplateRequest
    | FilesRequest
    | FileTextRequest
    | DownloadRequest
)
ToBrowser = Snapshot | Rows | Details | Export | BulkDone | Files | FileText | Download | Status | Error

#: Each message type by its ``kind``.
TABLE_FROM_BROWSER: dict[str, type] = {
    "snapshot": SnapshotRequest,
    "cancel": CancelRequest,
    "continue": ContinueRequest,
    "export": ExportRequest,
    "bulk": BulkRequest,
    "template": TemplateRequest,
    "files": FilesRequest,
    "file_text": FileTextRequest,
    "download": DownloadRequest,
}
TABLE_TO_BROWSER: dict[str, type] = {
    "snapshot": Snapshot,
    "rows": Rows,
    "details": Details,
    "export": Export,
    "bulk": BulkDone,
    "files": Files,
    "file_text": FileText,
    "download": Download,
    "status": Status,
    "error": Error,
}


# -- RecipeForm (js/form.js) ------------------------------------------------------------


class FormSubmit(TypedDict):
    """The Submit button (the kernel submits only when the form is valid and may submit)."""

    kind: Literal["submit"]


FORM_FROM_BROWSER: dict[str, type] = {"submit": FormSubmit}


# -- ClusterPicker (js/picker.js) -------------------------------------------------------


class PickerNew(TypedDict):
    """Open the editor on a new profile of ``profile_kind``."""

    kind: Literal["new"]
    profile_kind: str


class PickerEdit(TypedDict):
    """Open the editor on a saved profile (or the built-in ``local``)."""

    kind: Literal["edit"]
    name: str


class PickerClose(TypedDict):
    """Close the editor; nothing is saved."""

    kind: Literal["close"]


class PickerSave(TypedDict):
    """Save the editor's profile (renaming deletes the old name)."""

    kind: Literal["save"]


class PickerDelete(TypedDict):
    """Delete a saved profile (the browser asked first)."""

    kind: Literal["delete"]
    name: str


class PickerCheck(TypedDict):
    """Run the selected profile's ``check()`` (``deep``: also a tiny job on the target;
    ``draft``: the editor's unsaved settings instead)."""

    kind: Literal["check"]
    deep: bool
    draft: bool


class PickerAction(TypedDict):
    """Run the selected profile's action ``name`` (one of the picker's ``actions``)."""

    kind: Literal["action"]
    name: str


class PickerRefresh(TypedDict):
    """Sent on a timer: re-read the profiles and the block health."""

    kind: Literal["refresh"]


class PickerCleanupLeftovers(TypedDict):
    """Cancel the picker's ``leftovers`` (blocks that engines of kernels that ended left)."""

    kind: Literal["cleanup_leftovers"]


PICKER_FROM_BROWSER: dict[str, type] = {
    "new": PickerNew,
    "edit": PickerEdit,
    "close": PickerClose,
    "save": PickerSave,
    "delete": PickerDelete,
    "check": PickerCheck,
    "action": PickerAction,
    "refresh": PickerRefresh,
    "cleanup_leftovers": PickerCleanupLeftovers,
}
