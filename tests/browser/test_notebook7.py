"""The quickstart in Jupyter Notebook 7 (``notebook``), in real Chromium: it runs, the viewer
draws the crystal and the notebook's job shows completed in the table."""

from __future__ import annotations

import pytest
from _lab import NotebookPage

from tests.helpers import wait_until

pytestmark = pytest.mark.browser

NOTEBOOK = "01-quickstart.ipynb"


def test_quickstart_in_notebook7(notebook7, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        notebook = NotebookPage(context.new_page(), notebook7, NOTEBOOK).open()
        notebook.run_all(timeout=200)
        panel, page = notebook.panel, notebook.page
        viewer = panel.locator(".cw-viewer").first
        page.wait_for_function(
            "el => el.dataset.cwAtoms === '32' && el.dataset.cwAtomsOnCanvas",
            arg=viewer.element_handle(),
            timeout=30_000,
        )
        with notebook7.probe(NOTEBOOK) as kernel:
            job_id = kernel.eval("job.id")
            assert kernel.eval("mgr.get(job.id).state.value") == "completed"
        row = panel.locator(f".cw-table .cw-tr[data-id='{job_id}']")
        row.wait_for(timeout=30_000)
        wait_until(lambda: "completed" in row.inner_text(), 30, "the job's row to show completed")
        for widget in (".cw-form", ".cw-picker", ".cw-table"):
            assert panel.locator(widget).first.is_visible(), widget
        notebook.screenshot("notebook7-quickstart")
    finally:
        context.close()
