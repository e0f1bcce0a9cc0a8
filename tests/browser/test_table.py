"""JobTable in real JupyterLab and real Chromium: live rows, cancel, untrusted text, details.

One notebook (notebooks/table-demo.ipynb) is opened and run once for the module; each test
then submits its own jobs through the notebook's kernel and checks what the page shows.
Screenshots go to the artifacts folder (see ``_lab.artifacts_dir``).
"""

from __future__ import annotations

import re

import pytest
from _lab import REPO, demo_notebook

from tests.helpers import wait_until

NOTEBOOK = "table-demo.ipynb"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def demo(lab, browser):
    """The demo notebook, run once; every dialog the page opens is recorded and dismissed."""
    setup = f"import sys; sys.path.insert(0, {str(REPO)!r}); from tests import jobfuncs"
    with demo_notebook(lab, browser, NOTEBOOK, setup, width=1280, timeout=180) as notebook:
        yield notebook


def table_of(notebook):
    table = notebook.panel.locator(".cw-table")
    table.wait_for(state="visible", timeout=30_000)
    return table


def row_of(table, job_id: str):
    return table.locator(f".cw-tr[data-id='{job_id}']")


def wait_state(row, state: str, timeout: float) -> None:
    wait_until(lambda: row.get_attribute("data-state") == state, timeout, f"the row to show {state}")


def test_submitted_emt_job_turns_completed_with_its_energy(demo):
    table = table_of(demo)
    job_id = demo.probe.eval("job.id")
    row = row_of(table, job_id)
    wait_state(row, "completed", 120)

    cells = row.locator(".cw-td")
    energy = demo.probe.eval("mgr.get(job.id).summary['energy_ev']")
    assert cells.nth(0).inner_text() == "" and row.locator("input.cw-select").count() == 1  # its checkbox
    assert cells.nth(1).inner_text() == job_id[:8]
    assert cells.nth(2).inner_text() == "emt.relax_job"
    assert cells.nth(3).inner_text() == "Cu"
    assert cells.nth(4).inner_text() == demo.probe.eval("mgr.get(job.id).label") == "rattled Cu 2x2x2"
    assert cells.nth(5).inner_text() == "local"
    assert cells.nth(6).inner_text() == "completed"
    assert float(cells.nth(7).inner_text()) == pytest.approx(energy, abs=1e-4)
    assert re.fullmatch(r"\d+\.\d{3}", cells.nth(8).inner_text())  # max force
    steps = demo.probe.eval("mgr.get(job.id).summary['n_steps']")
    assert cells.nth(9).inner_text() == str(steps)  # optimiser steps
    assert re.fullmatch(r"\d+ (s|min)", cells.nth(10).inner_text())  # age, computed here
    assert cells.nth(11).inner_text() == "—"  # a finished job is not checked: no clock ticking on
    assert row.locator("button").count() == 0  # nothing to cancel
    demo.screenshot("table-completed", table)

    # the browser filters as Python exports: same rule, same rows
    table.locator("select.cw-table-state").select_option("completed")
    demo.probe.wait_for("table.filter_state", "completed")
    shown = int(table.get_attribute("data-cw-shown"))
    assert shown == demo.probe.eval("len(table.to_dataframe())") >= 1
    table.locator("select.cw-table-state").select_option("")
    demo.probe.wait_for("table.filter_state", "")


