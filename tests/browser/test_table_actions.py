"""The JobTable's row actions in real JupyterLab and real Chromium, in the App: tick rows
(checkbox, shift-click) and cancel them with one question, the report per job; "Use as
template" fills the App's form; a job's files listed, its log and stderr viewed as text
(never as HTML), the work dir downloaded as a zip.

The App notebook (notebooks/app.ipynb) is run once for the module; the tests submit their
own jobs through its kernel. Screenshots go to the artifacts folder (``_lab.artifacts_dir``).
"""

from __future__ import annotations

import io
import zipfile

import pytest
from _lab import REPO, demo_notebook
from test_table import row_of, wait_state

from tests.helpers import wait_until

pytestmark = pytest.mark.browser

NOTEBOOK = "app.ipynb"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def demo(lab, browser):
    setup = f"import sys; sys.path.insert(0, {str(REPO)!r}); from tests import jobfuncs; table = app.table"
    with demo_notebook(lab, browser, NOTEBOOK, setup, width=1400, timeout=180) as notebook:
        notebook.page.set_viewport_size({"width": 1400, "height": 1600})
        yield notebook


def table_of(notebook):
    table = notebook.panel.locator(".cw-table").first
    table.wait_for(state="visible", timeout=30_000)
    return table


def open_details(demo, table, job_id):
    row_of(table, job_id).locator(".cw-td").nth(3).click()
    demo.probe.wait_for("table.details_id", job_id)
    table.locator(f".cw-details-info[data-id='{job_id}'] .cw-resubmit").wait_for(timeout=15_000)


def test_tick_three_rows_and_cancel_them_with_one_question(demo, tmp_path_factory):
    table = table_of(demo)
    until = tmp_path_factory.mktemp("never") / "never"  # the sleeping jobs end only when cancelled
    demo.probe.exec(
        "done = mgr.submit(bulk('Cu'), 'emt.static_job', label='bulk done')\n"
        f"sleepers = [mgr.submit(bulk('Cu'), jobfuncs.sleeping_job, seconds=0, until={str(until)!r}, label=f'bulk sleeper {{i}}') for i in range(2)]"
    )
    done, a, b = demo.probe.eval("[done.id] + [s.id for s in sleepers]")
    wait_state(row_of(table, done), "completed", 120)
    wait_state(row_of(table, a), "running", 60)
    wait_state(row_of(table, b), "running", 60)

    table.locator("input.cw-table-search").fill("bulk")
    demo.probe.wait_for("table.filter_text", "bulk")
    wait_until(lambda: table.get_attribute("data-cw-shown") == "3", 10, "the 3 rows of the filter")
    # the checkbox of one, then shift-click another: the range between them (sorted newest first)
    row_of(table, b).locator("input.cw-select").click()
    row_of(table, done).locator(".cw-td").nth(2).click(modifiers=["Shift"])
    bar = table.locator(".cw-selection")
    wait_until(lambda: bar.get_attribute("data-count") == "3", 5, "3 selected")
    assert bar.locator(".cw-selection-count").inner_text() == "3 selected:"
    assert demo.probe.eval("table.details_id") == ""  # ticking opens no details

    # the selection is kept by id: through a sort, a filter hiding a row, and live updates
    table.locator(".cw-th[data-key='state'] .cw-sort").click()
    demo.probe.wait_for("table.sort_by", "state")
    table.locator("input.cw-table-search").fill("bulk sleeper")
    wait_until(lambda: table.get_attribute("data-cw-shown") == "2", 10, "the 2 sleepers")
    assert bar.locator(".cw-selection-count").inner_text() == "3 selected (1 not shown):"
    updates = int(table.get_attribute("data-cw-updates") or 0)
    demo.probe.exec("mgr.submit(bulk('Al'), 'emt.static_job', label='another')")
    wait_until(lambda: int(table.get_attribute("data-cw-updates") or 0) > updates, 30, "a live update")
    table.locator("input.cw-table-search").fill("bulk")
    wait_until(lambda: table.get_attribute("data-cw-shown") == "3", 10, "the 3 rows again")
    assert all("cw-checked" in row_of(table, i).get_attribute("class").split() for i in (done, a, b))
    assert row_of(table, done).locator("input.cw-select").is_checked()
    demo.screenshot("table-actions-selected", table)

    bar.locator("button.cw-bulk-cancel").click()
    question = bar.locator(".cw-bulk-confirm")
    question.wait_for(state="visible", timeout=5_000)
    assert question.locator(".cw-confirm").inner_text() == "Cancel 3 jobs?"
    demo.screenshot("table-actions-confirm", table)
    assert demo.probe.eval("[mgr.get(i).state.value for i in (sleepers[0].id, sleepers[1].id)]") == ["running"] * 2
    question.locator("button.cw-bulk-yes").click()

    status = table.locator(":scope > .cw-status")
    wait_until(lambda: status.inner_text() == "cancelled 2; 1 had already finished", 30, "the report")
    wait_state(row_of(table, a), "cancelled", 30)
    wait_state(row_of(table, b), "cancelled", 30)
    assert row_of(table, done).get_attribute("data-state") == "completed"
    assert bar.is_hidden()  # the selection it acted on is cleared
    assert demo.dialogs == []  # the question is inline, never window.confirm
    demo.screenshot("table-actions-cancelled", table)
    demo.probe.exec("table.filter_text = ''; table.sort_by = 'age'")


