"""JobTable in real JupyterLab and real Chromium: live rows, cancel, untrusted text, details.

One notebook (notebooks/table-demo.ipynb) is opened and run once for the module; each test
then submits its own jobs through the notebook's kernel and checks what the page shows.
Screenshots go to the artifacts folder (see ``_lab.artifacts_dir``).
"""

from __future__ import annotations

import re
import shutil
import subprocess

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

    cell = lambda key: row.locator(f".cw-td[data-key='{key}']").inner_text()  # noqa: E731
    energy = demo.probe.eval("mgr.get(job.id).summary['energy_ev']")
    assert cell("select") == "" and row.locator("input.cw-select").count() == 1  # its checkbox
    assert cell("id") == job_id[:8]
    assert cell("recipe") == "emt.relax_job"
    assert cell("formula") == "Cu"
    assert cell("atoms") == "32"
    assert cell("label") == demo.probe.eval("mgr.get(job.id).label") == "rattled Cu 2x2x2"
    assert cell("profile") == "local"
    assert cell("state") == "completed"
    assert float(cell("energy_ev")) == pytest.approx(energy, abs=1e-4)
    assert re.fullmatch(r"\d+\.\d{3}", cell("max_force_ev_ang"))  # max force
    steps = demo.probe.eval("mgr.get(job.id).summary['n_steps']")
    assert cell("steps") == str(steps)  # optimiser steps
    assert re.fullmatch(r"\d+ (s|min)", cell("age"))  # age, computed here
    assert cell("last_checked") == "—"  # a finished job is not checked: no clock ticking on
    assert row.locator("button").count() == 0  # nothing to cancel, and no form to send a template to
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
    interval = demo.probe.eval("mgr.monitor_interval")
    try:
        demo.probe.exec("mgr.monitor_interval = 3600; table.stale_after = 2.0")
        wait_until(lambda: "cw-stale" in row.get_attribute("class").split(), 10, "the stale marker")
        assert row.locator(".cw-badge").inner_text() == "running · stale"
        assert "1 stale" in table.locator(".cw-table-count").inner_text()
        demo.screenshot("table-stale", table)
    finally:  # the module's later tests need the monitor (it polls the runners: block health)
        demo.probe.exec(f"mgr.monitor_interval = {interval!r}; table.stale_after = 30.0")
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
        # the grid's widths come from the spec: at least its width (a fixed column grows to
        # its widest value in the page's font: test_table_columns.py)
        assert header["width"] >= column["width"] - 0.5, column["key"]
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
        assert cells.nth(6).inner_text() == "completed"  # the state, now where profile was
        demo.screenshot("table-spec-without-profile", table)
        table.locator(".cw-th[data-key='recipe'] .cw-sort").click()  # "Workflow" sorts by recipe
        demo.probe.wait_for("table.sort_by", "recipe")
        assert table.locator(".cw-th[data-key='recipe']").get_attribute("aria-sort") == "ascending"
    finally:
        demo.probe.exec("table.sort_by = 'age'; table.sort_descending = False; table.send(table._snapshot())")
    wait_until(
        lambda: header_labels(table) == [c["label"] for c in columns], 10, "the headers back"
    )
    assert row.locator(".cw-td").nth(6).inner_text() == "local"
    assert demo.probe.eval("table._snapshot()['spec']['columns'][2]['label']") == "Recipe"


LONG_LABEL = "a label much longer than the column is wide by default: Cu strain=+1.5% fmax=0.01"

#: What each fixed column's cells can show at their widest, typed here, not read from js/
WORST = {
    "id": "ffffffff",
    "atoms": "100000",
    "state": "cancelled",
    "energy_ev": "-12345.6789",
    "max_force_ev_ang": "1234.567",
    "steps": "10000",
    "age": "59 min",
    "last_checked": "59 min ago",
}

CUT_JS = """(root) => {
  const cut = (node) => node.scrollWidth > node.clientWidth + 0.5;
  const headers = [...root.querySelectorAll('.cw-table-header .cw-sort')].filter(cut).map((b) => b.textContent);
  return headers;
}"""

