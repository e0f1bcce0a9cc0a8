"""The App's two "what now?" cases in real JupyterLab and Chromium: a relaxation that stopped
before converging keeps its steps and continues, from its details, where it stopped; a recipe
whose program is not on this machine is marked in the recipe list, and the local profile
refuses it with the reason.

The App notebook (notebooks/app.ipynb) is run once for the module; the tests submit their
own jobs through its kernel. Screenshots go to the artifacts folder (``_lab.artifacts_dir``).
"""

from __future__ import annotations

import pytest
from _lab import demo_notebook
from test_table import row_of, wait_state
from test_table_actions import open_details, table_of

from tests.helpers import wait_until

pytestmark = pytest.mark.browser

NOTEBOOK = "app.ipynb"


@pytest.fixture(scope="module")
def demo(lab, browser):
    setup = "import numpy as np; table = app.table"
    with demo_notebook(lab, browser, NOTEBOOK, setup, width=1400, timeout=180) as notebook:
        notebook.page.set_viewport_size({"width": 1400, "height": 1600})
        yield notebook


def test_an_unconverged_relaxation_continues_from_its_last_structure(demo):
    table = table_of(demo)
    demo.probe.exec(
        "atoms = bulk('Cu', cubic=True) * (2, 2, 2); atoms.rattle(0.2, seed=1)\n"
        "stuck = mgr.submit(atoms, 'emt.relax_job', opt_params={'fmax': 1e-6, 'max_steps': 3}, label='not converged')"
    )
    old = demo.probe.eval("stuck.id")
    wait_state(row_of(table, old), "failed", 180)
    assert demo.probe.eval("mgr.get(stuck.id).summary['unconverged']") is True

    open_details(demo, table, old)
    info = table.locator(f".cw-details-info[data-id='{old}']")
    info.locator(".cw-continue").wait_for(timeout=15_000)
    text = info.inner_text()
    assert "Not converged after 3 steps: its steps and last structure are kept." in text
    assert "Optimization did not converge" in text  # the error, as the job raised it
    facts = info.locator(".cw-details-facts").inner_text().split("\n")
    assert facts[facts.index("Converged") + 1] == "no"
    assert facts[facts.index("Optimiser steps") + 1] == "3"
    plot = info.locator("svg.cw-plot")
    assert plot.is_visible() and plot.get_attribute("data-cw-points") == "4"  # the input and 3 steps
    assert "Energy per step" in text
    continue_ = info.locator("button.cw-continue")
    assert continue_.inner_text() == "Continue from the last structure"

    before = demo.probe.eval("len(mgr.jobs())")
    continue_.click()
    demo.probe.wait_for("len(mgr.jobs())", before + 1, timeout=30)
    new = demo.probe.eval("max(mgr.jobs(), key=lambda j: j.created).id")
    assert new != old
    demo.probe.wait_for("table.details_id", new)  # the table opens the new job
    job = demo.probe.eval(
        f"(lambda j: [j.recipe, j.label, j.params, j.profile])(mgr.get({new!r}))"
    )
    assert job == ["emt.relax_job", f"continued from {old[:8]}",
                   demo.probe.eval("mgr.get(stuck.id).params"), demo.probe.eval("mgr.get(stuck.id).profile")]
    # it starts from the old job's last step: not its input, which the relaxation moved
    same = demo.probe.eval(
        "(lambda first, last, input_: [bool(np.allclose(first.positions, last.positions, atol=1e-9)),"
        " bool(np.allclose(first.cell, last.cell)), bool(np.allclose(first.positions, input_.positions))])"
        f"(mgr.structure({new!r}), mgr.structure({old!r}, final=True), mgr.structure({old!r}))"
    )
    assert same == [True, True, False]

    row = row_of(table, new)
    row.wait_for(timeout=30_000)
    assert row.is_visible() and row.get_attribute("data-state") in ("pending", "running", "failed", "completed")
    assert row.locator(".cw-td[data-key='label']").inner_text() == f"continued from {old[:8]}"
    assert "cw-selected" in row.get_attribute("class").split()  # the row of the open details
    table.locator(f".cw-details-info[data-id='{new}']").wait_for(timeout=15_000)
    wait_until(lambda: row.get_attribute("data-state") in ("failed", "completed"), 180, "the new job to end")
    demo.screenshot("app-continue", demo.panel.locator(".cw-app").first)