def test_use_as_template_fills_the_apps_form(demo):
    table = table_of(demo)
    demo.probe.exec(
        "t = mgr.submit(bulk('Cu', a=3.75), 'emt.relax_job', relax_cell=True, opt_params={'fmax': 0.07}, label='template me')\n"
        "app.form.recipe = 'emt.static_job'"
    )
    job_id = demo.probe.eval("t.id")
    wait_state(row_of(table, job_id), "completed", 180)
    open_details(demo, table, job_id)
    table.locator(".cw-details .cw-template").click()

    demo.probe.wait_for("app.form.recipe", "emt.relax_job")
    demo.probe.wait_for("app.form.value == mgr.get(t.id).params", True)
    status = table.locator(":scope > .cw-status")
    wait_until(lambda: status.inner_text().startswith(f"job {job_id[:8]} is in the form"), 10, "the status")
    form = demo.panel.locator(".cw-form").first
    wait_until(lambda: form.locator("[data-field='relax_cell'] input.cw-input").is_checked(), 10, "relax_cell ticked")
    assert not form.locator("[data-field='relax_cell'] .cw-default input").is_checked()  # set, not the default
    fmax = form.locator("[data-field='opt_params'] .cw-row[data-key='fmax'] .cw-row-value")
    assert fmax.input_value() == "0.07"
    picked = demo.panel.locator(".cw-structure-pick select").first
    assert f"job {job_id[:8]} input" in picked.locator("option:checked").inner_text().replace("\xa0", " ")
    demo.screenshot("table-actions-template", demo.panel.locator(".cw-app").first)
    # the same from the row itself: a finished row's Template button, no details needed
    demo.probe.exec("app.form.recipe = 'emt.static_job'; table.details_id = ''")
    demo.probe.wait_for("app.form.recipe", "emt.static_job")
    button = row_of(table, job_id).locator("button[data-action='template']")
    assert button.inner_text() == "Template" and "Use as template" in button.get_attribute("title")
    assert button.evaluate("(b) => b.getBoundingClientRect().right <= b.closest('.cw-td').getBoundingClientRect().right + 0.5")
    button.scroll_into_view_if_needed()
    demo.screenshot("table-actions-row-template", row_of(table, job_id))
    button.click()
    demo.probe.wait_for("app.form.recipe", "emt.relax_job")
    demo.probe.wait_for("app.form.value == mgr.get(t.id).params", True)
    assert demo.probe.eval("table.details_id") == ""  # the click filled the form, it opened nothing

    demo.panel.locator(".cw-form .cw-submit").first.click()
    demo.probe.wait_for("len([j for j in mgr.jobs() if j.params == mgr.get(t.id).params and j.id != t.id])", 1, timeout=30)
    same = demo.probe.eval(
        "[(j.recipe, j.structure_hash == mgr.get(t.id).structure_hash) for j in mgr.jobs() "
        "if j.params == mgr.get(t.id).params and j.id != t.id]"
    )
    assert same == [["emt.relax_job", True]]