def test_cancel_asks_first_then_turns_a_running_row_cancelled(demo):
    table = table_of(demo)
    demo.probe.exec("slow = mgr.submit(bulk('Cu'), jobfuncs.sleeping_job, seconds=120, label='slow one')")
    job_id = demo.probe.eval("slow.id")
    row = row_of(table, job_id)
    wait_state(row, "running", 60)

    # stale marker: the monitor stops checking (as when a runner is lost), the row turns stale
    demo.probe.exec("mgr.monitor_interval = 3600; table.stale_after = 2.0")
    wait_until(lambda: "cw-stale" in row.get_attribute("class").split(), 10, "the stale marker")
    assert row.locator(".cw-badge").inner_text() == "running · stale"
    assert "1 stale" in table.locator(".cw-table-count").inner_text()
    demo.screenshot("table-stale", table)
    demo.probe.exec("table.stale_after = 30.0")
    wait_until(lambda: "cw-stale" not in row.get_attribute("class").split(), 5, "no stale marker")
    assert row.locator(".cw-badge").inner_text() == "running"

    row.locator("button[data-action='cancel']").click()
    confirm = row.locator(".cw-confirm")
    confirm.wait_for(state="visible", timeout=5_000)
    assert confirm.inner_text() == "Stop this running job?"
    demo.screenshot("table-cancel-confirm", table)
    row.locator("button[data-action='keep']").click()  # "No" keeps it running
    row.locator("button[data-action='cancel']").wait_for(state="visible", timeout=5_000)
    assert demo.probe.eval("mgr.get(slow.id).state.value") == "running"

    row.locator("button[data-action='cancel']").click()
    row.locator("button[data-action='confirm']").click()
    wait_state(row, "cancelled", 30)
    assert demo.probe.eval("mgr.get(slow.id).state.value") == "cancelled"
    assert row.locator("button").count() == 0
    assert demo.dialogs == []  # the confirmation is inline, never window.confirm
    demo.screenshot("table-cancelled", table)


def test_error_text_with_markup_shows_as_literal_text_and_runs_nothing(demo):
    table = table_of(demo)
    demo.probe.exec(f"bad = mgr.submit(bulk('Cu'), jobfuncs.failing_job, message={XSS!r})")
    job_id = demo.probe.eval("bad.id")
    row = row_of(table, job_id)
    wait_state(row, "failed", 120)

    assert row.locator(".cw-td.cw-error").inner_text() == f"RuntimeError: {XSS}"
    row.locator(".cw-td").nth(1).click()  # open the details
    error = table.locator(".cw-details-error")
    error.wait_for(state="visible", timeout=10_000)
    assert XSS in error.inner_text() and "Traceback" in error.inner_text()
    demo.page.wait_for_timeout(1000)  # an <img onerror> would have fired by now
    assert table.locator("img").count() == 0
    assert demo.panel.locator("img[src='x']").count() == 0
    assert demo.dialogs == []
    demo.screenshot("table-error-text", table)
    table.locator(".cw-details-close").click()
    demo.probe.wait_for("table.details_id", "")

    # filtered out rows leave no stale row elements behind
    n_jobs = demo.probe.eval("len(mgr.jobs())")  # earlier tests of this session add jobs
    wait_until(lambda: table.locator(".cw-tr:visible").count() == n_jobs, 5, f"{n_jobs} visible rows")
    n_failed = demo.probe.eval("len(mgr.jobs(state='failed'))")
    table.locator("select.cw-table-state").select_option("failed")
    try:
        wait_until(lambda: table.locator(".cw-tr:visible").count() == n_failed, 5, f"{n_failed} failed rows")
        ids = [r.get_attribute("data-id") for r in table.locator(".cw-tr:visible").all()]
        assert job_id in ids
    finally:
        table.locator("select.cw-table-state").select_option("")
        demo.probe.wait_for("table.filter_state", "")


def test_row_details_show_parameters_energy_plot_and_final_structure(demo):
    table = table_of(demo)
    job_id = demo.probe.eval("job.id")
    row = row_of(table, job_id)
    wait_state(row, "completed", 120)

    row.locator(".cw-td").nth(2).click()
    demo.probe.wait_for("table.details_id", job_id)
    details = table.locator(".cw-details")
    plot = details.locator("svg.cw-plot")
    plot.wait_for(state="visible", timeout=10_000)
    steps = demo.probe.eval("len(mgr.get(job.id).summary['energies_ev'])")
    assert steps >= 3
    assert int(plot.get_attribute("data-cw-points")) == steps
    assert plot.locator("path.cw-plot-line").get_attribute("d").count("L") == steps - 1
    facts = details.locator(".cw-details-facts").inner_text()
    assert demo.probe.eval("job.work_dir") in facts
    assert '"relax_cell": false' in details.locator(".cw-details-params").inner_text()
    assert details.locator(".cw-details-structure-note").inner_text() == "Final structure"

    # the final structure in the StructureViewer (its own widget, drawn inside the panel)
    canvas = details.locator(".cw-details-viewer canvas")
    canvas.wait_for(state="visible", timeout=30_000)
    assert demo.probe.eval("len(table.viewer.structure)") == 32
    wait_until(
        lambda: details.locator(".cw-details-viewer [data-cw-atoms]").count()
        and details.locator(".cw-details-viewer [data-cw-atoms]").get_attribute("data-cw-atoms") == "32",
        30,
        "the viewer to draw 32 atoms",
    )
    assert row.get_attribute("class").split().count("cw-selected") == 1
    demo.screenshot("table-details", table)
    demo.screenshot("table-details-panel", details)