def test_a_recipe_whose_program_is_missing_is_marked_and_refused_on_this_machine(demo):
    form = demo.panel.locator(".cw-app .cw-form").first
    form.wait_for(state="visible", timeout=30_000)
    assert demo.probe.eval("app.picker.value") == "local"
    assert demo.probe.eval("mgr.profiles.get('local').runs_here") is True
    entries = demo.probe.eval(
        "{e['name']: [e['program'], e['needs']] for e in app.form.catalogue"
        " if e['name'] in ('vasp.static_job', 'gulp.static_job', 'emt.relax_job')}"
    )
    assert entries["emt.relax_job"] == [None, None]
    assert entries["vasp.static_job"][0] == "vasp_std"
    assert entries["vasp.static_job"][1].startswith(
        "needs vasp_std (QUACC_VASP_CMD), which is not on this machine's PATH"
    )

    # in the list: marked with the program it needs, greyed and italic, still pickable
    select = form.locator("select.cw-recipe-list")
    vasp = select.locator("option[value='vasp.static_job']")
    assert " ".join(vasp.text_content().split()) == "vasp.static_job (needs vasp_std)"
    assert "cw-elsewhere" in vasp.get_attribute("class").split()
    assert vasp.get_attribute("title") == f"on a cluster profile only: {entries['vasp.static_job'][1]}"
    assert not vasp.is_disabled()
    emt = select.locator("option[value='emt.relax_job']")
    assert emt.text_content() == "emt.relax_job" and not emt.get_attribute("class")
    style = "o => [getComputedStyle(o).color, getComputedStyle(o).fontStyle]"
    assert vasp.evaluate(style)[1] == "italic" and emt.evaluate(style)[1] == "normal"
    assert vasp.evaluate(style)[0] != emt.evaluate(style)[0]  # greyed

    select.select_option("vasp.static_job")
    demo.probe.wait_for("app.form.recipe", "vasp.static_job")
    needs = form.locator(".cw-recipe-about .cw-needs")
    needs.wait_for(timeout=15_000)
    assert needs.inner_text() == f"on a cluster profile only: {entries['vasp.static_job'][1]}"
    # here VASP also lacks its POTCARs: that parameter problem comes first and Submit is off
    form.locator("[data-field='preset'] .cw-error").wait_for(timeout=30_000)
    submit = form.locator(".cw-submit")
    wait_until(lambda: not submit.is_enabled(), 15, "Submit to be disabled for the POTCARs")

    # a recipe whose parameters are fine: only its program is missing, and Submit says so
    gulp = select.locator("option[value='gulp.static_job']")
    assert " ".join(gulp.text_content().split()) == "gulp.static_job (needs gulp)"
    assert "cw-elsewhere" in gulp.get_attribute("class").split()
    select.select_option("gulp.static_job")
    demo.probe.wait_for("app.form.recipe", "gulp.static_job")
    demo.probe.wait_for("app.form.valid", True, timeout=30)
    wait_until(lambda: submit.is_enabled(), 15, "Submit to be enabled")
    form.locator("input.cw-search").fill("gulp")  # the list shows the gulp recipes, marked
    before = demo.probe.eval("len(mgr.jobs())")
    submit.click()
    status = form.locator(".cw-form-bottom .cw-status")
    # the reason, as the manager refuses it: nothing was submitted, and the status says so
    expected = (
        "not submitted: gulp.static_job cannot run on profile 'local' (this machine): "
        "needs gulp (QUACC_GULP_CMD), which is not on this machine's PATH: run it on a cluster profile"
    )
    try:
        wait_until(lambda: expected in status.inner_text(), 20, "the refusal")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}: the status says {status.inner_text()!r}") from None
    assert status.is_visible() and expected in demo.probe.eval("app.form.status")
    assert demo.probe.eval("len(mgr.jobs())") == before  # nothing recorded
    demo.screenshot("app-recipe-needs-program", form)
    demo.probe.exec("app.form.recipe = 'emt.relax_job'")
