"""Jobs exported to files: a table of them (CSV), their final structures with energies and
forces (an ASE database, extended XYZ).

Plain functions of a :class:`~crystalwidgets.JobManager` and job ids (or job records), for
scripts and for :class:`~crystalwidgets.widgets.JobTable`, which exports the rows it shows.
A job's final structure and the calculator's results for it are read from its small
final-structure file (:mod:`.final`), never from its whole result. The files are written
private (0600) and whole (through a temporary file and a rename), with ASE's own writers.

Jobs without a structure to export (not finished, failed before a step, a result without
atoms) are skipped and counted, by reason, in the :class:`ExportReport` returned.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from .._files import write_private
from ..errors import CrystalWidgetsError, ExportError
from ..states import JobState
from .cause import error_headline

__all__ = ["CSV_COLUMNS", "KEYS", "ExportReport", "to_ase_db", "to_csv", "to_extxyz"]

log = logging.getLogger(__name__)

#: The columns of :func:`to_csv`, in order (times in ISO 8601, UTC; ``error``: the failure's
#: innermost cause, cut short).
CSV_COLUMNS = (
    "id",
    "recipe",
    "formula",
    "profile",
    "state",
    "energy_ev",
    "max_force_ev_ang",
    "n_steps",
    "converged",
    "n_atoms",
    "created",
    "finished",
    "label",
    "error",
)
#: What each exported structure carries about its job: ``atoms.info`` in extended XYZ, the
#: key-value pairs of its row in an ASE database (keys without a value are left out).
#: ``reduced_formula`` (the table's formula: ASE reserves ``formula`` for its own, full one);
#: ``converged`` is False for the last step of a relaxation that did not converge.
KEYS = ("job_id", "recipe", "reduced_formula", "profile", "label", "state", "converged")

_ERROR_SNIPPET = 200
_SPREADSHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a cell starting so is run by Excel
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote, and which jobs it skipped and why.

    Attributes
    ----------
    path : str or None
        The file written (None when written to a buffer).
    written : int
        Rows (CSV) or structures (ASE database, extended XYZ) written.
    unit : str
        What was written: ``"row"`` or ``"structure"``.
    unconverged : int
        Of those, last steps of relaxations that did not converge (``converged`` False).
    skipped : dict of str to list of str
        Why -> the ids of the jobs skipped for that reason (empty when none was).
    """

    path: str | None
    written: int
    unit: str = "row"
    unconverged: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n_skipped(self) -> int:
        """How many jobs were skipped."""
        return sum(len(ids) for ids in self.skipped.values())

    def __str__(self) -> str:
        text = f"wrote {self.written:,} {self.unit}{'' if self.written == 1 else 's'}"
        if self.path:
            text += f" to {self.path}"
        if self.unconverged:
            text += f" ({self.unconverged:,} the last step of an unconverged relaxation)"
        if self.skipped:
            reasons = "; ".join(f"{len(ids):,} {why}" for why, ids in self.skipped.items())
            text += f"; skipped {self.n_skipped:,} job{'' if self.n_skipped == 1 else 's'} ({reasons})"
        return text


# -- arguments ---------------------------------------------------------------------------


def _output(path: Any, overwrite: bool, argument: str = "path") -> Path:
    """``path`` as a file that may be written; ExportError naming the argument and the fix."""
    if not isinstance(path, (str, os.PathLike)):
        raise ExportError(f"{argument}: expected a file name, got {type(path).__name__}")
    out = Path(path).expanduser()
    if out.is_dir():
        raise ExportError(f"{argument}: {out} is a directory; give a file name in it, such as {out / 'jobs'}")
    if not out.parent.is_dir():
        raise ExportError(
            f"{argument}: the directory {out.parent} does not exist; create it first or choose another place"
        )
    if out.exists() and not overwrite:
        raise ExportError(f"{argument}: {out} exists; pass overwrite=True to replace it, or choose another name")
    return out


def _records(manager: Any, job_ids: Any) -> list[Any]:
    """The records of ``job_ids`` in their order, each once; ExportError for an unknown id."""
    if isinstance(job_ids, str) or not isinstance(job_ids, Iterable):
        raise ExportError(
            f"job_ids: expected a list of job ids, got {type(job_ids).__name__}; for one job pass [job_id]"
        )
    records: dict[str, Any] = {}
    for job_id in job_ids:
        try:
            rec = manager.get(str(job_id))
        except KeyError as exc:
            raise ExportError(
                f"job_ids: {exc.args[0]}; pass ids of this manager's jobs ([r.id for r in manager.jobs()])"
            ) from None
        records.setdefault(rec.id, rec)
    return list(records.values())