WORST_JS = """([root, id, worst]) => {
  const row = root.querySelector(`.cw-tr[data-id='${id}']`);
  const out = {};
  for (const [key, text] of Object.entries(worst)) {
    const cell = row.querySelector(`.cw-td[data-key='${key}']`);
    const target = cell.querySelector('.cw-badge') || cell;
    const before = target.textContent;
    target.textContent = text;  // the widest this cell shows, drawn in its real CSS and width
    out[key] = [cell.scrollWidth, cell.clientWidth];
    target.textContent = before;
  }
  return out;
}"""


def widths(table) -> dict[str, float]:
    return {h["key"]: h["width"] for h in table.evaluate(HEADERS_JS) if h["key"]}


def test_columns_show_whole_values_hide_resize_and_fit_and_the_choice_is_kept(demo):
    table = table_of(demo)
    job_id = demo.probe.eval("job.id")
    row = row_of(table, job_id)
    wait_state(row, "completed", 120)
    long_id = demo.probe.eval(f"mgr.submit(bulk('Cu'), 'emt.static_job', label={LONG_LABEL!r}).id")
    wait_state(row_of(table, long_id), "completed", 120)
    demo.page.set_viewport_size({"width": 848, "height": 1000})
    try:
        # at 848 px no fixed column cuts its widest value, nor any header its label and sort mark
        table.locator(".cw-th[data-key='energy_ev'] .cw-sort").click()  # a sort mark on the widest header
        demo.probe.wait_for("table.sort_by", "energy_ev")
        wait_until(lambda: table.evaluate(CUT_JS) == [], 5, "no header cut short")
        measured = demo.page.evaluate(WORST_JS, [table.element_handle(), job_id, WORST])
        cut = {key: sizes for key, sizes in measured.items() if sizes[0] > sizes[1]}
        assert cut == {}, f"cells cut short (scrollWidth, clientWidth): {cut}"
        # recipe, formula and profile take few values: as wide as the longest in the table, so
        # none is cut; a row arriving with a longer one widens its column
        narrow = widths(table)["formula"]
        alloy = demo.probe.eval(
            "mgr.submit(__import__('ase').Atoms('AgAuCuNiPdPt', positions=[(0, 0, 0), (0, 0, 2.6), (0, 2.6, 0), (2.6, 0, 0),"
            " (2.6, 2.6, 0), (2.6, 0, 2.6)], cell=[5.2] * 3, pbc=True), 'emt.static_job', label='alloy').id"
        )
        wait_state(row_of(table, alloy), "completed", 120)
        assert sorted(row_of(table, alloy).locator(".cw-td[data-key='formula']").inner_text()) == sorted("AgAuCuNiPdPt")
        wait_until(lambda: widths(table)["formula"] > narrow, 5, "the Formula column to widen")
        cells = table.locator(".cw-tr .cw-td[data-key='recipe'], .cw-tr .cw-td[data-key='formula'], .cw-tr .cw-td[data-key='profile']")
        assert cells.count() >= 9
        assert table.evaluate(
            "(root) => [...root.querySelectorAll(\".cw-tr .cw-td[data-key='recipe'], .cw-tr .cw-td[data-key='formula'],"
            " .cw-tr .cw-td[data-key='profile']\")].filter((c) => c.scrollWidth > c.clientWidth).map((c) => c.textContent)"
        ) == []
        label = row_of(table, long_id).locator(".cw-td[data-key='label']")
        assert label.evaluate("(c) => c.scrollWidth > c.clientWidth")  # free text: cut, whole in its tooltip
        assert label.get_attribute("title") == LONG_LABEL

        # the Columns menu hides Profile and Checked: the header and the rows lose them
        table.locator(".cw-columns-button").click()
        menu = table.locator(".cw-columns-menu")
        assert menu.is_visible()
        items = menu.locator(".cw-columns-item")
        assert items.all_inner_texts() == ["ID", "Recipe", "Formula", "Atoms", "Label", "Profile", "State",
                                           "Energy (eV)", "Fmax (eV/Å)", "Steps", "Age", "Checked"]
        menu.locator("input[data-key='profile']").uncheck()
        menu.locator("input[data-key='last_checked']").uncheck()
        demo.probe.wait_for("table.hidden_columns", ["profile", "last_checked"])
        demo.screenshot("table-columns-menu", table)
        demo.page.keyboard.press("Escape")
        assert not menu.is_visible()
        wait_until(lambda: "Profile" not in header_labels(table), 5, "the Profile header to go")
        assert "Checked" not in header_labels(table)
        assert row.locator(".cw-td").count() == 12 and row.locator(".cw-td[data-key='profile']").count() == 0

        # drag the Label header's right edge 120 px wider: the width is the kernel's too
        before = widths(table)["label"]
        handle = table.locator(".cw-th[data-key='label'] .cw-col-resize")
        handle.scroll_into_view_if_needed()
        box = handle.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        demo.page.mouse.move(x, y)
        demo.page.mouse.down()
        demo.page.mouse.move(x + 60, y, steps=4)
        demo.page.mouse.move(x + 120, y, steps=4)
        demo.page.mouse.up()
        wait_until(lambda: "label" in demo.probe.eval("table.column_widths"), 5, "the width to reach the kernel")
        kept = demo.probe.eval("table.column_widths['label']")
        assert kept == pytest.approx(before + 120, abs=3)
        assert widths(table)["label"] == pytest.approx(kept, abs=0.5)
        assert demo.probe.eval("table.sort_by") == "energy_ev"  # the drag was no click on the sort
        # the arrow keys on the edge: 16 px a press
        handle.focus()
        demo.page.keyboard.press("ArrowLeft")
        demo.probe.wait_for("table.column_widths['label']", kept - 16)

        # double-click: as wide as the long label needs, then nothing of it is cut
        handle.dblclick()
        wait_until(lambda: demo.probe.eval("table.column_widths['label']") > kept, 5, "the fitted width")
        wait_until(lambda: not label.evaluate("(c) => c.scrollWidth > c.clientWidth"), 5, "the label whole")
        demo.screenshot("table-columns-fitted", table)

        # the choice is on the store: the next table (here, another kernel's) opens the same way
        assert demo.probe.eval(
            "(lambda t: (t.hidden_columns, t.column_widths == table.column_widths, t.close())[:2])(JobTable(mgr))"
        ) == [["profile", "last_checked"], True]

        # Reset: every column back, at its default width
        table.locator(".cw-columns-button").click()
        menu.locator(".cw-columns-reset").click()
        demo.probe.wait_for("table.hidden_columns", [])
        demo.probe.wait_for("table.column_widths", {})
        wait_until(lambda: "Profile" in header_labels(table), 5, "the Profile header back")
        assert widths(table)["label"] == pytest.approx(before, abs=1)
        assert menu.locator("input[data-key='profile']").is_checked()
        demo.page.keyboard.press("Escape")
    finally:
        demo.probe.exec("table.hidden_columns = []; table.column_widths = {}; table.sort_by = 'age'")
        demo.page.set_viewport_size({"width": 1280, "height": 1000})


