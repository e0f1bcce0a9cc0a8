"""Owners on another host: told live or dead by their heartbeat in the store's managers table.

Another host cannot run here, so its manager is simulated by its owner record (an owner
id naming another host, and its row in the managers table); everything else is real:
a real job, a real store migrated from the schema the previous code wrote.
"""

from __future__ import annotations

import sqlite3
import time

import pytest
from ase.build import bulk

from crystalwidgets import JobManager, JobState
from crystalwidgets._procs import HEARTBEAT_EXPIRY_S, owner_alive
from crystalwidgets.errors import CrystalWidgetsError
from crystalwidgets.jobs import manager as manager_module
from crystalwidgets.jobs.store import _SCHEMA_V1, SCHEMA_VERSION, JobRecord, JobStore, ManagerRecord
from tests.helpers import close_and_kill, wait_until

OTHER = "login2"


def _other_owner(tag: str) -> str:
    return f"{OTHER}:4242:1700000000.000:{tag}"


def _manager_row(owner: str, age: float, **kw) -> ManagerRecord:
    now = time.time()
    return ManagerRecord(owner, OTHER, 4242, now - 3600, now - age, **kw)


def test_owner_alive_by_heartbeat():
    owner, now = _other_owner("a"), time.time()
    assert owner_alive(owner)  # the table was not read: cannot tell, counts as alive (as before)
    assert owner_alive(owner, _manager_row(owner, 5), now=now)
    assert not owner_alive(owner, _manager_row(owner, HEARTBEAT_EXPIRY_S + 1), now=now)  # 3 beats missed
    assert not owner_alive(owner, None, now=now)  # never recorded a heartbeat
    assert not owner_alive(owner, _manager_row(owner, 5)._replace(closed=now - 1), now=now)
    assert not owner_alive(owner, _manager_row(owner, 5, alloc_end=now - 1), now=now)  # walltime over


def test_migration_from_schema_1_keeps_every_row(tmp_path):
    path = tmp_path / "jobs.sqlite"
    conn = sqlite3.connect(path)  # what the previous code made: schema 1, WAL
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(_SCHEMA_V1)
    conn.execute("PRAGMA user_version=1")
    for i in range(3):
        conn.execute(
            "INSERT INTO jobs (id,recipe,params,profile,runner,state,created,owner,updated) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (f"{i:016x}", "emt.static_job", "{}", "local", "local", "completed", 1.0 + i, None, 2.0),
        )
    conn.execute("INSERT INTO structures VALUES ('h', '{}')")
    conn.commit()
    conn.close()

    store = JobStore(path)
    try:
        assert store._read("PRAGMA user_version")[0][0] == SCHEMA_VERSION == 4
        assert [r.id for r in store.records()] == [f"{i:016x}" for i in range(3)]
        assert {r.n_atoms for r in store.records()} == {None}  # not known for old jobs
        assert store.setting("table.columns") is None
        store.put_setting("table.columns", {"hidden": ["profile"]})
        assert store.setting("table.columns") == {"hidden": ["profile"]}
        assert store.get_structure("h") == {}
        assert store.managers() == {}
        store.register_manager(_manager_row("x:1:2:3", 0))
        assert set(store.managers()) == {"x:1:2:3"}
    finally:
        store.close()


def test_live_and_dead_owners_on_another_host(cw_home):
    first = JobManager(monitor_interval=0.5)
    try:
        done = first.submit(bulk("Cu"), "emt.static_job")
        first.wait([done.id], timeout=120)
    finally:
        close_and_kill(first)

    live, dead = _other_owner("live"), _other_owner("dead")
    store = JobStore(cw_home / "jobs.sqlite")
    now = time.time()
    # the finished job, as if a kernel on login2 that died had been following it
    store.update({done.id: {"state": JobState.RUNNING, "owner": dead, "finished": None}})
    base = dict(recipe="emt.static_job", params={}, profile="local", runner="local", created=now)
    followed = JobRecord.create(id="f" * 16, state=JobState.RUNNING, owner=live,
                                engine_ref={"pid": 4243, "create_time": now}, work_dir=str(cw_home), **base)
    lost = JobRecord.create(id="e" * 16, state=JobState.RUNNING, owner=dead,
                            engine_ref={"pid": 4244, "create_time": now}, work_dir=str(cw_home / "nowhere"), **base)
    store.insert([followed, lost])
    store.register_manager(_manager_row(live, 10))
    store.register_manager(_manager_row(dead, HEARTBEAT_EXPIRY_S + 30))
    store.close()

    mgr = JobManager(monitor_interval=0.5)
    try:
        # a fresh heartbeat: left to its owner on login2, and not cancellable from here
        assert mgr.get(followed.id).state is JobState.RUNNING and mgr.get(followed.id).owner == live
        with pytest.raises(CrystalWidgetsError, match="followed by another kernel"):
            mgr.cancel(followed.id)
        # an expired heartbeat: taken over; what finished is recovered...
        rec = mgr.get(done.id)
        assert rec.state is JobState.COMPLETED and rec.summary["energy_ev"] is not None
        # ...and a local process on the other host, which this host cannot watch, is orphaned
        rec = mgr.get(lost.id)
        assert rec.state is JobState.ORPHANED
        assert f"local process on {OTHER}" in rec.error and "cannot watch" in rec.error
        # this manager is in the table, with its host and a heartbeat
        me = mgr.store.managers()[mgr.owner]
        assert me.host == mgr.owner.split(":")[0] and me.closed is None
    finally:
        close_and_kill(mgr)


def test_monitor_writes_heartbeats_and_close_says_so(cw_home, monkeypatch):
    monkeypatch.setattr(manager_module, "HEARTBEAT_S", 0.2)
    mgr = JobManager(monitor_interval=0.1)
    try:
        first = mgr.store.managers()[mgr.owner].heartbeat
        wait_until(lambda: mgr.store.managers()[mgr.owner].heartbeat > first, 10, "a second heartbeat")
    finally:
        mgr.close()
    store = JobStore(cw_home / "jobs.sqlite")
    try:
        assert store.managers()[mgr.owner].closed is not None
    finally:
        store.close()