def _is_text_buffer(target: Any) -> bool:
    return hasattr(target, "write") and not isinstance(target, (str, os.PathLike))


# -- CSV -----------------------------------------------------------------------------------


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def _cell(value: Any) -> Any:
    """A CSV cell: text that a spreadsheet would run as a formula is quoted with ``'``."""
    if isinstance(value, str) and value.startswith(_SPREADSHEET_FORMULA):
        return "'" + value
    return "" if value is None else value


def _csv_row(rec: Any) -> list[Any]:
    s = rec.summary or {}
    values = {
        "id": rec.id,
        "recipe": rec.recipe,
        "formula": s.get("formula") or rec.formula,
        "profile": rec.profile,
        "state": rec.state.value,
        "energy_ev": s.get("energy_ev"),
        "max_force_ev_ang": s.get("max_force_ev_ang"),
        "n_steps": s.get("n_steps"),
        "converged": s.get("converged"),
        "n_atoms": rec.atom_count(s),
        "created": _iso(rec.created),
        "finished": _iso(rec.finished),
        "label": rec.label,
        "error": error_headline(rec.error, _ERROR_SNIPPET),
    }
    return [_cell(values[name]) for name in CSV_COLUMNS]


def to_csv(
    records: Iterable[Any], path_or_buffer: str | os.PathLike | IO[str], *, overwrite: bool = False
) -> ExportReport:
    """Write jobs as CSV, one row per job in the order given, columns :data:`CSV_COLUMNS`.

    Parameters
    ----------
    records : iterable of JobRecord
        The jobs (``manager.jobs()``, or the rows a table shows).
    path_or_buffer : str, path or text file object
        The file to write (private, 0600), or an open text buffer to write into.
    overwrite : bool
        Replace ``path_or_buffer`` when it is a file that exists.

    Returns
    -------
    ExportReport
        The rows written (none is skipped: every job has a row).

    Raises
    ------
    ExportError
        When the path cannot be written (its directory is missing, it exists), naming it
        and the fix.

    Notes
    -----
    Text from jobs (labels, errors) that starts like a spreadsheet formula (``=``, ``+``,
    ``-``, ``@``) is written with a leading ``'``, so a spreadsheet shows it as text.
    """
    from .store import JobRecord

    records = list(records)
    for rec in records:
        if not isinstance(rec, JobRecord):
            raise ExportError(
                f"records: expected job records (manager.jobs()), got a {type(rec).__name__}"
            )
    target = None if _is_text_buffer(path_or_buffer) else _output(path_or_buffer, overwrite, "path_or_buffer")
    buffer = io.StringIO() if target is not None else path_or_buffer
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for rec in records:
        writer.writerow(_csv_row(rec))
    if target is not None:
        write_private(target, buffer.getvalue(), durable=False)
    return ExportReport(None if target is None else str(target), len(records))


# -- structures ----------------------------------------------------------------------------


def _unconverged(rec: Any) -> bool:
    return rec.state is JobState.FAILED and bool((rec.summary or {}).get("unconverged"))


def _keys(rec: Any, unconverged: bool) -> dict[str, Any]:
    summary = rec.summary or {}
    converged = False if unconverged else summary.get("converged")
    values = {
        "job_id": rec.id,
        "recipe": rec.recipe,
        "reduced_formula": summary.get("formula") or rec.formula,
        "profile": rec.profile,
        "label": rec.label,
        "state": rec.state.value,
        "converged": None if converged is None else bool(converged),
    }
    return {key: values[key] for key in KEYS if values[key] is not None}


def _structures(manager: Any, job_ids: Any) -> tuple[list[tuple[Any, dict[str, Any]]], int, dict[str, list[str]]]:
    """``([(atoms with results, keys), ...], unconverged, skipped)`` for the jobs' final structures."""
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    found: list[tuple[Any, dict[str, Any]]] = []
    skipped: dict[str, list[str]] = {}
    unconverged = 0
    for rec in _records(manager, job_ids):
        last = _unconverged(rec)
        if rec.state is not JobState.COMPLETED and not last:
            why = "not finished" if not rec.state.is_terminal else "no result"
            skipped.setdefault(f"{rec.state.value}: {why}", []).append(rec.id)
            continue
        try:
            final = manager.structure(rec.id, final=True, results=True)
        except CrystalWidgetsError as exc:
            log.info("export: job %s skipped: %s", rec.id, exc)
            skipped.setdefault(f"{rec.state.value}: no final structure in its result", []).append(rec.id)
            continue
        atoms = Atoms(final)  # a plain copy: quacc's info and the MSON class left behind
        atoms.info = {}
        if final.calc is not None:
            atoms.calc = SinglePointCalculator(atoms, **final.calc.results)
        unconverged += last
        found.append((atoms, _keys(rec, last)))
    return found, unconverged, skipped


