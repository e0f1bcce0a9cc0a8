"""JobTable exports what it shows: its filter and its sort, from Python (to_csv, to_ase_db,
to_extxyz, to_dataframe) and from the toolbar's Export buttons (an "export" message, the
file built in a worker thread and sent back). The sort rule exists in Python and in the
browser (js/table/columns.js): here both sort the same rows, every column both ways. The
Export button itself is clicked in tests/browser/test_table_export.py."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import time
from typing import get_args

import ase.db
import ase.io
import numpy as np
import pytest
from ase.build import bulk

from crystalwidgets import JobManager, JobState
from crystalwidgets.errors import ExportError
from crystalwidgets.jobs.store import JobRecord, JobStore
from crystalwidgets.widgets import _table
from crystalwidgets.widgets._messages import ExportFormat
from crystalwidgets.widgets._table import COLUMNS, SORT_KEYS, SPEC, JobTable
from tests import jobfuncs
from tests.helpers import ROOT, close_and_kill, wait_until
from tests.widgets.test_table import Wire, browser_says

STATES = [JobState.COMPLETED, JobState.FAILED, JobState.RUNNING, JobState.PENDING, JobState.CANCELLED]


def seed_ties(home, n: int = 120) -> list[str]:
    """Stored jobs with ties everywhere the sort looks (same creation times, energies,
    formulas; missing values), so the tie-breaks and None-last decide many places."""
    store = JobStore(home / "jobs.sqlite")
    now = time.time()
    records = [
        JobRecord.create(
            id=f"{(i * 7919) % 1000:04x}{i:012x}",  # ids not in creation order
            recipe=["emt.static_job", "emt.relax_job", "tests.jobfuncs.schema_job"][i % 3],
            profile="local" if i % 4 else "cluster",
            runner="local",
            state=STATES[i % 5],
            created=now - 600 + i // 3,  # three jobs per second
            formula=[None, "Cu", "Al", "NaCl"][i % 4],
            summary={"energy_ev": -0.5 * (i % 6), "max_force_ev_ang": 0.01 * (i % 5), "n_steps": i % 7}
            if i % 3
            else None,
            label=f"point {i}",
            last_checked=None if i % 5 else now - i,
        )
        for i in range(n)
    ]
    store.insert(records)
    store.close()
    return [r.id for r in records]


@pytest.fixture
def ties(cw_home):
    ids = seed_ties(cw_home)
    mgr = JobManager(monitor_interval=0.5)
    yield mgr, ids
    close_and_kill(mgr)


BROWSER_SORT = """
import { readFileSync } from "node:fs";
import { comparator, compileSpec } from "%s";
const { columns, spec, rows, cases } = JSON.parse(readFileSync(0, "utf8"));
const compiled = compileSpec(columns, spec);
const id = compiled.fields.id;
const orders = cases.map(([key, descending]) =>
  [...rows].sort(comparator(compiled, key, descending)).map((row) => row[id]),
);
process.stdout.write(JSON.stringify(orders));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node (the JS build's) is not installed")
def test_python_sorts_the_rows_as_the_browser_does_every_column_both_ways(ties, tmp_path):
    mgr, _ = ties
    table = JobTable(mgr)
    rows = table._rows()
    cases = [(key, descending) for key in SORT_KEYS for descending in (False, True)]
    script = tmp_path / "sort.mjs"
    script.write_text(BROWSER_SORT % (ROOT / "js" / "table" / "columns.js").as_uri())
    payload = json.dumps({"columns": list(COLUMNS), "spec": SPEC, "rows": rows, "cases": cases})
    proc = subprocess.run(["node", str(script)], input=payload, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    browser = json.loads(proc.stdout)
    assert len(browser) == len(cases) == 2 * len(SORT_KEYS)
    for (key, descending), order in zip(cases, browser):
        table.sort_by, table.sort_descending = key, descending
        assert table._shown_ids() == order, f"sort_by={key!r} descending={descending}"
        assert list(table.to_dataframe()["id"]) == order
    table.close()


def test_to_dataframe_follows_the_filter_and_the_sort(ties):
    mgr, ids = ties
    table = JobTable(mgr, filter_profile="local", sort_by="energy_ev", sort_descending=True)
    frame = table.to_dataframe()
    assert set(frame["profile"]) == {"local"} and len(frame) == sum(1 for i in range(120) if i % 4)
    energies = list(frame["energy_ev"])
    known = [e for e in energies if e == e and e is not None]  # NaN: no energy
    assert known == sorted(known, reverse=True) and known[0] == -0.5 and len(set(known)) == 4
    assert all(e != e or e is None for e in energies[len(known):])  # no energy: last, both ways
    table.sort_descending = False
    energies = list(table.to_dataframe()["energy_ev"])
    assert energies[: len(known)] == sorted(known)
    # default: the newest first, as the browser shows them
    table.sort_by, table.filter_profile = "age", ""
    created = list(table.to_dataframe()["created"])
    assert created == sorted(created, reverse=True)
    table.close()


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """Real EMT jobs: three relaxations and a static run (completed), a failed job."""
    root = tmp_path_factory.mktemp("table-export")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRYSTALWIDGETS_HOME", str(root / "home"))
        mp.setenv("CRYSTALWIDGETS_CONFIG", str(root / "config"))
        mgr = JobManager(monitor_interval=0.5)
        try:
            jobs = []
            for i, a in enumerate((3.55, 3.6, 3.7)):
                atoms = bulk("Cu", a=a, cubic=True)
                atoms.rattle(0.03, seed=i)
                jobs.append(mgr.submit(atoms, "emt.relax_job", relax_cell=False, label=f"relax {a}"))
            jobs.append(mgr.submit(bulk("Al"), "emt.static_job", label="static Al"))
            jobs.append(mgr.submit(bulk("Cu"), jobfuncs.failing_job, label="relax that fails"))
            mgr.wait([j.id for j in jobs], timeout=240)
            yield mgr, [j.id for j in jobs]
        finally:
            close_and_kill(mgr)


def test_the_files_hold_exactly_the_rows_shown_in_the_tables_order(real, tmp_path):
    mgr, ids = real
    table = JobTable(mgr, filter_text="relax", sort_by="energy_ev", sort_descending=True)
    shown = table._shown_ids()
    # the filter keeps the relaxations and the failed "relax that fails"; the static run is out
    assert set(shown) == set(ids[:3]) | {ids[4]} and shown[-1] == ids[4]  # no energy: last
    energies = [mgr.get(i).summary["energy_ev"] for i in shown[:3]]
    assert energies == sorted(energies, reverse=True) and len(set(energies)) == 3
    results = {i: mgr.result(i)["results"] for i in shown[:3]}

    report = table.to_ase_db(tmp_path / "shown.db")
    assert report.written == 3 and report.skipped == {"failed: no result": [ids[4]]}
    rows = list(ase.db.connect(tmp_path / "shown.db").select(sort="id"))
    assert [row.job_id for row in rows] == shown[:3]
    for row in rows:
        assert row.energy == results[row.job_id]["energy"]
        assert np.array_equal(row.forces, np.array(results[row.job_id]["forces"]))

    report = table.to_extxyz(tmp_path / "shown.extxyz")
    frames = ase.io.read(tmp_path / "shown.extxyz", index=":")
    assert [f.info["job_id"] for f in frames] == shown[:3] and report.n_skipped == 1
    for frame in frames:
        assert frame.get_potential_energy() == pytest.approx(results[frame.info["job_id"]]["energy"], rel=1e-12)
        assert np.allclose(frame.get_forces(), results[frame.info["job_id"]]["forces"], atol=1e-8)

    table.to_csv(tmp_path / "shown.csv")
    with open(tmp_path / "shown.csv", newline="") as fh:
        assert [r["id"] for r in csv.DictReader(fh)] == shown
    assert list(table.to_dataframe()["id"]) == shown

    table.filter_text, table.sort_by, table.sort_descending = "", "age", True  # every job, oldest first
    assert table.to_csv(io.StringIO()).written == 5
    with pytest.raises(ExportError, match=r"path_or_buffer: .*shown.csv exists; pass overwrite=True"):
        table.to_csv(tmp_path / "shown.csv")
    table.close()


def test_the_export_buttons_messages_bring_the_file_of_the_rows_shown(real):
    mgr, ids = real
    table = JobTable(mgr, filter_state="completed", sort_by="formula")
    wire = Wire(table)
    shown = table._shown_ids()
    assert len(shown) == 4 and shown[0] == ids[3]  # Al before Cu

    browser_says(table, {"kind": "export", "format": "extxyz"})
    [message] = wait_until(lambda: wire.of_kind("export"), 60, "the extxyz export")
    assert message["format"] == "extxyz" and message["filename"] == "jobs.extxyz"
    frames = ase.io.read(io.StringIO(message["text"]), index=":", format="extxyz")
    assert [f.info["job_id"] for f in frames] == shown
    assert message["note"] == "wrote 4 structures"

    wire.clear()
    table.filter_state = ""  # now the failed job too: a row in the CSV, skipped in extxyz
    browser_says(table, {"kind": "export", "format": "csv"})
    [message] = wait_until(lambda: wire.of_kind("export"), 60, "the CSV export")
    expected = io.StringIO()
    table.to_csv(expected)
    assert message["text"] == expected.getvalue() and message["filename"] == "jobs.csv"
    assert [r["id"] for r in csv.DictReader(io.StringIO(message["text"]))] == table._shown_ids()
    assert message["note"] == "wrote 5 rows"

    wire.clear()
    browser_says(table, {"kind": "export", "format": "extxyz"})
    [message] = wait_until(lambda: wire.of_kind("export"), 60, "the extxyz export with a failed job")
    assert message["note"] == "wrote 4 structures; skipped 1 job (1 failed: no result)"
    table.close()


def test_an_export_too_big_for_the_browser_is_refused_with_the_python_call(real, monkeypatch):
    mgr, _ = real
    table = JobTable(mgr)
    wire = Wire(table)
    monkeypatch.setattr(_table, "EXPORT_MAX_CHARS", 2_000)
    browser_says(table, {"kind": "export", "format": "extxyz"})
    [error] = wait_until(lambda: wire.of_kind("error"), 60, "the refusal")
    assert error["message"] == (
        "cannot export: the extxyz file of these 5 jobs is over 2,000 characters, too big to send to "
        "the browser; write it from Python instead: table.to_extxyz('jobs.extxyz')"
    )
    assert wire.of_kind("export") == []

    monkeypatch.setattr(_table, "EXPORT_MAX_CHARS", 20_000_000)
    browser_says(table, {"kind": "export", "format": "csv"})  # the refusal left the table able to export
    wait_until(lambda: wire.of_kind("export"), 60, "the next export")

    wire.clear()
    browser_says(table, {"kind": "export", "format": "pdf"})
    [error] = wire.of_kind("error")
    assert error["message"] == "cannot export: unknown format 'pdf'; use one of csv, extxyz"
    table.close()


def test_the_formats_are_declared_once():
    assert set(get_args(ExportFormat)) == set(_table.EXPORT_FILES)
    assert all(name.endswith("." + fmt) for fmt, name in _table.EXPORT_FILES.items())
