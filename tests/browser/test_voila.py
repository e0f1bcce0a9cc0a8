"""The App as a standalone Voila page (``notebooks/app.ipynb``) in real Chromium: the page
shows the widgets and no code, anywidget's ES modules load from the server (nothing from
outside), and a job submitted from the page runs and its row turns completed."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.helpers import wait_until

pytestmark = pytest.mark.browser

NOTEBOOK = "app.ipynb"
#: Voila's own page template (templates/lab/index.html.j2) links Font Awesome from jsdelivr;
#: offline the link fails and only Voila's icons are missing. Nothing else may leave the host.
VOILA_TEMPLATE_CDN = "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@"


def test_app_page_submits_a_job_and_shows_no_code(voila, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: urlsplit(r.url).hostname not in ("127.0.0.1", None) and outside.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(voila.notebook_url(NOTEBOOK), timeout=120_000)
        viewer = page.locator(".cw-viewer").first
        viewer.wait_for(timeout=60_000)
        # the viewer's ESM ran and drew the 4-atom cubic cell
        page.wait_for_function("el => el.dataset.cwAtoms === '4'", arg=viewer.element_handle(), timeout=30_000)

        # outputs only: no input areas, no code text
        assert page.locator(".jp-InputArea-editor, .CodeMirror, .cm-editor").count() == 0
        text = page.locator("body").inner_text()
        assert "JobManager()" not in text and "import" not in text, text[:400]

        # the kernel's store is the server's private one
        with voila.probe() as kernel:
            store = kernel.eval("str(mgr.store.path)")
        assert store.startswith(voila.env["CRYSTALWIDGETS_HOME"]), store

        submit = page.locator(".cw-form .cw-submit").first
        wait_until(submit.is_enabled, 20, "Submit to be enabled")
        submit.click()
        row = page.locator(".cw-table .cw-tr[data-id]").first
        row.wait_for(timeout=30_000)
        wait_until(lambda: "completed" in row.inner_text(), 120, "the submitted job's row to turn completed")
        assert "emt.relax_job" in row.inner_text()
        page.screenshot(path=str(_artifact("voila-app-job-completed")))
        with voila.probe() as kernel:
            assert kernel.eval("[j.state.value for j in mgr.jobs()]") == ["completed"]
        ours = [url for url in outside if not url.startswith(VOILA_TEMPLATE_CDN)]
        assert ours == [], f"fetched from outside: {ours}"
        assert not errors, errors
    finally:
        context.close()


def _artifact(name: str):
    from _lab import artifacts_dir

    return artifacts_dir() / f"{name}.png"
