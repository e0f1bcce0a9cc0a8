"""JobTable's actions, Python side: "Use as template" into the App's form, Resubmit, bulk
cancel and resubmit of selected rows (one request, a report per job), and a job's files
(list, text, download, zip), each answered as the browser would receive it. Real EMT jobs and
sleeping jobs through the manager and the local runner."""

from __future__ import annotations

import io
import zipfile

import pytest
from ase.build import bulk

from crystalwidgets import CrystalWidgetsError, JobState
from crystalwidgets.widgets import App, JobTable
from crystalwidgets.widgets._messages import TABLE_FROM_BROWSER
from tests import jobfuncs
from tests.helpers import wait_until
from tests.widgets.test_table import Wire, browser_says


class WireWithBuffers(Wire):
    """A :class:`Wire` that also keeps the buffers of each custom message."""

    def __init__(self, widget: JobTable) -> None:
        super().__init__(widget)
        self.buffers: list[list[bytes]] = []
        inner = widget.comm.publish_msg

        def publish(msg_type, data=None, metadata=None, buffers=None, **keys):
            if data.get("method") == "custom":
                self.buffers.append([bytes(b) for b in buffers or []])
            inner(msg_type, data, metadata, buffers, **keys)

        widget.comm.publish_msg = publish


def live(table: JobTable) -> WireWithBuffers:
    wire = WireWithBuffers(table)
    browser_says(table, {"kind": "snapshot"})
    return wire


def test_use_as_template_fills_the_form_and_submitting_gives_an_equal_job(manager):
    atoms = bulk("Cu", a=3.7)
    atoms.rattle(0.02, seed=4)
    first = manager.submit(atoms, "emt.relax_job", relax_cell=True, opt_params={"fmax": 0.05, "max_steps": 50})
    app = App(manager, structure=bulk("Al"), recipe="emt.static_job")
    assert app.table.can_template
    wire = live(app.table)

    browser_says(app.table, {"kind": "template", "id": first.id})

    [status] = wire.of_kind("status")
    assert status["message"] == app.message.value and f"job {first.short_id} is in the form" in status["message"]
    assert app.form.recipe == "emt.relax_job" and app.form.valid
    assert app.form.value == first.params
    assert app.structure == atoms and app.names[-1].startswith(f"2: job {first.short_id} input")
    again = app.submit()
    assert (again.recipe, again.params, again.profile) == (first.recipe, first.params, first.profile)
    assert again.structure_hash == first.structure_hash
    done = manager.wait([first.id, again.id], timeout=180)
    assert [r.state for r in done] == [JobState.COMPLETED] * 2
    assert done[1].summary["energy_ev"] == pytest.approx(done[0].summary["energy_ev"], abs=1e-9)

    # a variant: edit the form, submit
    app.form.set_values(relax_cell=False)
    variant = app.submit()
    assert variant.params == {**first.params, "relax_cell": False}
    app.use_as_template(first.short_id)  # the Python API, the same
    assert app.form.value == first.params
    manager.wait([variant.id], timeout=180)


def test_a_table_without_a_form_offers_no_template_and_says_so(manager):
    job = manager.submit(bulk("Cu"), "emt.static_job")
    table = JobTable(manager)
    assert not table.can_template
    wire = live(table)
    with pytest.raises(CrystalWidgetsError, match="sends templates to no form.*on_template"):
        table.use_as_template(job.id)
    browser_says(table, {"kind": "template", "id": job.id})
    [error] = wire.of_kind("error")
    assert error["id"] == job.id and "sends templates to no form" in error["message"]

    got = []
    table.on_template(got.append)
    assert table.can_template
    browser_says(table, {"kind": "template", "id": job.id})
    assert [t.job_id for t in got] == [job.id] and got[0].recipe == "quacc.recipes.emt.core.static_job"
    table.on_template(None)
    assert not table.can_template
    manager.wait([job.id], timeout=120)


def test_a_job_of_your_own_function_is_refused_by_the_form_with_the_code_to_use(manager):
    job = manager.submit(bulk("Cu"), jobfuncs.scaled_volume_job, factor=1.1)
    app = App(manager)
    with pytest.raises(CrystalWidgetsError, match=r"function of your own.*mgr.template"):
        app.use_as_template(job.id)
    manager.wait([job.id], timeout=120)


def test_bulk_cancel_of_selected_rows_reports_per_job(manager, tmp_path):
    table = JobTable(manager)
    wire = live(table)
    done = manager.submit(bulk("Cu"), "emt.static_job")
    manager.wait([done.id], timeout=120)
    markers = [tmp_path / f"started-{i}" for i in range(2)]
    running = [
        manager.submit(bulk("Cu"), jobfuncs.sleeping_job, seconds=0, marker=str(m), until=str(tmp_path / "never"))
        for m in markers
    ]
    wait_until(lambda: all(m.exists() for m in markers), 60, "both jobs to start")

    browser_says(table, {"kind": "bulk", "action": "cancel", "ids": [running[0].id, done.id, running[1].id]})

    [report] = wire.of_kind("bulk")
    assert report["message"] == "cancelled 2; 1 had already finished"
    assert report["outcomes"] == {running[0].id: "cancelled", done.id: "finished", running[1].id: "cancelled"}
    assert [r.state for r in manager.wait([r.id for r in running], timeout=60)] == [JobState.CANCELLED] * 2


