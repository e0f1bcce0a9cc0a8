"""The durable job store: one SQLite file shared by every kernel of a user.

Jobs outlive kernels here. The file is private (0600, in a 0700 dir), its schema
version is recorded and migrated, and writes use short ``BEGIN IMMEDIATE``
transactions with a busy timeout so several kernels can share one store
without "database is locked" reaching the user. The journal mode follows the
filesystem (:mod:`.filesystem`): WAL on a local disk, the rollback journal on a network
filesystem, refused where locks do not reach other hosts. A table of managers (owner
id, host, pid, heartbeat, Slurm allocation) lets a kernel on another node tell a live
owner from a dead one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from .._files import private_dir
from ..errors import CrystalWidgetsError, ReadOnlyStoreError, StoreError
from ..states import JobState
from .filesystem import JournalChoice, Mount, UnsafeFilesystem, journal_for, mount_of

__all__ = ["JobRecord", "JobStore", "LoadedStructure", "ManagerRecord", "StoreError", "SCHEMA_VERSION"]

#: Version of the schema this code writes. Bump it and add to ``_MIGRATIONS``.
SCHEMA_VERSION = 4
_BUSY_TIMEOUT_S = 30.0
_LOCK_RETRIES = 5

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    recipe TEXT NOT NULL,
    params TEXT NOT NULL,
    structure_hash TEXT,
    formula TEXT,
    profile TEXT NOT NULL,
    runner TEXT NOT NULL,
    state TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    last_checked REAL,
    work_dir TEXT,
    error TEXT,
    summary TEXT,
    engine_ref TEXT,
    owner TEXT,
    label TEXT,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE INDEX IF NOT EXISTS jobs_updated ON jobs(updated);
CREATE TABLE IF NOT EXISTS structures (
    hash TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
"""

# v2: the managers using the store, so a kernel on another host tells a live one from a dead one
_MANAGERS_V2 = """
CREATE TABLE IF NOT EXISTS managers (
    owner TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started REAL NOT NULL,
    heartbeat REAL NOT NULL,
    slurm_job_id TEXT,
    alloc_end REAL,
    closed REAL
);
"""

# v3: the structures a user loaded (their data in ``structures``, by content hash)
_LOADED_V3 = """
CREATE TABLE IF NOT EXISTS loaded (
    hash TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    provenance TEXT NOT NULL,
    formula TEXT NOT NULL,
    n_atoms INTEGER NOT NULL,
    loaded REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS loaded_time ON loaded(loaded);
"""