def to_ase_db(
    manager: Any, job_ids: Iterable[str], path: str | os.PathLike, *, overwrite: bool = False
) -> ExportReport:
    """Write the final structures of jobs to a new ASE database, with their energies and forces.

    One row per job that has a final structure, in the order given: a completed job's final
    structure, or the last step of a relaxation that did not converge (``converged``
    False). Each row holds the calculator's results for it (energy, forces, stress... as
    the job's result has them) and the key-value pairs :data:`KEYS`.

    Parameters
    ----------
    manager : JobManager
        The manager the jobs belong to.
    job_ids : iterable of str
        The jobs (full ids or unique prefixes).
    path : str or path
        The database file, written private (0600); ``.db`` (SQLite) or ``.json``, as
        :func:`ase.db.connect` reads it.
    overwrite : bool
        Replace ``path`` when it exists (the old database is not appended to).

    Returns
    -------
    ExportReport
        The structures written, and the jobs skipped (no final structure), by reason.

    Raises
    ------
    ExportError
        For an unknown job id, or a path that cannot be written, naming the argument and the fix.

    Examples
    --------
    >>> report = to_ase_db(mgr, [job.id], "relaxed.db")  # doctest: +SKIP
    >>> ase.db.connect("relaxed.db").get(job_id=job.id).energy  # doctest: +SKIP
    """
    import ase.db

    out = _output(path, overwrite)
    kind = "json" if out.suffix == ".json" else "db"
    found, unconverged, skipped = _structures(manager, job_ids)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # private from the start
    try:
        with ase.db.connect(tmp, type=kind, append=kind == "db") as db:
            for atoms, keys in found:
                db.write(atoms, key_value_pairs=keys)
        os.chmod(tmp, 0o600)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ExportReport(str(out), len(found), "structure", unconverged, skipped)


def _xyz_text(value: Any) -> Any:
    """A key's value on extended XYZ's one comment line: control characters as spaces."""
    return _CONTROL.sub(" ", value) if isinstance(value, str) else value


def to_extxyz(
    manager: Any, job_ids: Iterable[str], path_or_buffer: str | os.PathLike | IO[str], *, overwrite: bool = False
) -> ExportReport:
    """Write the final structures of jobs as extended XYZ, with their energies and forces.

    One frame per job that has a final structure, in the order given (as :func:`to_ase_db`):
    energy, stress and the like on the frame's comment line, forces per atom, and
    :data:`KEYS` in ``atoms.info`` (text with line breaks put on one line). Read back with
    ``ase.io.read(path, index=":")``.

    Parameters
    ----------
    manager : JobManager
        The manager the jobs belong to.
    job_ids : iterable of str
        The jobs (full ids or unique prefixes).
    path_or_buffer : str, path or text file object
        The file to write (private, 0600), or an open text buffer to write into.
    overwrite : bool
        Replace ``path_or_buffer`` when it is a file that exists.

    Returns
    -------
    ExportReport
        The structures written, and the jobs skipped (no final structure), by reason.

    Raises
    ------
    ExportError
        For an unknown job id, or a path that cannot be written, naming the argument and the fix.
    """
    import ase.io

    target = None if _is_text_buffer(path_or_buffer) else _output(path_or_buffer, overwrite, "path_or_buffer")
    found, unconverged, skipped = _structures(manager, job_ids)
    images = []
    for atoms, keys in found:
        atoms.info.update({key: _xyz_text(value) for key, value in keys.items()})
        images.append(atoms)
    buffer = io.StringIO() if target is not None else path_or_buffer
    if images:
        ase.io.write(buffer, images, format="extxyz")
    if target is not None:
        write_private(target, buffer.getvalue(), durable=False)
    path = None if target is None else str(target)
    return ExportReport(path, len(images), "structure", unconverged, skipped)
