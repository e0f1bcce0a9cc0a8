"""The quickstart in real JupyterLab and Chromium, as a user sees it: the App draws the
structure, the notebook's job turns completed with an energy in the table, a bad value
in the form is flagged inline and blocks Submit, and pressing Submit runs a real job."""

from __future__ import annotations

import pytest

from tests.helpers import wait_until

pytestmark = pytest.mark.browser

NOTEBOOK = "01-quickstart.ipynb"


def form_text(panel) -> str:
    return panel.locator(".cw-form").first.inner_text()


def test_quickstart_app(open_notebook, lab):
    notebook = open_notebook(NOTEBOOK)
    notebook.run_all(timeout=200)  # under pytest-timeout (300 s): a failure shows its diagnosis
    panel, page = notebook.panel, notebook.page
    notebook.screenshot("quickstart-after-run-all")

    # the viewer drew the 32-atom crystal
    viewer = panel.locator(".cw-viewer").first
    page.wait_for_function(
        "el => el.dataset.cwAtoms === '32' && el.dataset.cwAtomsOnCanvas",
        arg=viewer.element_handle(),
        timeout=30_000,
    )

    with lab.probe(NOTEBOOK) as kernel:
        first = kernel.eval("job.id")
        assert kernel.eval("mgr.get(job.id).state.value") == "completed"
        energy = kernel.eval("mgr.get(job.id).summary['energy_ev']")
    table = panel.locator(".cw-table").first
    row = table.locator(f".cw-tr[data-id='{first}']")
    row.wait_for(timeout=30_000)
    assert "completed" in row.inner_text()
    assert "null" not in form_text(panel)
    assert f"{energy:.3f}"[:6] in row.inner_text().replace("−", "-")

    # a bad value is flagged inline by the kernel's validation, and Submit is off
    form = panel.locator(".cw-form").first
    submit = form.locator(".cw-submit")
    assert submit.is_enabled()
    field = form.locator("[data-field='opt_params']")
    field.locator(".cw-default input").uncheck()
    field.locator(".cw-row-add").click()
    field.locator("select.cw-row-key").select_option("fmax")
    field.locator(".cw-row-value").fill("abc")
    field.locator(".cw-row-value").press("Tab")
    error = form.locator("[data-field='opt_params'] .cw-error")
    error.wait_for(timeout=15_000)
    assert "fmax" in error.inner_text() and "number" in error.inner_text()
    wait_until(lambda: not submit.is_enabled(), 10, "Submit to be disabled")
    notebook.screenshot("quickstart-form-invalid", form)

    # fixed: the error goes, Submit comes back, and pressing it runs a real job
    form.locator("[data-field='opt_params'] .cw-row-value").fill("0.05")
    form.locator("[data-field='opt_params'] .cw-row-value").press("Tab")
    wait_until(lambda: submit.is_enabled(), 15, "Submit to be enabled again")
    assert form.locator("[data-field='opt_params'] .cw-error").count() == 0

    # an optional field at its default takes one click: ticking the checkbox itself sets it
    relax = form.locator("[data-field='relax_cell']")
    relax.locator(".cw-default input").check()  # back to the recipe's default (False)
    box = relax.locator(".cw-field-body input[type='checkbox']")
    wait_until(lambda: not box.is_checked() and box.is_enabled(), 10, "relax_cell at its default, editable")
    box.click()
    wait_until(lambda: not relax.locator(".cw-default input").is_checked(), 10, "'default' unticked by the click")
    assert box.is_checked()
    wait_until(lambda: submit.is_enabled(), 15, "Submit enabled")
    with lab.probe(NOTEBOOK) as kernel:  # the lab's store also holds other notebooks' jobs
        before = kernel.eval("len(mgr.jobs())")
    submit.click()
    with lab.probe(NOTEBOOK) as kernel:
        wait_until(lambda: kernel.eval("len(mgr.jobs())") == before + 1, 20, "the clicked job to be recorded")
        second = kernel.eval("max(mgr.jobs(), key=lambda j: j.created).id")
        assert kernel.eval(f"mgr.get({second!r}).params") == {"relax_cell": True, "opt_params": {"fmax": 0.05}}
        kernel.wait_for(f"mgr.get({second!r}).state.value", "completed", timeout=120)
    row = table.locator(f".cw-tr[data-id='{second}']")
    wait_until(lambda: "completed" in row.inner_text(), 30, "the clicked job's row to turn completed")
    notebook.screenshot("quickstart-two-jobs")


def test_a_dask_local_profile_made_in_the_picker_runs_the_apps_job(open_notebook, lab):
    """In the App: New profile -> dask-local, one worker, Save; it is selected; Submit; the
    job's row turns completed, run by a Dask worker. Nothing engine-specific in the page."""
    notebook = open_notebook(NOTEBOOK)
    notebook.run_all(timeout=200)
    panel = notebook.panel
    picker = panel.locator(".cw-picker").first
    picker.locator("select.cw-new-kind").select_option("dask-local")
    picker.locator("button[data-action='new']").click()
    editor = picker.locator(".cw-editor")
    editor.wait_for(state="visible", timeout=10_000)
    assert editor.locator(".cw-editor-title").inner_text() == "New dask-local profile"
    fields = [f.get_attribute("data-field") for f in editor.locator(".cw-field").all()]
    assert fields[:4] == ["name", "description", "n_workers", "memory_limit_gb"], fields
    name = editor.locator(".cw-field[data-field='name'] .cw-input")
    name.fill("dl")
    name.press("Tab")
    workers = editor.locator(".cw-field[data-field='n_workers']")
    workers.locator(".cw-default input").uncheck()
    workers.locator(".cw-input").fill("1")
    workers.locator(".cw-input").press("Tab")
    save = editor.locator("button[data-action='save']")
    wait_until(lambda: save.is_enabled(), 15, "Save to be enabled")
    save.click()
    editor.wait_for(state="hidden", timeout=10_000)
    picker.locator(".cw-profile[data-name='dl'][aria-checked='true']").wait_for(timeout=10_000)

    with lab.probe(NOTEBOOK) as kernel:
        assert kernel.eval("app.picker.value") == "dl"
        before = kernel.eval("len(mgr.jobs())")
        panel.locator(".cw-form .cw-submit").first.click()
        wait_until(lambda: kernel.eval("len(mgr.jobs())") == before + 1, 20, "the clicked job to be recorded")
        job_id = kernel.eval("max(mgr.jobs(), key=lambda j: j.created).id")
        assert kernel.eval(f"mgr.get({job_id!r}).profile") == "dl"
        kernel.wait_for(f"mgr.get({job_id!r}).state.value", "completed", timeout=180)
        worker = kernel.eval(f"mgr.get({job_id!r}).engine_ref['worker']")
        assert worker.startswith("tcp://127.0.0.1:")
    row = panel.locator(f".cw-table .cw-tr[data-id='{job_id}']").first
    wait_until(lambda: "completed" in row.inner_text(), 30, "the Dask job's row to turn completed")
    facts = picker.locator(".cw-health-facts")
    wait_until(lambda: "engine ready" in facts.inner_text(), 20, "the Dask runner's health shown")
    notebook.screenshot("app-dask-local-job", panel.locator(".cw-app").first)
    with lab.probe(NOTEBOOK) as kernel:
        kernel.exec("mgr.close()\nfrom crystalwidgets import ProfileStore; ProfileStore().delete('dl')", timeout=60)
