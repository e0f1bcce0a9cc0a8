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
    submit.click()
    with lab.probe(NOTEBOOK) as kernel:
        wait_until(lambda: kernel.eval("len(mgr.jobs())") == 2, 20, "the clicked job to be recorded")
        second = kernel.eval("mgr.jobs()[-1].id")
        assert kernel.eval("mgr.jobs()[-1].params") == {"relax_cell": True, "opt_params": {"fmax": 0.05}}
        kernel.wait_for(f"mgr.get({second!r}).state.value", "completed", timeout=120)
    row = table.locator(f".cw-tr[data-id='{second}']")
    wait_until(lambda: "completed" in row.inner_text(), 30, "the clicked job's row to turn completed")
    notebook.screenshot("quickstart-two-jobs")