@pytest.mark.skipif(shutil.which("sbatch") is None, reason="needs Slurm (start ../shared/slurm/start-slurm.sh beside the clone)")
def test_a_waiting_job_says_what_it_waits_for_and_counts_the_seconds(demo):
    """A job whose Slurm block is held back (--begin in an hour) says so on its row, led by the
    seconds of that wait, ticking in the browser (the kernel sent when the wait began, once)."""
    if subprocess.run(["sinfo", "-h"], capture_output=True, timeout=20).returncode != 0:
        pytest.skip("Slurm is installed but not running (start ../shared/slurm/start-slurm.sh beside the clone)")
    table = table_of(demo)
    demo.probe.exec(
        "from crystalwidgets import ProfileStore\n"
        "ProfileStore().save({'kind': 'parsl-slurm', 'name': 'held', 'partition': 'debug',"
        " 'walltime': '00:10:00', 'max_workers_per_node': 1, 'address': '127.0.0.1',"
        " 'scheduler_options': '#SBATCH --begin=now+1hour'})\n"
        "held = mgr.submit(bulk('Cu'), 'emt.static_job', profile='held', label='held back')\n"
        "table.filter_profile = 'held'"  # on screen however many rows the worker's store has
    )
    try:
        row = row_of(table, demo.probe.eval("held.id"))
        note = row.locator(".cw-td.cw-row-note")
        pattern = re.compile(r"(\d+) s · waiting for Slurm to start block (\d+), Slurm's reason: BeginTime")

        def said():
            return pattern.fullmatch(note.inner_text()) if note.count() else None

        try:
            first = wait_until(said, 120, "the row to name the held block and Slurm's reason")
        except TimeoutError as exc:  # what the page and the kernel say at the end
            shown = row.inner_text() if row.count() else "(no row on screen)"
            ref = demo.probe.eval("mgr.get(held.id).engine_ref")
            health = demo.probe.eval("mgr.runner('held') and mgr.runner('held').health()")
            # where the kernel's threads are (an engine start that does not return shows here)
            demo.probe.exec(
                "import sys as _s, threading as _th, time as _ti, traceback as _t\n"
                "_names = {t.ident: t.name for t in _th.enumerate()}\n"
                "_cw_stacks = [f'thread {_names.get(i, i)}:\\n' + ''.join(_t.format_stack(f)[-30:])"
                " for i, f in _s._current_frames().items()]\n"
                "_p = mgr._pump\n"
                "_cw_pump = {'runners': sorted(mgr._runners), 'interval': _p.interval,"
                " 'since_last_poll': _ti.monotonic() - _p._last_poll,"
                " 'polling': None if _p._polling is None else _p._polling.done(),"
                " 'monitor_task': repr(_p._monitor_task)}"
            )
            stacks = "\n---\n".join(demo.probe.eval("_cw_stacks"))
            pump = demo.probe.eval("_cw_pump")
            # and one poll of the runner by hand: does it tell the row what it waits for?
            demo.probe.exec("mgr.runner('held').poll(); mgr._drain()", timeout=60)
            after = demo.probe.eval("[mgr.runner('held').health()['checked'], mgr.get(held.id).engine_ref]")
            squeue = subprocess.run(["squeue", "-h"], capture_output=True, text=True, timeout=20).stdout
            raise AssertionError(
                f"{exc}: the row shows {shown!r}; the kernel's engine_ref {ref!r}; the runner's "
                f"health {health!r}; squeue {squeue!r}; the manager's pump {pump!r}; after a poll by "
                f"hand (checked, engine_ref): {after!r}; the kernel's threads:\n{stacks}"
            ) from None
        assert row.get_attribute("data-state") == "pending"
        block = first.group(2)
        squeue = subprocess.run(["squeue", "-h", "-j", block, "-o", "%T %r"], capture_output=True,
                                text=True, timeout=20).stdout.split()
        assert squeue == ["PENDING", "BeginTime"]
        later = wait_until(lambda: (m := said()) and int(m.group(1)) >= int(first.group(1)) + 2 and m,
                           10, "the seconds to count on")
        assert later.group(2) == block  # the same wait, counted on; no message needed for it
        # the note takes the empty Energy, Max force and Steps cells; the clock leads, so a cut
        # note still shows it, and the whole text is the cell's tooltip
        assert note.evaluate("(c) => getComputedStyle(c).gridColumnStart") == "span 3"
        assert row.locator(".cw-td[data-key='steps']").is_hidden()
        assert note.get_attribute("title").startswith("waiting for Slurm to start block")  # no clock in the tooltip
        demo.screenshot("table-waiting-for-slurm", table)
    finally:
        demo.probe.exec("mgr.cancel(held.id); mgr.wait([held.id], timeout=60)", timeout=90)
        # no Parsl engine of this test outlives it (the lab is a child of this worker, whose
        # other tests count the interchanges left among their children)
        demo.probe.exec(
            "ProfileStore().delete('held'); table.filter_profile = ''\n"
            "if mgr.runner('held') is not None: mgr.runner('held').shutdown()",
            timeout=90,
        )
    assert demo.probe.eval("mgr.get(held.id).state.value") == "cancelled"
    # no job needs the block now: it leaves Slurm's queue
    wait_until(lambda: not subprocess.run(["squeue", "-h", "-j", block], capture_output=True, text=True,
                                          timeout=20).stdout.strip(), 30, "the held block scancelled")
