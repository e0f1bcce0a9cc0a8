"""What the manager does to several jobs at once (cancel, resubmit), job by job, and what a
job ran, as a template for a new one.

One job that cannot be cancelled or resubmitted never stops the others: each gets its own
outcome in the :class:`BulkReport`, which says them all in one line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import CrystalWidgetsError

__all__ = ["BulkReport", "JobTemplate", "cancel_many", "resubmit_many"]

log = logging.getLogger(__name__)

#: The outcomes a job can have, in the order a report names them, with how a report says them.
OUTCOMES = {
    "cancelled": "cancelled {n}",
    "resubmitted": "resubmitted {n}",
    "finished": "{n} had already finished",
    "missing": "{n} not found",
    "refused": "{n} refused",
    "failed": "{n} failed",
}


@dataclass(frozen=True)
class JobTemplate:
    """What a job ran, to edit and submit again (:meth:`JobManager.template`).

    Attributes
    ----------
    job_id : str
        The job it comes from.
    structure : ase.Atoms
        Its input structure.
    recipe : str or callable
        Its recipe: a dotted path, or the function of your own it ran.
    params : dict
        Its parameters, as validated at submit.
    profile : str
        The profile it ran on.
    """

    job_id: str
    structure: Any
    recipe: Any
    params: dict[str, Any]
    profile: str


@dataclass
class BulkReport:
    """What an action on several jobs did, job by job.

    Attributes
    ----------
    action : str
        ``"cancel"`` or ``"resubmit"``.
    outcomes : dict of str to str
        Job id -> one of :data:`OUTCOMES` (``cancelled``, ``resubmitted``, ``finished``,
        ``missing``, ``refused``, ``failed``).
    reasons : dict of str to str
        Job id -> why, for the refused and failed ones (and the state a finished one had).
    new_ids : dict of str to str
        For a resubmit: old job id -> the new job's id.
    """

    action: str
    outcomes: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    new_ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def merged(cls, action: str, reports: Iterable[BulkReport]) -> BulkReport:
        """One report of several (of the slices of one request)."""
        out = cls(action)
        for report in reports:
            out.outcomes.update(report.outcomes)
            out.reasons.update(report.reasons)
            out.new_ids.update(report.new_ids)
        return out

    def count(self, outcome: str) -> int:
        """How many jobs had ``outcome``."""
        return sum(1 for value in self.outcomes.values() if value == outcome)

    def __str__(self) -> str:
        if not self.outcomes:
            return f"no job to {self.action}"
        parts = [text.format(n=self.count(key)) for key, text in OUTCOMES.items() if self.count(key)]
        why = [f"{job_id[:8]}: {self.reasons[job_id]}" for job_id, o in self.outcomes.items() if o in ("refused", "failed")]
        return "; ".join(parts) + (f" ({'; '.join(why[:3])}{'; ...' if len(why) > 3 else ''})" if why else "")


def _each(mgr: Any, job_ids: Iterable[str], action: str, do: Any) -> BulkReport:
    report = BulkReport(action)
    for job_id in dict.fromkeys(job_ids):
        try:
            rec = mgr.get(job_id)
        except KeyError as exc:
            report.outcomes[job_id] = "missing"
            report.reasons[job_id] = exc.args[0]
            continue
        try:
            do(rec, report)
        except CrystalWidgetsError as exc:
            report.outcomes[rec.id] = "refused"
            report.reasons[rec.id] = str(exc)
        except Exception as exc:  # a runner failing: this job's outcome, not the others'
            log.exception("%s of job %s failed", action, rec.short_id)
            report.outcomes[rec.id] = "failed"
            report.reasons[rec.id] = f"{type(exc).__name__}: {exc}"
    return report


def cancel_many(mgr: Any, job_ids: Iterable[str]) -> BulkReport:
    """Cancel each job of ``job_ids`` (see :meth:`JobManager.cancel_many`)."""

    def cancel(rec: Any, report: BulkReport) -> None:
        if rec.state.is_terminal:
            report.outcomes[rec.id] = "finished"
            report.reasons[rec.id] = rec.state.value
            return
        mgr.cancel(rec.id)
        report.outcomes[rec.id] = "cancelled"

    return _each(mgr, job_ids, "cancel", cancel)


def resubmit_many(mgr: Any, job_ids: Iterable[str], profile: str | None = None) -> BulkReport:
    """Resubmit each job of ``job_ids`` (see :meth:`JobManager.resubmit_many`)."""

    def resubmit(rec: Any, report: BulkReport) -> None:
        new = mgr.resubmit(rec.id, profile)
        report.outcomes[rec.id] = "resubmitted"
        report.new_ids[rec.id] = new.id

    return _each(mgr, job_ids, "resubmit", resubmit)
