"""The App's recent structures and its grid sweep in real JupyterLab and Chromium, as a user
does it: paste a structure, restart the kernel (outputs cleared, every cell run again), find
the pasted structure under "Recent structures", load it; then sweep opt_params.fmax over
three values in the Sweep section and see the three labelled rows in the job table."""

from __future__ import annotations

import pytest

from tests.helpers import wait_until

pytestmark = pytest.mark.browser

NOTEBOOK = "app.ipynb"
PASTED = "3\nwater from the browser test\nO 0 0 0\nH 0 0.76 0.59\nH 0 -0.76 0.59\n"


def texts(options) -> list[str]:
    """Option texts with ipywidgets' non-breaking spaces as plain ones."""
    return [t.replace("\xa0", " ") for t in options.all_inner_texts()]


def open_section(app, title: str):
    app.locator(".jupyter-widget-Collapse-header", has_text=title).first.click()


def restart_and_clear(notebook) -> None:
    """Kernel > Restart Kernel and Clear Outputs of All Cells..., confirmed."""
    page = notebook.page
    notebook.dismiss_dialogs()
    page.locator(".lm-MenuBar-item", has_text="Kernel").first.click(timeout=10_000)
    page.locator(".lm-Menu-item[data-command='kernelmenu:restart-and-clear']").click()
    page.locator(".jp-Dialog-button.jp-mod-accept").click(timeout=10_000)
    prompts = notebook.panel.locator(".jp-CodeCell .jp-InputArea-prompt")
    wait_until(lambda: all(t.strip() == "[ ]:" for t in prompts.all_inner_texts()), 30, "the outputs to clear")
    notebook.wait_idle(60)


def test_recent_structures_after_a_restart_and_an_fmax_sweep(open_notebook, lab):
    notebook = open_notebook(NOTEBOOK, height=1700)
    notebook.run_all(timeout=200)
    panel = notebook.panel
    app = panel.locator(".cw-app").first

    # paste a structure in the UI
    open_section(app, "Paste text")
    app.locator("textarea").first.fill(PASTED)
    app.locator("button", has_text="Load pasted text").click()
    pick = app.locator(".cw-structure-pick select")
    wait_until(lambda: any("water from the browser test" in t for t in texts(pick.locator("option"))), 20, "the pasted one")
    with lab.probe(NOTEBOOK) as kernel:
        kernel.wait_for("app._remember_thread is not None and not app._remember_thread.is_alive()", True, 20)
        old_pid = kernel.eval("__import__('os').getpid()")

    # a new kernel: the App starts with only the notebook's Cu, the pasted one is recent
    restart_and_clear(notebook)
    notebook.run_all(timeout=200)
    app = panel.locator(".cw-app").first
    with lab.probe(NOTEBOOK) as kernel:
        assert kernel.eval("__import__('os').getpid()") != old_pid
        assert kernel.eval("len(app.structures)") == 1
    pick = app.locator(".cw-structure-pick select")
    assert not any("water" in t for t in texts(pick.locator("option")))
    open_section(app, "Recent structures")
    recent = app.locator(".cw-recent-list select")
    recent.wait_for(state="visible", timeout=10_000)
    options = texts(recent.locator("option"))
    water = next(i for i, t in enumerate(options) if t.startswith("water from the browser test (H2O, 3 atoms) - paste, "))
    notebook.screenshot("app-recent-after-restart", app)
    recent.select_option(index=water)
    app.locator(".cw-recent button", has_text="Load").click()
    wait_until(lambda: "2: water from the browser test (H2O, 3 atoms)" in texts(pick.locator("option")), 20,
               "the recent structure loaded again")

    # an fmax sweep on the selected Cu, built in the Sweep section
    pick.select_option(index=0)
    open_section(app, "Sweep")
    sweep = app.locator(".cw-sweep")
    sweep.wait_for(state="visible", timeout=10_000)
    selects = sweep.locator("select")
    selects.nth(0).select_option(label="the selected structure")
    selects.nth(1).select_option(label="opt_params.fmax")
    sweep.locator("input[type='text']").first.fill("0.1, 0.05, 0.01")
    sweep.locator("input[type='text']").first.press("Tab")
    with lab.probe(NOTEBOOK) as kernel:
        before = kernel.eval("len(mgr.jobs())")
    sweep.locator("button", has_text="Submit sweep").click()
    label = sweep.locator(".widget-label", has_text="submitted")
    wait_until(lambda: label.count() and "submitted 3 of 3" in label.first.inner_text(), 30, "the sweep submitted")
    with lab.probe(NOTEBOOK) as kernel:
        assert kernel.eval("len(mgr.jobs())") == before + 3
        labels = kernel.eval("[r.label for r in mgr.jobs()[-3:]]")
        fmax = kernel.eval("[r.params['opt_params']['fmax'] for r in mgr.jobs()[-3:]]")
    assert labels == ["Cu fmax=0.1", "Cu fmax=0.05", "Cu fmax=0.01"] and fmax == [0.1, 0.05, 0.01]
    table = panel.locator(".cw-table").first
    for text in labels:
        wait_until(lambda text=text: table.locator(".cw-tr", has_text=text).count() == 1, 30, f"the row {text}")
    with lab.probe(NOTEBOOK) as kernel:
        kernel.wait_for("all(r.state.value == 'completed' for r in mgr.jobs()[-3:])", True, 180)
    # by label: the lab's store is shared by the test files on this worker (test_table has a
    # completed "... fmax=0.01" row of its own)
    wait_until(lambda: all(table.locator(".cw-tr", has_text=text).filter(has_text="completed").count() == 1
                           for text in labels), 30, "the three rows completed")
    notebook.screenshot("app-fmax-sweep-rows", app)