HEADERS_JS = """(root) => [...root.querySelectorAll('.cw-table-header .cw-th')].map((cell) => {
  const button = cell.querySelector('.cw-sort');
  const box = cell.getBoundingClientRect();
  return {
    label: button ? button.firstChild.textContent : cell.textContent,
    key: cell.dataset.key ?? null,
    title: button ? button.title : null,
    numeric: cell.classList.contains('cw-num'),
    width: box.width,
  };
})"""


def header_labels(table) -> list[str]:
    return [h["label"] for h in table.evaluate(HEADERS_JS)]


def test_headers_cells_and_sorting_are_built_from_the_column_spec_of_the_snapshot(demo):
    table = table_of(demo)
    job_id = demo.probe.eval("job.id")
    row = row_of(table, job_id)
    wait_state(row, "completed", 120)
    columns = demo.probe.eval("table._snapshot()['spec']['columns']")
    assert [c["key"] for c in columns][:4] == ["select", "id", "recipe", "formula"]

    headers = table.evaluate(HEADERS_JS)
    assert [h["label"] for h in headers] == [c["label"] for c in columns]
    assert [h["key"] for h in headers] == [c["key"] if c["sort"] else None for c in columns]
    assert [h["numeric"] for h in headers] == [c["numeric"] for c in columns]
    for header, column in zip(headers, columns):
        if column["sort"]:
            expected = f"{column['title']}. Click to sort." if column["title"] else "Click to sort"
            assert header["title"] == expected
        # the grid's widths come from the spec: fixed columns exactly, growing ones at least
        if column["grow"]:
            assert header["width"] >= column["width"] - 0.5, column["key"]
        else:
            assert header["width"] == pytest.approx(column["width"], abs=0.5), column["key"]
    assert row.locator(".cw-td").count() == len(columns)

    # a snapshot with another spec redraws the header and the rows from it: nothing about
    # the columns is kept in the browser
    demo.probe.exec(
        "import copy\n"
        "_msg = table._snapshot()\n"
        "_msg['spec'] = copy.deepcopy(_msg['spec'])\n"
        "_msg['spec']['columns'][2]['label'] = 'Workflow'\n"
        "_msg['spec']['columns'] = [c for c in _msg['spec']['columns'] if c['key'] != 'profile']\n"
        "table.send(_msg)"
    )
    try:
        relabelled = [c["label"] for c in columns if c["key"] != "profile"]
        relabelled[2] = "Workflow"
        wait_until(lambda: header_labels(table) == relabelled, 10, "the headers of the new spec")
        cells = row.locator(".cw-td")
        assert cells.count() == len(columns) - 1
        assert cells.nth(2).inner_text() == "emt.relax_job"
        assert cells.nth(5).inner_text() == "completed"  # the state, now where profile was
        demo.screenshot("table-spec-without-profile", table)
        table.locator(".cw-th[data-key='recipe'] .cw-sort").click()  # "Workflow" sorts by recipe
        demo.probe.wait_for("table.sort_by", "recipe")
        assert table.locator(".cw-th[data-key='recipe']").get_attribute("aria-sort") == "ascending"
    finally:
        demo.probe.exec("table.sort_by = 'age'; table.sort_descending = False; table.send(table._snapshot())")
    wait_until(
        lambda: header_labels(table) == [c["label"] for c in columns], 10, "the headers back"
    )
    assert row.locator(".cw-td").nth(5).inner_text() == "local"
    assert demo.probe.eval("table._snapshot()['spec']['columns'][2]['label']") == "Recipe"
