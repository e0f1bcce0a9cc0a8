"""The SQLite job store: privacy, schema versions, several writers, speed sanity."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from crystalwidgets import JobState
from crystalwidgets.errors import StoreError
from crystalwidgets.jobs.store import SCHEMA_VERSION, JobRecord, JobStore


def _rec(i: int, **kw) -> JobRecord:
    base = dict(
        id=f"{i:016x}",
        recipe="emt.relax_job",
        params={"relax_cell": False},
        profile="local",
        runner="local",
        state=JobState.PENDING,
        created=time.time(),
    )
    base.update(kw)
    return JobRecord.create(**base)


def test_round_trip_and_update(tmp_path):
    store = JobStore(tmp_path / "s" / "jobs.sqlite")
    rec = _rec(1, summary=None, engine_ref={"pid": 1})
    store.insert(rec)
    assert store.get(rec.id) == rec
    store.update({rec.id: {"state": JobState.COMPLETED, "summary": {"energy_ev": -1.5}}})
    got = store.get(rec.id)
    assert got.state is JobState.COMPLETED and got.summary == {"energy_ev": -1.5}
    assert store.find(rec.id[:8]) == [rec.id]
    assert [r.id for r in store.records(states=["completed"])] == [rec.id]
    with pytest.raises(ValueError, match="not updatable"):
        store.update({rec.id: {"bogus": 1}})


def test_files_are_private(tmp_path):
    store = JobStore(tmp_path / "private" / "jobs.sqlite")
    store.insert(_rec(1))
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o700
    for f in (tmp_path / "private").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_newer_schema_is_a_clear_error_and_untouched(tmp_path):
    path = tmp_path / "jobs.sqlite"
    JobStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer crystalwidgets.*upgrade"):
        JobStore(path)
    assert path.read_bytes() == before


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "jobs.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a crystalwidgets job store.*move it aside"):
        JobStore(path)
    assert path.read_bytes() == b"this is not a database" * 100


@pytest.mark.parametrize("case", ["foreign", "newer"])
def test_a_file_that_is_not_ours_is_refused_before_anything_changes(tmp_path, case):
    """Not switched to WAL, not chmod'ed, no -wal/-shm beside it: untouched."""
    path = tmp_path / "jobs.sqlite"
    conn = sqlite3.connect(path)  # rollback journal, as another program leaves it
    conn.execute("CREATE TABLE other (x)" if case == "foreign" else "CREATE TABLE jobs (id TEXT)")
    if case == "newer":
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    os.chmod(path, 0o644)
    before = path.read_bytes()
    match = "not a crystalwidgets job store.*not changed" if case == "foreign" else "newer crystalwidgets.*not changed"
    with pytest.raises(StoreError, match=match):
        JobStore(path)
    assert path.read_bytes() == before
    assert path.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs.sqlite"]


def test_foreign_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "jobs.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a crystalwidgets job store"):
        JobStore(path)


def test_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="CRYSTALWIDGETS_HOME"):
        JobStore(blocker / "jobs.sqlite")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_read_only_dir_is_a_clear_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    try:
        with pytest.raises(StoreError, match="CRYSTALWIDGETS_HOME"):
            JobStore(ro / "jobs.sqlite")
    finally:
        ro.chmod(0o700)


WRITER = textwrap.dedent(
    """
    import sys, time
    from crystalwidgets.jobs.store import JobStore, JobRecord
    from crystalwidgets import JobState
    store = JobStore(sys.argv[1])
    tag = sys.argv[2]
    for i in range(300):
        rid = f"{tag}{i:012d}"
        store.insert(JobRecord.create(id=rid, recipe="r", params={}, profile="local", runner="local",
                               state=JobState.PENDING, created=time.time()))
        store.update({rid: {"state": JobState.RUNNING, "last_checked": time.time()}})
    print("ok")
    """
)


def test_several_processes_share_one_store(tmp_path):
    path = tmp_path / "jobs.sqlite"
    JobStore(path).close()
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for tag in ("aaaa", "bbbb", "cccc")
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and "locked" not in err, err
    store = JobStore(path)
    assert store.count() == 900
    assert {r.state for r in store.records()} == {JobState.RUNNING}
