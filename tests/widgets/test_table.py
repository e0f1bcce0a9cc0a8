"""JobTable, Python side: the snapshot, only changed rows sent, details, cancel, export.

What the kernel sends is read where it leaves the widget (its comm), so these tests see
every message and every synced-state update the browser would receive. The browser side
is tested in tests/browser/test_table.py.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import traitlets
from ase.build import bulk

from crystalwidgets import JobManager, JobState
from crystalwidgets.jobs.events import JobEvent
from crystalwidgets.jobs.store import JobRecord, JobStore
from crystalwidgets.widgets._messages import TABLE_FROM_BROWSER, TABLE_TO_BROWSER, Column, TableSpec
from crystalwidgets.widgets._table import COLUMNS, LAYOUT_SETTING, SORT_KEYS, SPEC, TABLE_COLUMNS, JobTable
from tests import jobfuncs
from tests.helpers import QUIET_S, close_and_kill, wait_until

XSS = "<img src=x onerror=alert(1)>"


def undeclared(message: dict, declared: dict[str, type]) -> str | None:
    """Why ``message`` is not the TypedDict its ``kind`` names in _messages, or None."""
    kind = message.get("kind")
    if kind not in declared:
        return f"undeclared kind {kind!r}"
    spec = declared[kind]
    keys = set(message)
    missing = spec.__required_keys__ - keys
    extra = keys - spec.__required_keys__ - spec.__optional_keys__
    if missing or extra:
        return f"{kind}: missing {sorted(missing)}, undeclared {sorted(extra)}"
    return None


class Wire:
    """Everything a widget publishes on its comm: custom messages and state updates.

    Every custom message must be the one _messages declares for its kind.
    """

    def __init__(self, widget: JobTable) -> None:
        self.messages: list[dict] = []
        self.updates: list[dict] = []
        self.undeclared: list[str] = []
        self.lock = threading.Lock()

        def publish(msg_type, data=None, metadata=None, buffers=None, **keys):
            json.dumps(data)  # what leaves the kernel must be JSON
            with self.lock:
                if data.get("method") == "custom":
                    self.messages.append(data["content"])
                    why = undeclared(data["content"], TABLE_TO_BROWSER)
                    if why:
                        self.undeclared.append(why)
                elif data.get("method") == "update":
                    self.updates.append(data["state"])

        widget.comm.publish_msg = publish

    def of_kind(self, kind: str) -> list[dict]:
        with self.lock:
            assert self.undeclared == []
            return [m for m in self.messages if m.get("kind") == kind]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.updates.clear()


def browser_says(table: JobTable, content: dict) -> None:
    """Deliver a custom message as the browser would (the comm's message handler)."""
    if content.get("kind") in TABLE_FROM_BROWSER:  # the tests also send what no browser sends
        assert undeclared(content, TABLE_FROM_BROWSER) is None
    table._handle_custom_msg(content, [])


def by_id(rows: list[list], job_id: str) -> dict:
    for row in rows:
        if row[0] == job_id:
            return dict(zip(COLUMNS, row))
    raise AssertionError(f"no row for {job_id}")


def seed(home, n: int) -> list[str]:
    """Records of finished jobs written straight into the store (a big history)."""
    store = JobStore(home / "jobs.sqlite")
    now = time.time()
    states = [JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED]
    records = [
        JobRecord.create(
            id=f"{i:016x}",
            recipe="emt.static_job" if i % 2 else "emt.relax_job",
            profile="local",
            runner="local",
            state=states[i % 3],
            created=now - 3600 + i,
            formula="Al" if i % 2 else "Cu",
            summary={"energy_ev": -0.01 * i, "max_force_ev_ang": 0.001 * i, "formula": "Cu"}
            if i % 3 == 0
            else None,
            error="Traceback ...\nRuntimeError: seeded" if i % 3 == 1 else None,
            label=f"point {i}",
            last_checked=now - 3600 + i,
        )
        for i in range(n)
    ]
    store.insert(records)
    store.close()
    return [r.id for r in records]


@pytest.fixture
def seeded(cw_home):
    """A manager over 300 stored jobs (its job processes are killed after the test)."""
    ids = seed(cw_home, 300)
    mgr = JobManager(monitor_interval=0.5)
    yield mgr, ids
    close_and_kill(mgr)


def rattled_cu():
    atoms = bulk("Cu", cubic=True) * (2, 2, 2)
    atoms.rattle(0.05, seed=3)
    return atoms


def test_snapshot_answers_the_request_with_every_job_as_compact_rows(seeded):
    mgr, ids = seeded
    table = JobTable(mgr)
    wire = Wire(table)
    assert wire.messages == []  # nothing is sent before a view asks

    browser_says(table, {"kind": "snapshot"})

    [snapshot] = wire.of_kind("snapshot")
    assert snapshot["columns"] == list(COLUMNS)
    assert [row[0] for row in snapshot["rows"]] == ids
    assert all(len(row) == len(COLUMNS) for row in snapshot["rows"])
    first = by_id(snapshot["rows"], ids[0])
    assert first["state"] == "completed" and first["energy_ev"] == 0.0 and first["formula"] == "Cu"
    failed = by_id(snapshot["rows"], ids[1])
    assert failed["state"] == "failed" and failed["error"] == "RuntimeError: seeded"
    assert failed["label"] == "point 1"
    assert abs(snapshot["now"] - time.time()) < 5
    # the rows never travel in synced state
    assert not any("rows" in json.dumps(update) for update in wire.updates)
    table.close()


def test_a_big_snapshot_is_built_off_the_kernels_thread_and_loses_no_change(seeded, monkeypatch):
    """Above SNAPSHOT_INLINE_JOBS jobs the kernel answers at once and sends the snapshot
    when a worker thread has built it; a job changed meanwhile follows it."""
    from crystalwidgets.widgets import _table

    mgr, ids = seeded
    monkeypatch.setattr(_table, "SNAPSHOT_INLINE_JOBS", 100)
    building, release = threading.Event(), threading.Event()
    build = JobTable._snapshot

    def slow(self):
        building.set()
        assert release.wait(60)
        return build(self)

    monkeypatch.setattr(JobTable, "_snapshot", slow)
    table = JobTable(mgr)
    wire = Wire(table)
    t0 = time.perf_counter()
    browser_says(table, {"kind": "snapshot"})
    assert time.perf_counter() - t0 < 0.1 and building.wait(10)
    browser_says(table, {"kind": "snapshot"})  # a second view asking meanwhile: one build
    assert wire.of_kind("snapshot") == []
    late = mgr.submit(bulk("Cu"), "emt.static_job", label="while building")
    mgr._drain()
    assert wire.of_kind("rows") == []  # held: the browser has no table to put it in yet
    release.set()

    wait_until(lambda: wire.of_kind("snapshot"), 10, "the snapshot")
    [snapshot] = wire.of_kind("snapshot")
    assert [row[0] for row in snapshot["rows"]][: len(ids)] == ids
    wait_until(lambda: wire.of_kind("rows"), 10, "the held change")
    with wire.lock:
        kinds = [m["kind"] for m in wire.messages]
    assert kinds.index("snapshot") < kinds.index("rows")
    assert late.id in {row[0] for m in wire.of_kind("rows") for row in m["rows"]}
    table.close()


def test_the_snapshot_carries_the_column_spec_the_browser_builds_its_table_from(seeded):
    mgr, _ids = seeded
    table = JobTable(mgr)
    wire = Wire(table)
    browser_says(table, {"kind": "snapshot"})

    [snapshot] = wire.of_kind("snapshot")
    spec = json.loads(json.dumps(snapshot["spec"]))  # as the browser receives it
    assert spec == SPEC
    assert set(spec) == TableSpec.__required_keys__
    assert all(set(column) == Column.__required_keys__ for column in spec["columns"])
    columns = spec["columns"]
    assert [c["label"] for c in columns] == [
        "", "ID", "Recipe", "Formula", "Atoms", "Label", "Profile", "State", "Energy (eV)", "Fmax (eV/Å)", "Steps",
        "Age", "Checked", "",
    ]
    # the sort keys, the values of sort_by, are the keys of the columns that sort
    assert [c["key"] for c in columns if c["sort"]] == list(SORT_KEYS)
    assert list(SORT_KEYS) == list(table.traits()["sort_by"].values)
    # every column shows a field of the row arrays (the select and actions columns none)
    assert all(c["field"] in snapshot["columns"] for c in columns if c["format"] not in ("select", "actions"))
    assert [c["format"] for c in columns if c["field"] is None] == ["select", "actions"]
    assert next(c for c in columns if c["key"] == "age")["field"] == "created"
    assert set(spec["text_fields"]) <= set(snapshot["columns"])
    assert spec["states"] == [s.value for s in JobState]
    assert spec["active_states"] == ["pending", "running"]
    # the grid: the widths the stylesheet used to keep, now from the spec
    assert sum(c["width"] for c in columns) == 1006 + 28 + 56  # + the checkboxes, the atom count
    # the Columns menu offers every column but the checkboxes and the buttons
    assert spec["choosable"] == [c["key"] for c in columns if c["format"] not in ("select", "actions")]
    assert spec["width_range"] == [24, 2000]
    assert [c["grow"] for c in columns if c["grow"]] == [1.5, 1, 1.2, 0.8]
    assert columns == list(TABLE_COLUMNS)
    table.close()


def test_a_column_must_show_a_row_field():
    from crystalwidgets.widgets._table import _column

    with pytest.raises(ValueError, match="column 'colour': 'colour' is not a row field"):
        _column("colour", "Colour", "text", 60)


def test_only_the_changed_rows_are_sent_one_message_per_batch(seeded):
    mgr, ids = seeded
    table = JobTable(mgr)
    wire = Wire(table)
    browser_says(table, {"kind": "snapshot"})
    batches: list[set[str]] = []
    mgr.subscribe(lambda changes: batches.append(set(changes)))
    wire.clear()

    job = mgr.submit(rattled_cu(), "emt.relax_job", label="live one")
    [done] = mgr.wait([job.id], timeout=180)
    assert done.state is JobState.COMPLETED, done.error
    wait_until(lambda: len(wire.of_kind("rows")) >= len(batches), 5, "the last rows message")

    updates = wire.of_kind("rows")
    assert [set(row[0] for row in m["rows"]) for m in updates] == batches
    assert all(m["rows"] and all(row[0] == job.id for row in m["rows"]) for m in updates)
    states = [by_id(m["rows"], job.id)["state"] for m in updates]
    assert states[0] == "pending" and states[-1] == "completed" and "running" in states
    last = by_id(updates[-1]["rows"], job.id)
    assert last["energy_ev"] == pytest.approx(done.summary["energy_ev"], abs=1e-6)
    assert last["max_force_ev_ang"] == pytest.approx(done.summary["max_force_ev_ang"], abs=1e-4)
    assert last["label"] == "live one" and last["formula"] == "Cu"
    assert wire.of_kind("snapshot") == []  # never the whole table again
    table.close()


def test_a_hundred_changes_in_one_drain_make_one_message_of_a_hundred_rows(seeded):
    mgr, ids = seeded
    table = JobTable(mgr)
    wire = Wire(table)
    browser_says(table, {"kind": "snapshot"})
    wire.clear()
    changed = ids[:100]
    at = time.time() + 1
    # a runner's poll reports 100 jobs at once; the manager drains them together (drains held
    # off until all are posted: the manager's lock alone let a drain take the first alone)
    with mgr._pump.exclusive():
        for job_id in changed:
            mgr._post(JobEvent(job_id, fields={"last_checked": at}, at=at))
    wait_until(lambda: wire.of_kind("rows"), 5, "the rows message")
    time.sleep(QUIET_S)  # no second message follows
    [message] = wire.of_kind("rows")
    assert sorted(row[0] for row in message["rows"]) == sorted(changed)
    assert all(row[COLUMNS.index("last_checked")] == round(at, 3) for row in message["rows"])
    snapshot_size = len(json.dumps({"rows": table._rows()}))
    assert len(json.dumps(message)) < snapshot_size / 2  # 100 of 300 rows, not the table
    table.close()


def test_details_of_a_relaxation_carry_the_energies_and_show_the_final_structure(manager):
    table = JobTable(manager)
    wire = Wire(table)
    browser_says(table, {"kind": "snapshot"})
    atoms = rattled_cu()
    job = manager.submit(atoms, "emt.relax_job", relax_cell=False)
    [done] = manager.wait([job.id], timeout=180)
    assert done.state is JobState.COMPLETED, done.error

    table.show_details(job.short_id)

    assert table.details_id == job.id
    details = wire.of_kind("details")[-1]
    assert details["id"] == job.id and details["state"] == "completed"
    assert details["params"] == {"relax_cell": False}
    assert details["work_dir"] == done.work_dir
    energies = details["summary"]["energies_ev"]
    assert len(energies) >= 3 and energies[-1] < energies[0]
    assert details["structure"] == "final"
    final = manager.structure(job.id, final=True)
    assert table.viewer is not None
    assert (table.viewer.structure.positions == final.positions).all()
    assert not (final.positions == atoms.positions).all()  # the relaxed one, not the input
    # the viewer travels as a widget reference, the details as one message
    assert any(str(u.get("viewer", "")).startswith("anywidget:") for u in wire.updates)
    table.close()
    assert table.viewer.comm is None  # closed with the table


def test_details_of_a_result_without_atoms_fall_back_to_the_input_structure(manager):
    table = JobTable(manager)
    wire = Wire(table)
    browser_says(table, {"kind": "snapshot"})
    job = manager.submit(bulk("Cu"), jobfuncs.scaled_volume_job, factor=2.0)
    [done] = manager.wait([job.id], timeout=120)
    assert done.state is JobState.COMPLETED, done.error

    table.details_id = job.id

    details = wire.of_kind("details")[-1]
    assert details["structure"] == "input"
    assert details["structure_note"].startswith("no final structure (")
    assert len(table.viewer.structure) == 1
    table.close()


def test_details_follow_state_changes_but_not_liveness_checks(manager, tmp_path):
    table = JobTable(manager)
    wire = Wire(table)
    browser_says(table, {"kind": "snapshot"})
    marker = tmp_path / "started"
    job = manager.submit(bulk("Cu"), jobfuncs.sleeping_job, seconds=60, marker=str(marker))
    table.details_id = job.id
    wait_until(lambda: manager.get(job.id).state is JobState.RUNNING, 60, "the job to run")
    wait_until(lambda: wire.of_kind("details"), 5, "the details")
    time.sleep(QUIET_S)  # the running job's details have arrived (here two threads may send them)
    sent = len(wire.of_kind("details"))
    assert wire.of_kind("details")[-1]["structure"] == "input"
    # liveness checks every 0.5 s update the row but do not resend the details
    checked = manager.get(job.id).last_checked
    wait_until(lambda: manager.get(job.id).last_checked > checked + 1, 10, "two liveness checks")
    assert len(wire.of_kind("details")) == sent

    browser_says(table, {"kind": "cancel", "id": job.id})
    wait_until(lambda: manager.get(job.id).state is JobState.CANCELLED, 30, "the cancel")
    wait_until(lambda: wire.of_kind("details")[-1]["state"] == "cancelled", 5, "new details")
    table.close()


def test_cancel_from_the_browser_stops_a_running_job(manager, tmp_path):
    table = JobTable(manager)
    wire = Wire(table)
    browser_says(table, {"kind": "snapshot"})
    marker = tmp_path / "started"
    job = manager.submit(bulk("Cu"), jobfuncs.sleeping_job, seconds=60, marker=str(marker))
    wait_until(marker.exists, 60, "the job to start")

    browser_says(table, {"kind": "cancel", "id": job.id})

    wait_until(lambda: manager.get(job.id).state is JobState.CANCELLED, 30, "the job to be cancelled")
    wait_until(
        lambda: any(by_id(m["rows"], job.id)["state"] == "cancelled" for m in wire.of_kind("rows")),
        5,
        "a cancelled row",
    )
    assert wire.of_kind("error") == []
    table.close()


def test_failed_job_error_is_sent_as_plain_text(manager):
    table = JobTable(manager)
    wire = Wire(table)
    browser_says(table, {"kind": "snapshot"})
    job = manager.submit(bulk("Cu"), jobfuncs.failing_job, message=XSS)
    [done] = manager.wait([job.id], timeout=120)
    assert done.state is JobState.FAILED

    row = by_id(wire.of_kind("rows")[-1]["rows"], job.id)
    assert row["error"] == f"RuntimeError: {XSS}"  # untouched text; the browser shows it as text
    table.details_id = job.id
    details = wire.of_kind("details")[-1]
    assert XSS in details["error"] and "Traceback" in details["error"]
    table.close()


def test_export_applies_the_current_filters(seeded):
    mgr, ids = seeded
    table = JobTable(mgr, sort_descending=True)  # by age, descending: the oldest first
    assert len(table.to_dataframe()) == len(ids)

    table.filter_state = "failed"
    frame = table.to_dataframe()
    assert len(frame) == 100 and set(frame["state"]) == {"failed"}

    table.filter_recipe = "emt.relax_job"
    frame = table.to_dataframe()
    assert set(frame["recipe"]) == {"emt.relax_job"} and set(frame["state"]) == {"failed"}
    assert len(frame) == 50

    table.filter_state = ""
    table.filter_recipe = ""
    table.filter_text = "POINT 12"  # case-insensitive, every word must occur
    frame = table.to_dataframe()
    # "point" is in every label; "12" in some labels and in some (hex) ids
    expected = [job_id for i, job_id in enumerate(ids) if "12" in f"point {i}" or "12" in job_id]
    assert list(frame["id"]) == expected and len(expected) > 14

    table.filter_text = "static 0000000000000011"  # words may hit different fields
    assert list(table.to_dataframe()["id"]) == [ids[0x11]]

    table.filter_text = ""
    table.filter_profile = "elsewhere"
    assert len(table.to_dataframe()) == 0
    table.close()


def test_bad_input_is_refused_with_the_field_and_the_fix(seeded):
    mgr, ids = seeded
    with pytest.raises(TypeError, match="manager: expected a crystalwidgets.JobManager"):
        JobTable(None)
    table = JobTable(mgr)
    assert table.stale_after == pytest.approx(3 * mgr.monitor_interval)
    with pytest.raises(traitlets.TraitError, match="filter_state: 'done' is not a job state"):
        table.filter_state = "done"
    with pytest.raises(traitlets.TraitError, match="details_id: no job 'nope'"):
        table.details_id = "nope"
    with pytest.raises(traitlets.TraitError, match="sort_by"):
        table.sort_by = "colour"

    wire = Wire(table)
    browser_says(table, {"kind": "shutdown"})
    browser_says(table, {"kind": "cancel", "id": "nope"})
    first, second = wire.of_kind("error")
    assert "cannot handle a message of kind 'shutdown'" in first["message"]
    assert second["id"] == "nope" and "cannot cancel: no job 'nope'" in second["message"]
    browser_says(table, {"kind": "cancel", "id": ids[0]})  # finished: nothing to do, no error
    assert len(wire.of_kind("error")) == 2
    table.close()


def test_the_atom_count_column_tells_cu32_from_cu864_and_falls_back_to_the_result(seeded):
    mgr, ids = seeded
    small, big = mgr.submit_many(
        [bulk("Cu", cubic=True) * (2, 2, 2), bulk("Cu", cubic=True) * (6, 6, 6)], "emt.static_job", profile="local"
    )
    other = JobStore(mgr.store.path)  # as another kernel writes: the manager reads it on its tick
    other.update({ids[3]: {"summary": {"energy_ev": -1.0, "n_atoms": 7, "formula": "Cu"}}})
    other.close()
    wait_until(lambda: (mgr.get(ids[3]).summary or {}).get("n_atoms") == 7, 10, "the manager to read the change")
    table = JobTable(mgr)
    wire = Wire(table)
    browser_says(table, {"kind": "snapshot"})
    [snapshot] = wire.of_kind("snapshot")
    rows = snapshot["rows"]
    # both are "Cu": the count tells them apart, from submit on (before any result)
    assert by_id(rows, small.id)["formula"] == by_id(rows, big.id)["formula"] == "Cu"
    assert by_id(rows, small.id)["n_atoms"] == 32 and by_id(rows, big.id)["n_atoms"] == 864
    assert by_id(rows, ids[3])["n_atoms"] == 7  # a job of an older store: its result's count
    assert by_id(rows, ids[1])["n_atoms"] is None  # neither known: an empty cell
    frame = table.to_dataframe().set_index("id")
    assert frame.loc[big.id, "n_atoms"] == 864
    table.close()


def test_hidden_columns_and_widths_are_checked_and_kept_on_the_store_for_the_next_table(seeded):
    mgr, _ids = seeded
    table = JobTable(mgr)
    assert table.hidden_columns == [] and table.column_widths == {}
    # as the browser sets them (a comm state update), in any order, with repeats
    table.set_state({"hidden_columns": ["last_checked", "profile", "profile"], "column_widths": {"label": 260}})
    assert table.hidden_columns == ["profile", "last_checked"]  # the table's order, once each
    with pytest.raises(traitlets.TraitError, match=r"hidden_columns: 'colour' is not a column that can be hidden; use some of id, recipe"):
        table.hidden_columns = ["colour"]
    with pytest.raises(traitlets.TraitError, match=r"hidden_columns: 'select' is not a column"):
        table.hidden_columns = ["select"]  # the checkboxes stay: the bulk actions need them
    with pytest.raises(traitlets.TraitError, match=r"column_widths\['label'\]: 5 px is outside 24-2000 px"):
        table.column_widths = {"label": 5}
    with pytest.raises(traitlets.TraitError, match="column_widths: 'colour' is not a column"):
        table.column_widths = {"colour": 100}
    assert table.hidden_columns == ["profile", "last_checked"] and table.column_widths == {"label": 260}
    table.close()

    # the next table on this store (another kernel: a new manager) opens the same way
    again = JobTable(JobManager(monitor_interval=0.5))
    try:
        assert again.hidden_columns == ["profile", "last_checked"] and again.column_widths == {"label": 260}
        again.hidden_columns = []
    finally:
        again.close()
        close_and_kill(again.manager)
    assert JobTable(mgr).hidden_columns == []

    # what another version saved, unknown here, is dropped, not an error
    mgr.store.put_setting(LAYOUT_SETTING, {"hidden_columns": ["colour", "age"], "column_widths": {"old": 90, "id": 1e9, "recipe": 150}})
    newer = JobTable(mgr)
    assert newer.hidden_columns == ["age"] and newer.column_widths == {"recipe": 150}
    newer.close()


def test_a_closed_table_stops_following_the_manager(seeded):
    mgr, ids = seeded
    table = JobTable(mgr)
    browser_says(table, {"kind": "snapshot"})
    calls = []
    table._row = lambda rec: calls.append(rec.id)  # would run for every change it followed
    table.close()
    job = mgr.submit(bulk("Cu"), "emt.static_job")
    mgr.wait([job.id], timeout=120)
    time.sleep(QUIET_S)  # the job's changes would have reached a table that still listened
    assert calls == []
