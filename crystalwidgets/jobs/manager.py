"""JobManager: the one object scripts and widgets use to submit and follow jobs.

It holds the runners (one per profile, created on first use) and a cache of
records; it never blocks the kernel. Runners report transitions from their own
threads into an :class:`~crystalwidgets.jobs.events.EventPump`, which hands them
back in batches on the kernel's asyncio loop (or its own thread in a script); the
manager writes each batch to the store in one transaction and tells subscribers
exactly which fields of which jobs changed.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import os
import shutil
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._files import home_dir, jsanitized, private_dir
from .._procs import HEARTBEAT_S
from .._procs import owner_alive as _owner_alive
from .._procs import owner_host as _owner_host
from .._procs import owner_id as _owner_id
from ..errors import CrystalWidgetsError, PotcarWarning, RecipeUnavailableError, RecipeValidationError, UnfitStructureError
from ..profiles import Profile, ProfileStore
from ..states import JobState
from .actions import BulkReport, JobTemplate
from .events import EventPump, JobEvent, Task
from .progress import find_log, read_progress
from .store import JobRecord, JobStore, ManagerRecord
from .workdir import JobFiles

if TYPE_CHECKING:
    from ..runners.base import Runner

__all__ = ["JobManager", "JobRecord", "Changes"]

log = logging.getLogger(__name__)

#: Seconds close() waits for the job history's reading thread (100,000 jobs: about a second).
_HISTORY_CLOSE_WAIT_S = 30.0

#: ``{job_id: {field: new value}}``: what a subscriber receives. A new job arrives
#: with all its fields. Values are JSON-able (states as strings).
Changes = dict[str, dict[str, Any]]
#: Running jobs' logs are looked at for progress at most this often (seconds).
PROGRESS_S = 1.0
#: Seconds a call needing every job waits for the finished ones to load (see history_loaded).
HISTORY_WAIT_S = 120.0


def new_job_id() -> str:
    """A new job id: 16 random hex digits that never read as a number.

    An id such as ``4227772983924005`` or ``0123e45678901234`` comes back from text formats
    as a number (ASE's extxyz reader, pandas' read_csv), its leading zeros lost: such a draw
    (about 1 in 470) is drawn again.
    """
    while True:
        job_id = uuid.uuid4().hex[:16]
        try:
            float(job_id)
        except ValueError:
            return job_id


class JobManager:
    """Submit recipes on structures to profiles, follow them, never block.

    Parameters
    ----------
    home
        Data directory (store and results). Default ``$CRYSTALWIDGETS_HOME``,
        else the user data dir.
    profiles
        Where profiles are read from. Default: the user's config dir.
    monitor_interval
        Seconds between liveness checks of what cannot call back.

    Examples
    --------
    >>> mgr = JobManager()
    >>> job = mgr.submit(bulk("Cu"), "emt.relax_job", relax_cell=False)
    >>> mgr.wait([job.id], timeout=120)[0].summary["energy_ev"]
    """

    def __init__(
        self,
        home: str | os.PathLike | None = None,
        *,
        profiles: ProfileStore | None = None,
        monitor_interval: float = 5.0,
    ) -> None:
        home = home_dir(home)
        # first, and it makes the home: a store that is not ours, or read-only, changes nothing
        self.store = JobStore(home / "jobs.sqlite")
        self.home = private_dir(home)
        self.results_dir = private_dir(self.home / "results")
        self.profiles = profiles or ProfileStore()
        self.owner = _owner_id()
        self._register()

        self._lock = threading.RLock()
        # Unfinished jobs now (recovery and the monitor need them); the finished history
        # in a thread (0.4-1 s for 100,000 jobs): calls needing every job wait for it.
        self._records: dict[str, JobRecord] = {
            r.id: r for r in self.store.records(states=[JobState.PENDING, JobState.RUNNING])
        }
        self._history = threading.Event()
        self._history_error: BaseException | None = None
        self._history_waiters: list[Callable[[], None]] = []
        threading.Thread(target=self._load_history, name="cw-history", daemon=True).start()
        self._stored_structures: set[str] = set()  # hashes this manager wrote to the store
        self._runners: dict[str, Runner] = {}
        self._subscribers: list[Callable[[Changes], None]] = []
        self._changed = threading.Condition(self._lock)
        self._closed = False
        self._seen_data_version = self.store.data_version()
        self._foreign_checked = time.time()
        self._progress_due = 0.0
        self._progress_seen: dict[str, tuple[str, int, float]] = {}
        # job id -> why its dead owner is gone (an ended allocation), told when it is orphaned
        self._gone_owner_notes: dict[str, str] = {}
        self._pump: EventPump[JobEvent] = EventPump(self._apply_events, self._poll_once, monitor_interval)
        self._recover()
        self._leftovers = self._stop_leftovers()

    # -- the finished jobs, loaded in a thread ---------------------------------

    def _load_history(self) -> None:
        try:
            loaded = self.store.records_apart()
        except BaseException as exc:  # noqa: BLE001 - told to every call that needs it
            self._history_error = exc
            log.exception("could not load the finished jobs of %s", self.store.path)
        else:
            with self._lock:
                for job_id, rec in self._records.items():
                    loaded[job_id] = rec  # newer than what was read; jobs added since go last
                self._records = loaded
        with self._lock:
            self._history.set()
            waiters, self._history_waiters = self._history_waiters, []
        for fn in waiters:
            try:
                fn()
            except Exception:
                log.exception("a callback waiting for the job history failed")

    @property
    def history_loaded(self) -> bool:
        """True once every job of the store is in memory (the finished ones load in a
        thread after :class:`JobManager` opens; :meth:`jobs` and the like wait for them)."""
        return self._history.is_set()

    def when_history_loaded(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once every job is in memory: now, or from the loading thread."""
        with self._lock:
            if not self._history.is_set():
                self._history_waiters.append(fn)
                return
        fn()

    def _all_jobs(self) -> None:
        """Wait (at most :data:`HISTORY_WAIT_S`) until every job of the store is in memory."""
        if not self._history.wait(HISTORY_WAIT_S):
            raise CrystalWidgetsError(
                f"the finished jobs of {self.store.path} are still loading after "
                f"{HISTORY_WAIT_S:.0f} s; retry, or check the disk the store is on"
            )
        if self._history_error is not None:
            raise CrystalWidgetsError(
                f"could not load the finished jobs: {self._history_error}; the unfinished ones are "
                "followed. Reopen the manager (JobManager()) to retry."
            ) from self._history_error

    @property
    def monitor_interval(self) -> float:
        """Seconds between liveness checks of what cannot call back (settable)."""
        return self._pump.interval

    @monitor_interval.setter
    def monitor_interval(self, seconds: float) -> None:
        self._pump.interval = seconds

    # -- public API ----------------------------------------------------------

    def submit(
        self,
        structure: Any,
        recipe: str | Callable[..., Any],
        profile: str = "local",
        *,
        label: str | None = None,
        **kwargs: Any,
    ) -> JobRecord:
        """Record a job and hand it to the profile's runner. Returns at once.

        Parameters
        ----------
        structure
            Anything :func:`crystalwidgets.load_structure` accepts (Atoms, pymatgen
            object, path, ...).
        recipe
            Short name (``"emt.relax_job"``), full dotted path, or a callable
            (e.g. your own quacc ``@job``).
        profile
            Name of a saved profile; ``"local"`` runs processes on this machine.
        label
            Free text kept with the job (shown in the table).
        **kwargs
            The recipe's parameters, validated against its signature first.

        Raises
        ------
        CrystalWidgetsError
            For an unknown recipe or profile, invalid parameters, an unreadable
            structure, a structure the recipe surely cannot handle
            (:class:`~crystalwidgets.errors.UnfitStructureError`: elements EMT lacks, no
            cell for a recipe that needs one), or (a VASP recipe) POTCARs that are missing
            or of another functional than the run's xc (:class:`RecipeValidationError`
            naming the field, as seen from this kernel's quacc settings): nothing is
            recorded then.

        Warns
        -----
        PotcarWarning
            For each POTCAR pymatgen does not know; the job is submitted.
        """
        return self.submit_many([(structure, kwargs)], recipe, profile, label=label)[0]

    def submit_many(
        self,
        jobs: Iterable[Any],
        recipe: str | Callable[..., Any],
        profile: str = "local",
        *,
        label: str | None = None,
        **kwargs: Any,
    ) -> list[JobRecord]:
        """Submit a batch of jobs of one recipe: all are checked first, then recorded at once.

        For sweeps: one store transaction for the whole batch, and a structure used
        by many jobs is read and checked once. Returns at once.

        Parameters
        ----------
        jobs
            Each item is a structure (anything :meth:`submit` accepts), a pair
            ``(structure, params)`` with that job's own parameters, or a triple
            ``(structure, params, label)`` with its own label too (what a sweep's point
            varies, as :func:`crystalwidgets.jobs.sweep.sweep_grid` makes them).
        recipe, profile, label
            As for :meth:`submit`, the same for every job (a job's own label wins).
        **kwargs
            Parameters common to every job (a job's own ``params`` win).

        Raises
        ------
        CrystalWidgetsError
            When any job is invalid, naming it (``job 3 of 10: ...``), or the
            profile cannot run jobs (:class:`ProfileError`, from the runner's
            preflight): then no job of the batch is recorded. When the engine fails
            to take a job after it was recorded, the job is ``failed`` with the
            reason and the error is raised after.

        Examples
        --------
        >>> mgr.submit_many([(cu, {"relax_cell": v}) for v in (False, True)], "emt.relax_job")
        >>> mgr.submit_many(structures, "emt.static_job", "cluster")
        """
        from ..recipes.catalogue import recipes
        from ..recipes.executables import missing_program
        from ..recipes.fit import structure_problems
        from ..structures.codec import structure_hash, structure_to_dict
        from ..structures.formula import reduced_formula
        from ..structures.io import load_structure
        from .task import encode_input, write_input

        no_params: dict[str, Any] = {}
        items = [
            item if isinstance(item, tuple) and len(item) == 3 and isinstance(item[1], Mapping)
            else (*item, None) if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Mapping)
            else (item, no_params, None)
            for item in jobs
        ]
        self._check_open("submit")
        info = recipes.resolve(recipe)
        prof = self.profiles.get(profile)
        runner = self._runner_for(prof)
        source = recipe if callable(recipe) else info.path
        records: list[JobRecord] = []
        inputs: list[bytes] = []
        structures: dict[str, dict[str, Any]] = {}
        # one structure object in many jobs is loaded, hashed and described once...
        loaded: dict[int, tuple[Any, str, str]] = {}
        payloads: dict[tuple[int, int], bytes] = {}  # ... and encoded once per params object
        vasp_checked: set[tuple[int, int]] = set()  # ... and its POTCARs checked once
        for i, (structure, params, job_label) in enumerate(items):
            try:
                cleaned = info.spec.validate({**kwargs, **params})
                if id(structure) not in loaded:
                    atoms = load_structure(structure)
                    formula = reduced_formula(atoms)
                    unfit = structure_problems(info.name, atoms, code=info.code)
                    if unfit:  # what surely fails when it runs (EMT's elements, a missing cell)
                        raise UnfitStructureError(info.name, unfit, formula)
                    loaded[id(structure)] = (atoms, structure_hash(atoms), formula)
                atoms, digest, formula = loaded[id(structure)]
                self._check_vasp(info, prof, atoms, cleaned, (id(structure), id(params)), vasp_checked)
            except CrystalWidgetsError as exc:
                if len(items) == 1:
                    raise
                raise CrystalWidgetsError(f"job {i + 1} of {len(items)}: {exc}") from exc
            if digest not in self._stored_structures:
                structures.setdefault(digest, structure_to_dict(atoms))
            job_id = new_job_id()
            now = time.time()
            records.append(
                JobRecord.create(
                    id=job_id,
                    recipe=info.name,
                    params=jsanitized(cleaned),
                    profile=prof.name,
                    runner=runner.kind,
                    state=JobState.PENDING,
                    created=now,
                    structure_hash=digest,
                    formula=formula,
                    n_atoms=len(atoms),
                    work_dir=str(self.results_dir / job_id),
                    owner=self.owner,
                    label=label if job_label is None else job_label,
                    last_checked=now,
                )
            )
            key = (id(structure), id(params))
            if key not in payloads:
                payloads[key] = encode_input(source, atoms, cleaned)
            inputs.append(payloads[key])
        # after the structures' and parameters' problems (fixable wherever it runs): the program
        if prof.runs_here and (missing := missing_program(info.name, code=info.code)):
            raise RecipeUnavailableError(f"{info.name} cannot run on profile {prof.name!r} (this machine): {missing}")
        runner.preflight()  # a profile that cannot run jobs is refused before anything is written
        try:
            for rec, payload in zip(records, inputs):
                write_input(Path(rec.work_dir), payload)
            self.store.insert(records, structures)
        except BaseException:
            for rec in records:
                shutil.rmtree(rec.work_dir, ignore_errors=True)
            raise
        self._stored_structures.update(structures)
        with self._lock:
            for rec in records:
                self._records[rec.id] = rec
        self._publish({rec.id: rec.to_dict() for rec in records})
        failed: list[tuple[JobRecord, Exception]] = []
        for rec in records:  # a refusing profile was refused by preflight, before recording
            try:
                runner.submit(Task(rec.id, Path(rec.work_dir)))
            except Exception as exc:
                # recorded, not lost: the job shows as failed with why
                self._post(JobEvent(rec.id, JobState.FAILED, {"error": f"submit failed: {exc}"}))
                failed.append((rec, exc))
        if failed:
            self._drain()
            rec, exc = failed[0]
            if len(records) == 1:
                raise exc
            raise CrystalWidgetsError(
                f"{len(failed)} of {len(records)} jobs failed at submit (recorded as failed); "
                f"{rec.short_id}: {exc}"
            ) from exc
        return [self._records[rec.id] for rec in records]

    @staticmethod
    def _check_vasp(
        info: Any, prof: Profile, atoms: Any, cleaned: dict[str, Any], key: tuple[int, int], done: set
    ) -> None:
        """Refuse a VASP job whose POTCARs are missing or of the wrong functional; warn of unknown ones.

        The library is the one the profile's workers get: its ``worker_init`` exports win.
        """
        from ..profiles.checks import worker_exports
        from ..vasp import checks_potcars, vasp_problems

        if key in done or not checks_potcars(info):
            return
        done.add(key)
        exports = worker_exports(getattr(prof, "worker_init", "") or "")
        where = f"the worker_init of profile {prof.name!r}"
        problems, notes = vasp_problems(info, atoms, cleaned, exports=exports, where=where)
        if problems:
            raise RecipeValidationError(info.name, problems)
        for field, message in notes:
            warnings.warn(PotcarWarning(f"{field}: {message}"), stacklevel=4)

    def resubmit(self, job_id: str, profile: str | None = None) -> JobRecord:
        """Submit again a job's recipe, structure and parameters (e.g. an orphaned one).

        They are read from the job's input file; when its work dir is gone, from what the
        store holds (the structure, the cleaned parameters and the recipe's name).

        Raises
        ------
        CrystalWidgetsError
            When neither has it, saying what is missing and how to submit it anew.
        """
        self._check_open("resubmit")
        old = self.get(job_id)
        return self._again(old, profile, None, {}, old.label)

    def continue_from(self, job_id: str, profile: str | None = None, **changes: Any) -> JobRecord:
        """A new job starting where a job stopped: its recipe and parameters (``changes``
        override some, e.g. ``opt_params={"max_steps": 2000}``) on its last structure.

        For a relaxation that did not converge (its steps are kept) or one that finished.
        The new job's label says which job it continues.

        Raises
        ------
        CrystalWidgetsError
            When the job left no structure to start from, saying why.
        """
        self._check_open("continue a job")
        old = self.get(job_id)
        try:
            atoms = self.structure(old.id, final=True)
        except CrystalWidgetsError as exc:
            raise CrystalWidgetsError(
                f"cannot continue job {old.short_id}: {exc}; resubmit it instead (mgr.resubmit)"
            ) from None
        return self._again(old, profile, atoms, changes, f"continued from {old.short_id}")

    def _again(
        self, old: JobRecord, profile: str | None, atoms: Any, changes: dict[str, Any], label: str | None
    ) -> JobRecord:
        stored_atoms, recipe, kwargs = self._inputs(old, need_atoms=atoms is None)
        atoms = stored_atoms if atoms is None else atoms
        return self.submit(atoms, recipe, profile or old.profile, label=label, **{**kwargs, **changes})

    def _inputs(self, old: JobRecord, need_atoms: bool = True) -> tuple[Any, Any, dict[str, Any]]:
        """A job's structure, recipe (dotted path or callable) and parameters, read from its
        input file; when its work dir is gone, from what the store holds."""
        import pickle

        from ..recipes import recipes
        from .task import INPUT

        try:
            with open(Path(old.work_dir or "") / INPUT, "rb") as fh:
                job = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError):
            pass
        else:
            return job["atoms"], job["recipe"], dict(job["kwargs"])
        gone = f"job {old.short_id}: its input file in {old.work_dir} is gone"
        if old.recipe not in recipes:
            raise CrystalWidgetsError(
                f"{gone}, and its recipe {old.recipe!r} is a function of your own, which the store "
                f"does not keep: submit it anew with mgr.submit(mgr.structure({old.short_id!r}), "
                "your_function, **params)"
            )
        atoms = self.structure(old.id) if need_atoms else None  # raises, naming the job, when the store lacks it
        return atoms, old.recipe, dict(old.params or {})

    def template(self, job_id: str) -> JobTemplate:
        """What a job ran: its structure, recipe, parameters and profile, to edit and submit
        again (the App's "Use as template" fills its form with it).

        Raises
        ------
        CrystalWidgetsError
            When neither the job's input file nor the store has them, saying what is missing.
        """
        old = self.get(job_id)
        atoms, recipe, kwargs = self._inputs(old)
        return JobTemplate(old.id, atoms, recipe, kwargs, old.profile)

    def cancel_many(self, job_ids: Iterable[str]) -> BulkReport:
        """Cancel several jobs; one job that cannot be cancelled does not stop the others.

        Returns
        -------
        BulkReport
            Per job what happened (``cancelled``, ``already finished``, ``refused``...);
            ``str(report)`` says it in one line: "cancelled 2; 1 had already finished".
        """
        from .actions import cancel_many

        self._check_open("cancel")
        return cancel_many(self, job_ids)

    def resubmit_many(self, job_ids: Iterable[str], profile: str | None = None) -> BulkReport:
        """:meth:`resubmit` each job (on ``profile``, else its own); a refused one does not
        stop the others. Returns a :class:`BulkReport` (its ``new_ids``: old id -> new id)."""
        from .actions import resubmit_many

        self._check_open("resubmit")
        return resubmit_many(self, job_ids, profile)

    def files(self, job_id: str) -> JobFiles:
        """The files of a job's work dir: list them, read one as text (the end of a big one),
        zip them (:class:`~crystalwidgets.jobs.workdir.JobFiles`); paths stay inside it."""
        rec = self.get(job_id)
        return JobFiles(rec.work_dir or "", rec.short_id)

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise CrystalWidgetsError(
                f"cannot {what}: this JobManager is closed (close() was called); create a new "
                "one with JobManager() (its jobs are in the store and come back with it)"
            )

    @functools.cached_property
    def recent_structures(self) -> Any:
        """The structures loaded into Apps on this store, newest first, across kernels
        (:class:`~crystalwidgets.jobs.recent.RecentStructures`)."""
        from .recent import RecentStructures

        return RecentStructures(self.store)

    def get(self, job_id: str) -> JobRecord:
        """The current record of a job (full id or a unique prefix such as the short id)."""
        if job_id not in self._records:
            self._all_jobs()  # an id prefix, or a finished job
        with self._lock:
            rec = self._records.get(job_id)
            if rec is None:
                matches = [i for i in self._records if i.startswith(job_id)] if job_id else []
                if len(matches) == 1:
                    rec = self._records[matches[0]]
                elif len(matches) > 1:
                    raise KeyError(f"job id {job_id!r} is ambiguous: give more characters")
        if rec is None:
            raise KeyError(f"no job {job_id!r} in the store {self.store.path}")
        return rec

    def jobs(
        self,
        state: JobState | str | Iterable[JobState | str] | None = None,
        *,
        recipe: str | None = None,
        profile: str | None = None,
    ) -> list[JobRecord]:
        """Records, oldest first, filtered by state(s), recipe and profile."""
        if isinstance(state, (str, JobState)):
            state = [state]
        states = None if state is None else {JobState(s) for s in state}
        if states is None or not states <= {JobState.PENDING, JobState.RUNNING}:
            self._all_jobs()
        with self._lock:
            recs = list(self._records.values())
        return [
            r
            for r in recs
            if (states is None or r.state in states)
            and (recipe is None or r.recipe == recipe)
            and (profile is None or r.profile == profile)
        ]

    def cancel(self, job_id: str) -> None:
        """Ask the job's runner to stop it for good; the state follows as an event."""
        self._check_open("cancel")
        rec = self.get(job_id)
        if rec.state.is_terminal:
            return
        if rec.owner != self.owner and _owner_alive(rec.owner, self.store.managers().get(rec.owner)):
            raise CrystalWidgetsError(
                f"job {rec.short_id} is followed by another kernel ({rec.owner}); cancel it there"
            )
        self._runner_for(self.profiles.get(rec.profile)).cancel(rec.id)

    def wait(self, job_ids: Iterable[str] | None = None, timeout: float = 600) -> list[JobRecord]:
        """Block until the jobs are terminal; for scripts and tests only.

        Raises
        ------
        TimeoutError
            After ``timeout`` seconds, naming the jobs not yet done and their states.
        """
        done = self._waiter(job_ids, timeout)
        on_loop = self._pump.on_loop_thread()
        while True:
            if on_loop:
                self._drain()  # the loop cannot run while we block it: apply events here
            left = done()
            if isinstance(left, list):
                return left
            if on_loop:
                self._pump.wakeup.wait(min(left, 0.05))
                self._pump.wakeup.clear()
            else:
                with self._changed:
                    self._changed.wait(min(left, 0.5))

    async def wait_async(
        self, job_ids: Iterable[str] | None = None, timeout: float = 600
    ) -> list[JobRecord]:
        """Like :meth:`wait`, but awaitable: the kernel stays free (``await mgr.wait_async()``).

        Raises
        ------
        TimeoutError
            After ``timeout`` seconds, naming the jobs not yet done and their states.
        """
        done = self._waiter(job_ids, timeout)
        while not isinstance(left := done(), list):
            await asyncio.sleep(min(left, 0.05))
        return left

    def _waiter(self, job_ids: Iterable[str] | None, timeout: float) -> Callable[[], Any]:
        """A check returning the records once all are terminal, else the seconds left.

        Raises TimeoutError (naming the jobs not done and their states) past the deadline.
        """
        if job_ids is None:
            self._all_jobs()
        ids = [self.get(i).id for i in job_ids] if job_ids is not None else list(self._records)
        deadline = time.monotonic() + timeout
        unfinished = collections.deque(ids)  # jobs end roughly in order: a check stops at
        # the first one still unfinished, so waiting for thousands costs little per change

        def check() -> list[JobRecord] | float:
            with self._lock:
                for _ in range(len(unfinished)):
                    if not self._records[unfinished[0]].state.is_terminal:
                        break
                    unfinished.popleft()
                if not unfinished:
                    return [self._records[i] for i in ids]
            left = deadline - time.monotonic()
            if left <= 0:
                recs = [self.get(i) for i in unfinished]
                todo = ", ".join(f"{r.short_id} {r.state}" for r in recs if not r.state.is_terminal)
                raise TimeoutError(f"jobs not finished after {timeout} s: {todo}")
            return left

        return check

    def subscribe(self, callback: Callable[[Changes], None]) -> Callable[[], None]:
        """Call ``callback(changes)`` with only what changed; returns an unsubscribe function.

        Callbacks run on the kernel's loop (or the manager's thread in a script).
        """
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def result(self, job_id: str) -> Any:
        """The full (JSON-decoded) result of a completed job, read from its work dir; for a
        relaxation that did not converge, the steps it made (``unconverged`` True)."""
        import json

        from .task import RESULT

        rec = self.get(job_id)
        path = Path(rec.work_dir or "") / RESULT
        kept = rec.state is JobState.FAILED and bool((rec.summary or {}).get("unconverged"))
        if (rec.state is not JobState.COMPLETED and not kept) or not path.exists():
            raise CrystalWidgetsError(f"job {rec.short_id} is {rec.state}: it has no result")
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)["result"]

    def structure(self, job_id: str, *, final: bool = False, results: bool = False) -> Any:
        """The job's input structure, or its final one (``final=True``) as ASE Atoms.

        With ``results`` (and ``final``), the final structure carries the calculator's
        results for it (energy, forces, stress... when the result has them) as a
        :class:`~ase.calculators.singlepoint.SinglePointCalculator`; read from the job's
        small final-structure file, never from its whole result on this thread.
        """
        from ..structures.codec import structure_from_dict

        rec = self.get(job_id)
        if not final:
            data = self.store.get_structure(rec.structure_hash or "")
            if data is None:
                raise CrystalWidgetsError(f"job {rec.short_id}: its input structure is not stored")
            return structure_from_dict(data)
        from monty.json import MontyDecoder

        from .final import ensure_final
        from .task import RESULT

        kept = rec.state is JobState.FAILED and bool((rec.summary or {}).get("unconverged"))
        if (rec.state is not JobState.COMPLETED and not kept) or not (Path(rec.work_dir or "") / RESULT).exists():
            raise CrystalWidgetsError(f"job {rec.short_id} is {rec.state}: it has no result")
        data = ensure_final(rec.work_dir, results=results)  # kilobytes, not the whole result
        if data.get("atoms") is None:
            raise CrystalWidgetsError(f"job {rec.short_id}: its result holds no final structure")
        atoms = MontyDecoder().process_decoded(data["atoms"])
        if results and data.get("results"):
            from .final import attach_results

            attach_results(atoms, data["results"])
        return atoms

    def frames(self, job_id: str) -> Any:
        """The steps of a relaxation or MD as :class:`~crystalwidgets.structures.trajectory.Frames`
        (positions, cells, energies and forces per step), or None for a job without them.

        Kept for a relaxation that stopped before converging too. Read from the job's small
        frames file (for a job that ended before it was written, made once from its result
        in a child process: seconds for a big one, so call it off the kernel's thread).
        """
        from .frames import ensure_frames

        rec = self.get(job_id)
        kept = rec.state is JobState.FAILED and bool((rec.summary or {}).get("unconverged"))
        if rec.state is not JobState.COMPLETED and not kept:
            return None
        return ensure_frames(rec.work_dir)

    def final_structure_ready(self, job_id: str) -> bool:
        """Whether :meth:`structure` (``final=True``) and :meth:`display_structure` answer at
        once; False for a job that ended before its final structure was kept apart from its
        result: then the first call reads the result in a child process (seconds for a big one)."""
        from .final import has_final

        return has_final(self.get(job_id).work_dir)

    def display_structure(self, job_id: str) -> tuple[Any, str | None, str | None]:
        """The structure to show for a job: ``(atoms, "final" | "input" | None, note)``.

        The final structure of a completed job, else its input structure; any failure to
        read one (a result without atoms, a damaged file) becomes the note instead of an
        error, so whoever shows it can still show the rest.
        """
        rec = self.get(job_id)
        note = None
        unconverged = rec.state is JobState.FAILED and bool((rec.summary or {}).get("unconverged"))
        if rec.state is JobState.COMPLETED or unconverged:
            try:
                last = "its last step: it did not converge" if unconverged else None
                return self.structure(rec.id, final=True), "final", last
            except Exception as exc:  # noqa: BLE001 - said in the note
                note = f"no final structure ({exc}); showing the input structure"
        try:
            return self.structure(rec.id), "input", note
        except Exception as exc:  # noqa: BLE001 - said in the note
            return None, None, f"no structure to show: {exc}"

    def to_dataframe(self) -> Any:
        """All jobs as a pandas DataFrame, one row per job, summary fields as columns."""
        import pandas as pd

        rows = []
        for r in self.jobs():
            s = r.summary or {}
            rows.append(
                {
                    "id": r.id,
                    "short_id": r.short_id,
                    "recipe": r.recipe,
                    "formula": s.get("formula") or r.formula,
                    "profile": r.profile,
                    "state": r.state.value,
                    "energy_ev": s.get("energy_ev"),
                    "max_force_ev_ang": s.get("max_force_ev_ang"),
                    "n_atoms": r.atom_count(s),
                    "converged": s.get("converged"),
                    "n_steps": s.get("n_steps"),
                    "wall_time_s": s.get("wall_time_s"),
                    "created": pd.to_datetime(r.created, unit="s"),
                    "finished": pd.to_datetime(r.finished, unit="s") if r.finished else pd.NaT,
                    "label": r.label,
                    "params": r.params,
                    "work_dir": r.work_dir,
                    "error": r.error,
                }
            )
        return pd.DataFrame(rows, columns=None if rows else ["id", "state"])

    def close(self) -> None:
        """Stop following jobs (they keep running) and release engine resources."""
        if self._closed:
            return
        self._closed = True
        self._pump.close()
        for runner in list(self._runners.values()):
            try:
                runner.shutdown()
            except Exception:
                log.exception("runner %s did not shut down cleanly", runner.kind)
        self._drain()
        # release what still runs: the next manager (this kernel's or another's) reattaches it
        mine = [r.id for r in self.jobs(state=[JobState.PENDING, JobState.RUNNING]) if r.owner == self.owner]
        try:
            self.store.update({job_id: {"owner": None} for job_id in mine})
        except Exception:
            log.exception("could not release unfinished jobs in the store")
        try:
            self.store.heartbeat(self.owner, closed=True)
        except Exception:
            log.exception("could not record this manager's close in the store")
        self._pump.shutdown()
        # the history's reading thread has a connection of its own: closed before this one, so
        # the store is checkpointed and its -wal/-shm files gone when close() returns
        if not self._history.wait(_HISTORY_CLOSE_WAIT_S):
            log.warning("the job history of %s was still being read at close", self.store.path)
        self.store.close()

    def __enter__(self) -> JobManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for r in self.jobs():
            counts[r.state.value] = counts.get(r.state.value, 0) + 1
        return f"JobManager({self.home}, {counts or 'no jobs'})"

    # -- runners -------------------------------------------------------------

    def runner(self, profile: str) -> Runner | None:
        """The live runner serving ``profile`` in this manager, or None when none was started."""
        with self._lock:
            return self._runners.get(profile)

    def _runner_for(self, profile: Profile) -> Runner:
        with self._lock:
            runner = self._runners.get(profile.name)
            if runner is None:
                cls = profile.runner_class()
                run_dir = private_dir(self.home / "runners" / profile.name)
                runner = cls(profile, self._post, run_dir)
                self._runners[profile.name] = runner
            return runner

    @staticmethod
    def _runner_classes() -> list[type]:
        """The runner class of every profile kind whose engine is installed, once each."""
        from ..profiles import profile_kinds

        classes: list[type] = []
        for kind in profile_kinds().values():
            try:
                cls = kind.runner_class()
            except ImportError:  # an engine that is not installed has left nothing
                continue
            if cls not in classes:
                classes.append(cls)
        return classes

    def _stop_leftovers(self) -> threading.Thread | None:
        """Let each runner stop, in a thread of its own, what engines of dead kernels left running."""
        runners_dir = self.home / "runners"
        if not runners_dir.is_dir():
            return None

        def work() -> None:
            for cls in self._runner_classes():
                try:
                    cls.stop_leftovers(runners_dir)
                except Exception:
                    log.warning("could not look for leftovers of %s", cls.__name__, exc_info=True)

        thread = threading.Thread(target=work, name="cw-leftovers", daemon=True)
        thread.start()
        return thread

    def leftover_blocks(self) -> list[dict[str, Any]]:
        """Batch jobs that engines of kernels that ended left in the scheduler.

        A kernel killed with its allocation (the Jupyter job's walltime ended) or on its own
        cannot cancel its Parsl blocks; they may still be finishing a job, so they are listed
        for the user to cancel (:meth:`cleanup_leftovers`, the ClusterPicker's "Cancel
        them") rather than cancelled unasked. Calls the scheduler (bounded): call it off the
        kernel's thread in widgets.

        Returns
        -------
        list of dict
            ``job_id``, ``name``, ``state``, ``reason``, ``profile`` and ``engine`` (the
            runner's kind) of each.
        """
        runners_dir = self.home / "runners"
        if not runners_dir.is_dir():
            return []
        out = []
        for cls in self._runner_classes():
            out += [{**block, "engine": cls.kind} for block in cls.leftover_blocks(runners_dir)]
        return out

    def cleanup_leftovers(self) -> list[str]:
        """Cancel the :meth:`leftover_blocks`; returns the batch job ids cancelled."""
        runners_dir = self.home / "runners"
        if not runners_dir.is_dir():
            return []
        cancelled: list[str] = []
        for cls in self._runner_classes():
            cancelled += cls.cleanup_leftovers(runners_dir)
        return cancelled

    def _register(self) -> None:
        """Record this manager in the store (host, pid, Slurm allocation) with a first heartbeat."""
        import psutil

        alloc = getattr(self.profiles, "allocation", None)
        now = time.time()
        me = psutil.Process()
        self.store.register_manager(
            ManagerRecord(
                self.owner, _owner_host(self.owner), me.pid, now, now,
                alloc.job_id if alloc else None, alloc.end if alloc else None,
            )
        )
        self._heartbeat_due = time.monotonic() + HEARTBEAT_S
        self.store.forget_managers(before=now - 7 * 86400)  # long gone and owning nothing

    def _beat(self) -> None:
        """Every :data:`HEARTBEAT_S`: say in the store that this manager lives (one small write)."""
        now = time.monotonic()
        if now >= self._heartbeat_due:
            self._heartbeat_due = now + HEARTBEAT_S
            self.store.heartbeat(self.owner)

    def _gone_note(self, manager: ManagerRecord | None) -> str | None:
        """Why a dead owner is gone, when it ran inside a Slurm allocation (else None)."""
        if manager is None or not manager.slurm_job_id:
            return None
        from ..profiles.allocation import ended_text

        return ended_text(
            manager.slurm_job_id, manager.host, alloc_end=manager.alloc_end, heartbeat=manager.heartbeat
        )

    def _recover(self) -> None:
        """Take over unfinished jobs whose manager is gone: recover, reattach or orphan.

        Owners on this host are judged by their process, on another host by their
        heartbeat in the store. Jobs orphaned because their kernel's Slurm allocation
        ended say so (which job, how and when it ended).
        """
        by_profile: dict[str, list[JobRecord]] = {}
        managers = self.store.managers()
        notes: dict[str, str | None] = {}
        for rec in self.jobs(state=[JobState.PENDING, JobState.RUNNING]):
            if rec.owner != self.owner and not _owner_alive(rec.owner, managers.get(rec.owner)):
                by_profile.setdefault(rec.profile, []).append(rec)
                if rec.owner not in notes:
                    notes[rec.owner] = self._gone_note(managers.get(rec.owner))
                if notes[rec.owner]:
                    self._gone_owner_notes[rec.id] = notes[rec.owner]
        for name, recs in by_profile.items():
            self.store.update({r.id: {"owner": self.owner} for r in recs})
            with self._lock:
                for r in recs:
                    self._records[r.id] = r.replace(owner=self.owner)
            try:
                runner = self._runner_for(self.profiles.get(name))
                runner.reattach(recs)
            except Exception as exc:
                for r in recs:
                    self._post(
                        JobEvent(r.id, JobState.ORPHANED, {"error": f"cannot reattach: {exc}"})
                    )
        self._drain()

    # -- events --------------------------------------------------------------

    def _post(self, event: JobEvent) -> None:
        """Thread-safe (the runners' emit): queue a runner event, applied soon."""
        self._pump.post(event)

    def _drain(self) -> None:
        """Apply every queued event now, in this thread."""
        self._pump.drain()

    def _apply_events(self, events: list[JobEvent]) -> None:
        """Apply a batch of runner events: store first, then cache, then subscribers.

        The store is written without holding the manager's lock, so engine threads
        posting events and readers of records never wait for the disk.
        """
        updates: dict[str, dict[str, Any]] = {}  # the store's: final values
        # the subscribers': a job's second state change in this batch opens the next
        # change set, so each transition is told, in order (running, then completed)
        told: list[dict[str, dict[str, Any]]] = [{}]
        new_records: dict[str, JobRecord] = {}
        for ev in events:
            rec = new_records.get(ev.job_id) or self._records.get(ev.job_id)
            if rec is None:
                continue
            fields = dict(ev.fields)
            if ev.state is JobState.ORPHANED and self._gone_owner_notes:
                note = self._gone_owner_notes.pop(ev.job_id, None)
                if note:  # e.g. "its kernel ran in Slurm job 123, which ended (CANCELLED) at ..."
                    fields["error"] = f"{note}: {fields.get('error') or 'orphaned'}"
            fields["last_checked"] = max(ev.at, rec.last_checked or 0)
            if ev.state is not None and ev.state != rec.state:
                if rec.state.is_terminal:
                    continue  # e.g. a late "running" after a cancel
                fields["state"] = ev.state
                if ev.state.is_terminal and not fields.get("finished"):
                    fields["finished"] = ev.at
            changed = {k: v for k, v in fields.items() if getattr(rec, k) != v}
            if not changed:
                continue
            new_records[ev.job_id] = rec.replace(**changed)
            updates.setdefault(ev.job_id, {}).update(changed)
            if "state" in changed and "state" in told[-1].get(ev.job_id, {}):
                told.append({})
            told[-1].setdefault(ev.job_id, {}).update(changed)
        if not updates:
            return
        try:
            self.store.update(updates)
        except Exception:
            log.exception("could not write job updates to the store")
        with self._lock:
            self._records.update(new_records)
            self._changed.notify_all()
        for changes in told:
            self._publish(
                {
                    job_id: {k: (v.value if isinstance(v, JobState) else v) for k, v in fields.items()}
                    for job_id, fields in changes.items()
                }
            )

    def _publish(self, changes: Changes) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(changes)
            except Exception:
                log.exception("job subscriber %r failed", callback)

    # -- monitoring ----------------------------------------------------------

    def _poll_once(self) -> None:
        """Runner liveness checks, this manager's heartbeat, and changes other kernels made."""
        try:
            self._beat()
        except Exception:
            log.exception("could not write this manager's heartbeat to the store")
        for runner in list(self._runners.values()):
            try:
                runner.poll()
            except Exception:
                log.exception("polling runner %s failed", runner.kind)
        self._check_progress()
        version = self.store.data_version()
        if version != self._seen_data_version:
            self._seen_data_version = version
            self._load_foreign_changes()

    def _check_progress(self) -> None:
        """Running relaxations and MD: steps, latest energy and max force, energy per step,
        read from the optimiser's log (see :mod:`.progress`) into the job's summary, every
        :data:`PROGRESS_S` seconds and only when the log grew. The outcome's summary
        replaces it when the job ends (a late progress event never overwrites it: it
        carries the RUNNING state, which a finished job ignores)."""
        now = time.monotonic()
        if now < self._progress_due:
            return
        self._progress_due = now + PROGRESS_S
        with self._lock:
            running = [(r.id, r.work_dir) for r in self._records.values() if r.state is JobState.RUNNING and r.work_dir]
        live = {job_id for job_id, _ in running}
        for job_id in [j for j in self._progress_seen if j not in live]:
            del self._progress_seen[job_id]
        for job_id, work_dir in running:
            log_path = find_log(work_dir)
            if log_path is None:
                continue
            try:
                st = log_path.stat()
            except OSError:
                continue
            key = (str(log_path), st.st_size, st.st_mtime)
            if self._progress_seen.get(job_id) == key:
                continue
            self._progress_seen[job_id] = key
            found = read_progress(work_dir, log_path)
            if found is not None:
                self._post(JobEvent(job_id, JobState.RUNNING, {"summary": found}))

    def _load_foreign_changes(self) -> None:
        """Pick up jobs other kernels added or changed (runs in the poll thread)."""
        since, self._foreign_checked = self._foreign_checked - 2.0, time.time()
        foreign = [
            rec
            for rec in self.store.records(updated_after=since)
            if rec.owner != self.owner and self._records.get(rec.id) != rec
        ]
        if foreign:
            self._pump.call_soon(self._apply_foreign, foreign, fallback=True)

    def _apply_foreign(self, foreign: list[JobRecord]) -> None:
        changes: Changes = {}
        with self._pump.exclusive():
            with self._lock:
                for rec in foreign:
                    old = self._records.get(rec.id)
                    self._records[rec.id] = rec
                    new = rec.to_dict()
                    changes[rec.id] = new if old is None else {
                        k: v for k, v in new.items() if getattr(old, k) != getattr(rec, k)
                    }
                self._changed.notify_all()
            self._publish(changes)