def test_bulk_resubmit_runs_in_slices_on_the_kernels_loop(manager, monkeypatch):
    import asyncio

    from crystalwidgets.widgets import _table_actions

    monkeypatch.setattr(_table_actions, "BULK_SLICE", 2)
    jobs = [manager.submit(bulk("Cu", a=a), "emt.static_job") for a in (3.5, 3.6, 3.7)]
    manager.wait([j.id for j in jobs], timeout=120)
    table = JobTable(manager)
    wire = live(table)
    turns = []

    async def kernel():  # the kernel's loop: the request, then other work between the slices
        browser_says(table, {"kind": "bulk", "action": "resubmit", "ids": [j.id for j in jobs]})
        assert wire.of_kind("bulk") == []  # not on this turn of the loop
        for _ in range(500):
            await asyncio.sleep(0)
            turns.append(len(manager.jobs()))
            if wire.of_kind("bulk"):
                return

    asyncio.run(kernel())
    [report] = wire.of_kind("bulk")
    assert report["message"] == "resubmitted 3" and set(report["new_ids"]) == {j.id for j in jobs}
    assert 5 in turns  # the loop ran between the first slice (2 jobs) and the second
    new = manager.wait(list(report["new_ids"].values()), timeout=120)
    assert all(r.state is JobState.COMPLETED for r in new)
    for old in jobs:
        assert manager.get(report["new_ids"][old.id]).structure_hash == old.structure_hash


def test_bad_bulk_requests_are_refused_with_the_fix(manager):
    table = JobTable(manager)
    wire = live(table)
    table._handle_custom_msg({"kind": "bulk", "action": "delete", "ids": []}, [])
    assert "use cancel or resubmit" in wire.of_kind("error")[-1]["message"]
    from crystalwidgets.widgets._table_actions import BULK_MAX

    browser_says(table, {"kind": "bulk", "action": "cancel", "ids": ["x"] * (BULK_MAX + 1)})
    assert "select fewer" in wire.of_kind("error")[-1]["message"]


def test_files_list_view_download_and_zip_as_the_browser_asks(manager, tmp_path):
    job = manager.submit(bulk("Cu", a=3.7), "emt.relax_job", relax_cell=False)
    [job] = manager.wait([job.id], timeout=180)
    (tmp_path / "secret").write_text("no")
    import os

    os.symlink(tmp_path / "secret", os.path.join(job.work_dir, "escape"))
    table = JobTable(manager)
    wire = live(table)

    def answer(kind, **content):
        before = len(wire.messages)
        browser_says(table, {"kind": kind, "id": job.id, **content})
        wait_until(lambda: len(wire.messages) > before, 30, f"the answer to {kind}")
        return wire.messages[-1], wire.buffers[-1]

    listing, _ = answer("files")
    paths = {e[0]: e for e in listing["entries"]}
    assert listing["kind"] == "files" and not listing["truncated"]
    assert paths["cw-result.json"][1] == os.path.getsize(os.path.join(job.work_dir, "cw-result.json"))
    log = next(p for p in paths if p.endswith("/opt.log.gz"))
    assert paths["escape"][3] == "link"

    text, _ = answer("file_text", path=log)
    assert text["kind"] == "file_text" and "Step" in text["text"] and text["start"] == 0
    assert text["more"] is None  # all of it shown
    part, _ = answer("file_text", path=log, tail_bytes=100)
    assert text["text"].endswith(part["text"]) and part["start"] > 0 and part["more"] == 400
    for bad in (0, 5 * 1024**2, "64", True):
        error, _ = answer("file_text", path=log, tail_bytes=bad)
        assert error["kind"] == "error" and "tail_bytes:" in error["message"] and "from 1 to 4.0 MB" in error["message"], bad
    binary, _ = answer("file_text", path="cw-input.pkl")
    assert binary["text"] is None and "binary file" in binary["note"]
    for bad in ("../../etc/passwd", "escape"):
        error, _ = answer("file_text", path=bad)
        assert error["kind"] == "error" and error["id"] == job.id and "refused" in error["message"]

    one, [data] = answer("download", path="cw-result.json", zip=False)
    assert one["filename"] == "cw-result.json" and one["size"] == len(data)
    with open(os.path.join(job.work_dir, "cw-result.json"), "rb") as fh:
        assert data == fh.read()
    whole, [data] = answer("download", path="", zip=True)
    assert whole["filename"] == f"job-{job.short_id}.zip" and whole["mime"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    root = os.path.basename(job.work_dir)
    assert f"{root}/cw-stdout.txt" in names and f"{root}/{log}" in names
    assert not any("escape" in n or "secret" in n for n in names)


def test_the_new_kinds_are_declared():
    assert {"bulk", "template", "files", "file_text", "download"} <= set(TABLE_FROM_BROWSER)