# v4: each job's atom count (NULL for jobs of older stores: their summary's is used), and the
# user's settings of this store (the job table's columns), as JSON by key
_ATOMS_SETTINGS_V4 = """
ALTER TABLE jobs ADD COLUMN n_atoms INTEGER;
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

#: SQL turning schema version N into N + 1.
_MIGRATIONS: dict[int, str] = {0: _SCHEMA_V1, 1: _MANAGERS_V2, 2: _LOADED_V3, 3: _ATOMS_SETTINGS_V4}

_JSON_FIELDS = ("params", "summary", "engine_ref")


class _Row(NamedTuple):
    # column order of the jobs table; JSON columns hold text
    id: str
    recipe: str
    params_json: str
    profile: str
    runner: str
    state: JobState
    created: float
    structure_hash: str | None = None
    formula: str | None = None
    started: float | None = None
    finished: float | None = None
    last_checked: float | None = None
    work_dir: str | None = None
    error: str | None = None
    summary_json: str | None = None
    engine_ref_json: str | None = None
    owner: str | None = None
    label: str | None = None
    n_atoms: int | None = None


_COLUMNS = [name.removesuffix("_json") for name in _Row._fields]
_COLUMN_SET = frozenset(_COLUMNS)
_SELECT = f"SELECT {','.join(_COLUMNS)} FROM jobs"
_STATES = {s.value: s for s in JobState}


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _encode(name: str, value: Any) -> Any:
    if name in _JSON_FIELDS:
        return _dumps(value)
    if name == "state":
        return JobState(value).value
    return value


class JobRecord(_Row):
    """One job as stored. Immutable: :meth:`replace` makes an updated copy.

    ``params``, ``summary`` and ``engine_ref`` are kept as JSON text and decoded
    when read, so loading 100,000 records stays fast.

    Attributes
    ----------
    id : str
        Unique id (hex); the first 8 characters are shown as the short id.
    recipe : str
        Recipe name (short name, dotted path, or ``module.qualname`` of a callable).
    params : dict
        The recipe's keyword arguments as submitted (JSON-able form).
    profile, runner : str
        The profile the job was sent to and the kind of runner serving it.
    state : JobState
    created, started, finished, last_checked : float or None
        Epoch seconds. ``last_checked`` is when a runner last confirmed the job's state.
    structure_hash, formula : str or None
        Hash and reduced formula of the input structure.
    n_atoms : int or None
        Atoms in the input structure (None for jobs recorded before schema 4).
    work_dir : str or None
        Directory holding the job's input, outputs, logs and quacc's files.
    error : str or None
        Why the job failed or was orphaned (untrusted text: show as text).
    summary : dict or None
        Energies, forces, formula, ... of a finished job (see ``crystalwidgets.jobs.summary``).
    engine_ref : dict or None
        What the engine knows the job by: pid and start time, future key, Slurm job id.
    owner : str or None
        The manager (host:pid:start) holding the job's live handle.
    label : str or None
        Free text set by the user (e.g. a sweep's point).
    """

    __slots__ = ()

    @classmethod
    def create(cls, **fields: Any) -> JobRecord:
        """A record from field values (``params``, ``summary``, ``engine_ref`` as dicts)."""
        fields.setdefault("params", {})
        for name in _JSON_FIELDS:
            if name in fields:
                fields[f"{name}_json"] = _dumps(fields.pop(name))
        fields["state"] = JobState(fields["state"])
        return cls(**fields)

    @property
    def params(self) -> dict[str, Any]:
        return _loads(self.params_json)

    @property
    def summary(self) -> dict[str, Any] | None:
        return _loads(self.summary_json)

    @property
    def engine_ref(self) -> dict[str, Any] | None:
        return _loads(self.engine_ref_json)

    @property
    def short_id(self) -> str:
        """First 8 characters of the id, as shown in tables."""
        return self.id[:8]

    def atom_count(self, summary: Mapping[str, Any] | None = None) -> int | None:
        """Atoms in the job's structure: its input's count, else (a job recorded before schema
        4) its result's, from ``summary`` when given (the decoded :attr:`summary`)."""
        if self.n_atoms is not None:
            return self.n_atoms
        return ((self.summary if summary is None else summary) or {}).get("n_atoms")

    def replace(self, **changes: Any) -> JobRecord:
        """A copy with ``changes`` applied (same field names as :meth:`create`)."""
        for name in _JSON_FIELDS:
            if name in changes:
                changes[f"{name}_json"] = _dumps(changes.pop(name))
        if "state" in changes:
            changes["state"] = JobState(changes["state"])
        return self._replace(**changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every field (state as its string value)."""
        out = {name: getattr(self, name) for name in _COLUMNS}
        out["state"] = self.state.value
        return out

    def __repr__(self) -> str:
        return f"JobRecord({self.short_id} {self.recipe} {self.formula or '-'} {self.state.value})"


class LoadedStructure(NamedTuple):
    """A structure the user loaded (uploaded, pasted, built, searched), as the store keeps it.

    Attributes
    ----------
    hash : str
        Its content hash; the structure itself is in the store's structures, under it.
    label : str
        The name it was shown with (untrusted text: show as text).
    provenance : str
        Where it came from: ``upload: NaCl.cif``, ``paste``, ``built: strained 2 % from Cu``,
        ``optimade: mp mp-22862``, ``code``.
    formula : str
        Its chemical formula.
    n_atoms : int
        Its number of atoms.
    loaded : float
        When it was last loaded (epoch seconds).
    """

    hash: str
    label: str
    provenance: str
    formula: str
    n_atoms: int
    loaded: float


class ManagerRecord(NamedTuple):
    """A manager (a kernel's :class:`~crystalwidgets.JobManager`) using the store.

    Attributes
    ----------
    owner : str
        Its owner id (``host:pid:start:instance``), as in :attr:`JobRecord.owner`.
    host : str
        The host it runs on.
    pid : int
        Its process id there.
    started, heartbeat : float
        Epoch seconds: when it opened the store, when it last said it lives.
    slurm_job_id : str or None
        The Slurm job its kernel runs in, when inside an allocation.
    alloc_end : float or None
        When that allocation's walltime ends (epoch seconds), when known.
    closed : float or None
        When it closed cleanly (None while open, or when it died).
    """

    owner: str
    host: str
    pid: int
    started: float
    heartbeat: float
    slurm_job_id: str | None = None
    alloc_end: float | None = None
    closed: float | None = None


def _from_row(row: tuple, _make: Any = JobRecord._make) -> JobRecord:
    row = list(row)
    row[5] = _STATES[row[5]]
    return _make(row)


class JobStore:
    """SQLite job store.

    Parameters
    ----------
    path
        The database file. Its directory is created private (0700) if missing.
    mount
        The filesystem the file is on; default: read from ``/proc/self/mountinfo``
        (see :mod:`crystalwidgets.jobs.filesystem`). It decides the journal mode.

    Attributes
    ----------
    journal : JournalChoice
        The journal mode and ``synchronous`` level in use, and why.

    Raises
    ------
    ReadOnlyStoreError
        When the store can only be read here (the file read-only, its directory not
        writable, or a read-only mount): said at open, before anything is written.
    StoreError
        When the directory cannot be created, the file is not a crystalwidgets store
        (or not a database at all), it was written by a newer crystalwidgets, or it is
        on a filesystem whose locks do not reach other hosts. Nothing is created or
        changed then.
    """

    def __init__(self, path: str | os.PathLike, *, mount: Mount | None = None) -> None:
        self.path = Path(path).absolute()
        try:  # before anything is created: a refused store is left as it was
            self.journal: JournalChoice = journal_for(mount or mount_of(self.path), self.path)
        except UnsafeFilesystem as exc:
            raise StoreError(f"job store {self.path}: {exc} (nothing was created or changed)") from None
        self._refuse_read_only()  # before private_dir, which would chmod the directory
        try:
            private_dir(self.path.parent)
        except CrystalWidgetsError as exc:
            raise StoreError(f"job store {self.path}: {exc}") from None
        self._lock = threading.RLock()
        self._conn = self._open()

    # -- opening -------------------------------------------------------------

    def _fail(self, what: str, exc: BaseException | None = None) -> StoreError:
        detail = f" ({exc})" if exc else ""
        return StoreError(f"job store {self.path}: {what}{detail}")

    def _open(self) -> sqlite3.Connection:
        if not self.path.exists():
            try:  # create it private before sqlite does (sqlite copies its mode to -wal/-shm)
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                pass
            except OSError as exc:
                raise self._fail(
                    "cannot create the file; set CRYSTALWIDGETS_HOME to a writable directory",
                    exc,
                ) from None
        else:
            self._inspect()  # refuse a file that is not ours before changing anything in it
        if self.path.stat().st_mode & 0o077:
            os.chmod(self.path, 0o600)
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT_S,
                isolation_level=None,  # we issue BEGIN IMMEDIATE ourselves
                check_same_thread=False,
            )
            try:
                mode = conn.execute(f"PRAGMA journal_mode={self.journal.journal_mode}").fetchone()[0]
            except sqlite3.OperationalError as exc:  # another connection holds it in WAL mode
                if "locked" not in str(exc):
                    raise
                mode = "wal"
            if mode.upper() != self.journal.journal_mode:
                conn.close()
                raise StoreError(
                    f"job store {self.path}: could not switch its journal to "
                    f"{self.journal.journal_mode} ({self.journal.reason}); it stays {mode} while "
                    "another kernel has it open: close the other kernels and retry"
                )
            conn.execute(f"PRAGMA synchronous={self.journal.synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
            self._migrate(conn)
            self._probe_write(conn)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc):
                raise ReadOnlyStoreError(str(self.path), f"SQLite opened it read-only ({exc})") from None
            raise self._fail(
                "is not a crystalwidgets job store (or is damaged); move it aside "
                "and a new, empty store is created on the next start",
                exc,
            ) from None
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists() and side.stat().st_mode & 0o077:
                os.chmod(side, 0o600)
        return conn

    def _refuse_read_only(self) -> None:
        """Raise :class:`ReadOnlyStoreError` when the store exists here but cannot be written."""
        parent = self.path.parent
        if not parent.is_dir():
            return  # created below, or private_dir says why not
        try:
            mounted_ro = bool(os.statvfs(parent).f_flag & os.ST_RDONLY)
        except OSError:
            mounted_ro = False
        if mounted_ro:
            reason = f"the file system holding {parent} is mounted read-only"
        elif self.path.exists() and not os.access(self.path, os.W_OK):
            mode = self.path.stat().st_mode & 0o777
            reason = f"the file is read-only (mode {mode:04o}; chmod u+w makes it writable)"
        elif not os.access(parent, os.W_OK | os.X_OK):
            mode = parent.stat().st_mode & 0o777
            reason = (
                f"its directory {parent} is not writable (mode {mode:04o}), and SQLite writes "
                "its journal beside the file"
            )
        else:
            return
        if not self.path.exists():
            reason = f"it does not exist yet and cannot be created: {reason}"
        raise ReadOnlyStoreError(str(self.path), reason)

    @staticmethod
    def _probe_write(conn: sqlite3.Connection) -> None:
        # SQLite falls back to read-only without a word (and BEGIN IMMEDIATE still passes):
        # a write that touches no row fails here instead of at the first submit
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("UPDATE jobs SET id=id WHERE 0")
        finally:
            conn.execute("ROLLBACK")

    def _inspect(self) -> None:
        """Read an existing file without writing to it: refuse a newer schema or a foreign file."""
        from urllib.parse import quote

        try:
            conn = sqlite3.connect(f"file:{quote(str(self.path))}?mode=ro", uri=True, timeout=_BUSY_TIMEOUT_S)
        except sqlite3.Error:
            return  # cannot even be read: the normal open says why
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            if "unable to open" in str(exc) or "readonly" in str(exc):
                return  # a WAL store in a read-only place: the normal open says why
            raise self._fail(
                "is not a crystalwidgets job store (or is damaged); move it aside "
                "and a new, empty store is created on the next start (the file was not changed)",
                exc,
            ) from None
        finally:
            conn.close()
        if version > SCHEMA_VERSION:
            raise self._newer(version)
        if version == 0 and tables and "jobs" not in tables:
            raise self._fail(
                f"is not a crystalwidgets job store (it holds the tables {sorted(tables)}); move "
                "it aside or set CRYSTALWIDGETS_HOME elsewhere (the file was not changed)"
            )

    def _newer(self, version: int) -> StoreError:
        return StoreError(
            f"job store {self.path} has schema version {version}, written by a newer "
            f"crystalwidgets; this one knows up to {SCHEMA_VERSION}: upgrade crystalwidgets "
            "(the store was not changed)"
        )

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise self._newer(version)
        if version == 0:  # an existing non-empty file without our schema is not ours
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if tables and "jobs" not in tables:
                raise sqlite3.DatabaseError(f"unexpected tables {sorted(tables)}")
        while version < SCHEMA_VERSION:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # re-read under the write lock: another kernel may have migrated meanwhile
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version < SCHEMA_VERSION:
                    for stmt in _MIGRATIONS[version].split(";"):
                        if stmt.strip():
                            conn.execute(stmt)
                    version += 1
                    conn.execute(f"PRAGMA user_version={version}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # -- transactions --------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction, retried when another kernel holds the lock."""
        with self._lock:
            for attempt in range(_LOCK_RETRIES):
                try:
                    self._conn.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or attempt == _LOCK_RETRIES - 1:
                        raise self._fail(
                            "another process kept the store locked for too long; retry", exc
                        ) from None
                    time.sleep(0.05 * (attempt + 1))
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, tuple(args)).fetchall()

    # -- jobs ----------------------------------------------------------------

    def insert(
        self,
        records: JobRecord | Iterable[JobRecord],
        structures: Mapping[str, dict[str, Any]] | None = None,
    ) -> None:
        """Insert one record or many, and the structures they use, in one transaction.

        ``structures`` maps hashes to JSON-able structures (see :meth:`put_structure`).
        """
        if isinstance(records, JobRecord):
            records = [records]
        now = time.time()
        placeholders = ",".join("?" * (len(_COLUMNS) + 1))
        sql = f"INSERT INTO jobs ({','.join(_COLUMNS)},updated) VALUES ({placeholders})"
        with self._write() as conn:
            if structures:
                conn.executemany(_PUT_STRUCTURE, _structure_rows(structures))
            conn.executemany(sql, ((*r[:5], r.state.value, *r[6:], now) for r in records))

    def update(self, changes: Mapping[str, Mapping[str, Any]]) -> None:
        """Apply ``{job_id: {field: value}}`` in one transaction."""
        if not changes:
            return
        now = time.time()
        with self._write() as conn:
            for job_id, fields in changes.items():
                bad = set(fields) - _COLUMN_SET - {"id"}
                if bad or "id" in fields:
                    raise ValueError(f"not updatable record fields: {sorted(bad | {'id'} & set(fields))}")
                cols = [f"{name}=?" for name in fields]
                vals = [_encode(name, value) for name, value in fields.items()]
                conn.execute(
                    f"UPDATE jobs SET {','.join(cols)},updated=? WHERE id=?",
                    (*vals, now, job_id),
                )

    def get(self, job_id: str) -> JobRecord | None:
        """The record with id ``job_id``, or None."""
        rows = self._read(f"{_SELECT} WHERE id=?", (job_id,))
        return _from_row(rows[0]) if rows else None

    def find(self, prefix: str) -> list[str]:
        """Ids starting with ``prefix`` (to accept short ids)."""
        rows = self._read("SELECT id FROM jobs WHERE id >= ? AND id < ?", (prefix, prefix + "\uffff"))
        return [r[0] for r in rows]

    def records(
        self, *, states: Iterable[JobState | str] | None = None, updated_after: float | None = None
    ) -> list[JobRecord]:
        """Records in insertion order, optionally only those in ``states`` or updated after a time."""
        sql = _SELECT
        where, args = [], []
        if states is not None:
            states = [JobState(s).value for s in states]
            where.append(f"state IN ({','.join('?' * len(states))})")
            args += states
        if updated_after is not None:
            where.append("updated > ?")
            args.append(updated_after)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [_from_row(r) for r in self._read(sql + " ORDER BY rowid", args)]

    def records_apart(self) -> dict[str, JobRecord]:
        """Every record by id, in insertion order, read over a connection of its own.

        For a long read in another thread: the store's own connection and its lock stay
        free meanwhile, so no submit or update waits for it.
        """
        conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S)
        try:
            conn.execute("PRAGMA query_only=1")
            return {row[0]: _from_row(row) for row in conn.execute(_SELECT + " ORDER BY rowid")}
        except sqlite3.Error as exc:
            raise self._fail("could not read its jobs", exc) from None
        finally:
            conn.close()

    def count(self) -> int:
        """Number of jobs stored."""
        return self._read("SELECT count(*) FROM jobs")[0][0]

    def data_version(self) -> int:
        """Changes when another connection (another kernel) commits to the store."""
        return self._read("PRAGMA data_version")[0][0]

    # -- structures ----------------------------------------------------------

    def put_structure(self, digest: str, data: dict[str, Any]) -> None:
        """Keep a structure (JSON-able dict) under its hash; a no-op when already there."""
        with self._write() as conn:
            conn.executemany(_PUT_STRUCTURE, _structure_rows({digest: data}))

    def get_structure(self, digest: str) -> dict[str, Any] | None:
        """The structure stored under ``digest``, or None."""
        rows = self._read("SELECT data FROM structures WHERE hash=?", (digest,))
        return json.loads(rows[0][0]) if rows else None

    # -- loaded structures ---------------------------------------------------

    def remember_loaded(
        self, entries: Iterable[LoadedStructure], structures: Mapping[str, dict[str, Any]], keep: int
    ) -> None:
        """Record structures the user loaded (a structure loaded again moves to the top, keeping
        its first label and provenance) with their data, and keep only the newest ``keep``;
        one transaction. The data of one forgotten here is dropped unless a job uses it."""
        rows = list(entries)
        with self._write() as conn:
            conn.executemany(_PUT_STRUCTURE, _structure_rows(structures))
            conn.executemany(
                f"INSERT INTO loaded ({','.join(LoadedStructure._fields)}) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(hash) DO UPDATE SET loaded=max(loaded, excluded.loaded)",
                rows,
            )
            dropped = [r[0] for r in conn.execute("SELECT hash FROM loaded ORDER BY loaded DESC LIMIT -1 OFFSET ?", (keep,))]
            self._drop_loaded(conn, dropped)

    def loaded_structures(self, limit: int | None = None) -> list[LoadedStructure]:
        """The structures the user loaded, newest first (at most ``limit``)."""
        rows = self._read(
            f"SELECT {','.join(LoadedStructure._fields)} FROM loaded ORDER BY loaded DESC LIMIT ?",
            (-1 if limit is None else limit,),
        )
        return [LoadedStructure(*r) for r in rows]

    def forget_loaded(self, digests: Iterable[str]) -> None:
        """Take structures off the loaded list (their data stays while a job uses it)."""
        with self._write() as conn:
            self._drop_loaded(conn, list(digests))

    @staticmethod
    def _drop_loaded(conn: sqlite3.Connection, digests: list[str]) -> None:
        if not digests:
            return
        marks = ",".join("?" * len(digests))
        conn.execute(f"DELETE FROM loaded WHERE hash IN ({marks})", digests)
        conn.execute(  # jobs are never deleted: a hash a job uses stays, as managers cache it
            f"DELETE FROM structures WHERE hash IN ({marks}) AND hash NOT IN "
            "(SELECT structure_hash FROM jobs WHERE structure_hash IS NOT NULL)",
            digests,
        )

    # -- settings ------------------------------------------------------------

    def setting(self, key: str, default: Any = None) -> Any:
        """The setting ``key`` (a JSON value) saved on this store, or ``default``."""
        rows = self._read("SELECT value FROM settings WHERE key=?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def put_setting(self, key: str, value: Any) -> None:
        """Save the setting ``key`` (a JSON-able value; None removes it)."""
        with self._write() as conn:
            if value is None:
                conn.execute("DELETE FROM settings WHERE key=?", (key,))
            else:
                conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, _dumps(value)))

    # -- managers ------------------------------------------------------------

    def register_manager(self, manager: ManagerRecord) -> None:
        """Record (or replace) a manager using the store."""
        with self._write() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO managers ({','.join(ManagerRecord._fields)}) "
                f"VALUES ({','.join('?' * len(ManagerRecord._fields))})",
                tuple(manager),
            )

    def heartbeat(self, owner: str, at: float | None = None, *, closed: bool = False) -> None:
        """Say manager ``owner`` lives (at ``at``, default now); ``closed``: it closed cleanly."""
        at = time.time() if at is None else at
        with self._write() as conn:
            conn.execute(
                "UPDATE managers SET heartbeat=?, closed=? WHERE owner=?",
                (at, at if closed else None, owner),
            )

    def managers(self) -> dict[str, ManagerRecord]:
        """Every manager recorded, by owner id."""
        rows = self._read(f"SELECT {','.join(ManagerRecord._fields)} FROM managers")
        return {r[0]: ManagerRecord(*r) for r in rows}

    def forget_managers(self, before: float) -> None:
        """Drop the records of managers silent since before ``before`` that own no unfinished job."""
        with self._write() as conn:
            conn.execute(
                "DELETE FROM managers WHERE heartbeat < ? AND owner NOT IN "
                "(SELECT owner FROM jobs WHERE owner IS NOT NULL AND state IN ('pending','running'))",
                (before,),
            )

    def close(self) -> None:
        """Close the connection (the store stays on disk)."""
        with self._lock:
            self._conn.close()


_PUT_STRUCTURE = "INSERT OR IGNORE INTO structures (hash, data) VALUES (?, ?)"


def _structure_rows(structures: Mapping[str, dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for digest, data in structures.items():
        yield digest, json.dumps(data, separators=(",", ":"))