def test_files_listed_viewed_as_text_and_zipped(demo):
    table = table_of(demo)
    demo.probe.exec("f = mgr.submit(bulk('Cu', a=3.7), 'emt.relax_job', relax_cell=False, label='files')")
    job_id = demo.probe.eval("f.id")
    wait_state(row_of(table, job_id), "completed", 180)
    demo.probe.exec(f"open(mgr.get(f.id).work_dir + '/notes.txt', 'w').write({XSS!r} + '\\n')")
    open_details(demo, table, job_id)
    files = table.locator(".cw-files")
    files.locator("button.cw-files-list").click()
    entries = files.locator(".cw-file")
    wait_until(lambda: entries.count() > 5, 15, "the listing")
    paths = [entries.nth(i).get_attribute("data-path") for i in range(entries.count())]
    expected = demo.probe.eval("[e.path for e in mgr.files(f.id).list()[0]]")
    assert paths == expected
    log = next(p for p in paths if p.endswith("/opt.log.gz"))
    assert files.locator(f".cw-file[data-path='{log}'] .cw-file-name").inner_text() == "opt.log.gz"

    view = files.locator(".cw-file-view")
    files.locator(f".cw-file[data-path='{log}'] .cw-file-view-button").click()
    wait_until(lambda: view.get_attribute("data-path") == log, 15, "the log's text")
    text = view.locator(".cw-file-text").inner_text()
    assert text.strip() == demo.probe.eval(f"mgr.files(f.id).text({log!r}).text").strip()
    assert "gzipped" in view.locator(".cw-file-head").inner_text()
    demo.screenshot("table-actions-files-log", table.locator(".cw-details"))

    # a 273 KB log: its last 64 KB first, "Show more" twice gives all of it, the lines read stay put
    demo.probe.exec(
        "open(mgr.get(f.id).work_dir + '/long.log', 'w').write(''.join(f'line {i:06d} of the long log\\n' for i in range(10_000)))"
    )
    files.locator("button.cw-files-list").click()
    wait_until(lambda: files.locator(".cw-file[data-path='long.log']").count() == 1, 15, "the long log listed")
    files.locator(".cw-file[data-path='long.log'] .cw-file-view-button").click()
    wait_until(lambda: view.get_attribute("data-path") == "long.log", 15, "the long log's text")
    more, pre = view.locator(".cw-file-more"), view.locator(".cw-file-text")
    assert "the last 64 KB of 273 KB" in view.locator(".cw-file-head").inner_text()
    assert more.is_visible() and more.inner_text() == "Show more (the last 256 KB)"
    first = pre.inner_text().splitlines()
    assert first[-1] == "line 009999 of the long log" and len(first) < 2400
    pre.evaluate("el => { el.scrollTop = 0; }")  # reading the first line shown
    more.click()
    wait_until(lambda: len(pre.inner_text().splitlines()) > 9000, 15, "the last 256 KB")
    top = pre.evaluate(
        "el => { const r = el.getBoundingClientRect(); const h = el.scrollHeight / el.textContent.split('\\n').length;"
        " return Math.round(el.scrollTop / h); }"
    )
    lines = pre.inner_text().splitlines()
    assert lines[top] == first[0] or abs(lines.index(first[0]) - top) <= 1  # the same line still at the top
    assert more.inner_text() == "Show more (the last 1.0 MB)"
    demo.screenshot("table-actions-files-more", view)
    more.click()
    wait_until(lambda: pre.inner_text().startswith("line 000000"), 15, "the whole log")
    assert more.is_hidden() and len(pre.inner_text().splitlines()) == 10_000
    assert "the last" not in view.locator(".cw-file-head").inner_text()

    files.locator(".cw-file[data-path='notes.txt'] .cw-file-view-button").click()
    wait_until(lambda: view.get_attribute("data-path") == "notes.txt", 15, "the notes' text")
    assert view.locator(".cw-file-text").inner_text().strip() == XSS
    files.locator(".cw-file[data-path='cw-stderr.txt'] .cw-file-view-button").click()
    wait_until(lambda: view.get_attribute("data-path") == "cw-stderr.txt", 15, "the stderr")
    files.locator(".cw-file[data-path='cw-input.pkl'] .cw-file-view-button").click()
    wait_until(lambda: view.get_attribute("data-path") == "cw-input.pkl", 15, "the binary's note")
    assert view.get_attribute("data-binary") == "true"
    assert "binary file" in view.locator(".cw-file-head").inner_text()
    demo.page.wait_for_timeout(500)  # an <img onerror> would have fired by now
    assert demo.panel.locator("img[src='x']").count() == 0 and demo.dialogs == []

    with demo.page.expect_download(timeout=60_000) as info:
        files.locator("button.cw-files-zip").click()
    assert info.value.suggested_filename == f"job-{job_id[:8]}.zip"
    archive = zipfile.ZipFile(io.BytesIO(open(info.value.path(), "rb").read()))
    root = demo.probe.eval("__import__('os').path.basename(mgr.get(f.id).work_dir)")
    assert set(archive.namelist()) == {f"{root}/{e}" for e in demo.probe.eval("[e.path for e in mgr.files(f.id).list()[0] if e.kind == 'file']")}
    assert archive.read(f"{root}/notes.txt").decode().strip() == XSS
    with demo.page.expect_download(timeout=60_000) as info:
        files.locator(".cw-file[data-path='cw-result.json'] .cw-file-download").click()
    assert open(info.value.path(), "rb").read() == demo.probe.eval("open(mgr.get(f.id).work_dir + '/cw-result.json').read()").encode()
    wait_until(lambda: table.locator(":scope > .cw-status").inner_text().startswith("cw-result.json:"), 10, "the download note")
    demo.screenshot("table-actions-files", table.locator(".cw-details"))
