"""Three App features in real JupyterLab and Chromium, clicked as a user does: the structure
tools ("Build from this structure": a 2×2×2 supercell of the picked Cu, then a vacancy in
it, each checked against pymatgen and ASE in the kernel; a malformed supercell refused with
the fix and nothing changed); a recipe's entries kept when switching to another recipe and
back (one click on a bool at its default sets it); and Resubmit in a finished job's details,
which runs the same structure, recipe and parameters again as a new job.

The App notebook (notebooks/app.ipynb) is run once for the module; the jobs are found by id
or a label of their own (the lab's store is shared by the test files on this worker).
Screenshots go to the artifacts folder (``_lab.artifacts_dir``).
"""

from __future__ import annotations

import uuid

import pytest
from _lab import artifacts_dir, demo_notebook
from test_app_recent_sweep import open_section, texts
from test_table import row_of, wait_state
from test_table_actions import open_details, table_of

from tests.helpers import wait_until

pytestmark = pytest.mark.browser

NOTEBOOK = "app.ipynb"

#: the kernel's reference for a structure: cell and Cartesian positions (rounded) with symbols
SAME = (
    "lambda a, b: len(a) == len(b) and bool(np.allclose(a.cell.array, b.cell.array, atol=1e-9))"
    " and a.get_chemical_symbols() == b.get_chemical_symbols()"
    " and bool(np.allclose(a.positions, b.positions, atol=1e-9))"
)
#: the same, whatever order the atoms come in (pymatgen's supercell orders its sites its own way)
SAME_SET = (
    "lambda a, b: len(a) == len(b) and bool(np.allclose(a.cell.array, b.cell.array, atol=1e-9))"
    " and sorted((s, *np.round(p, 6).tolist()) for s, p in zip(a.get_chemical_symbols(), a.positions))"
    " == sorted((s, *np.round(p, 6).tolist()) for s, p in zip(b.get_chemical_symbols(), b.positions))"
)


@pytest.fixture(scope="module")
def demo(lab, browser):
    setup = (
        "import numpy as np; from ase.build import make_supercell; "
        "from pymatgen.io.ase import AseAtomsAdaptor; table = app.table"
    )
    with demo_notebook(lab, browser, NOTEBOOK, setup, width=1400, timeout=180) as notebook:
        notebook.page.set_viewport_size({"width": 1400, "height": 1600})
        yield notebook


def app_of(demo):
    app = demo.panel.locator(".cw-app").first
    app.locator(".cw-structure-pick select").wait_for(state="visible", timeout=30_000)
    return app


def viewer_atoms(demo, app, n: int) -> None:
    """Wait until the App's own viewer (not a details view) draws ``n`` atoms."""
    viewer = app.locator(".cw-structure-box .cw-viewer").first
    try:
        wait_until(
            lambda: viewer.get_attribute("data-cw-atoms") == str(n) and viewer.get_attribute("data-cw-atoms-on-canvas"),
            30, f"the App's viewer to draw {n} atoms",
        )
    except TimeoutError as exc:
        raise AssertionError(f"{exc}: it shows {viewer.get_attribute('data-cw-atoms')!r}") from None


def shot(demo, name: str, *locators):
    """A screenshot of the page's region that holds all of ``locators``."""
    boxes = [locator.bounding_box() for locator in locators]
    x, y = min(b["x"] for b in boxes), min(b["y"] for b in boxes)
    clip = {"x": x, "y": y, "width": max(b["x"] + b["width"] for b in boxes) - x,
            "height": max(b["y"] + b["height"] for b in boxes) - y}
    demo.page.screenshot(path=str(artifacts_dir() / f"{name}.png"), clip=clip, full_page=True)


def test_structure_tools_make_a_supercell_and_a_vacancy_and_refuse_a_bad_matrix(demo):
    app = app_of(demo)
    pick = app.locator(".cw-structure-pick select")
    message = app.locator(".cw-app-message")
    demo.probe.exec("app.pick.index = 0")
    first = demo.probe.eval("len(app.structures)")
    assert demo.probe.eval("app.names[0]") == "1: Cu (Cu, 4 atoms)"  # the notebook's cubic Cu
    viewer_atoms(demo, app, 4)

    open_section(app, "Build from this structure")
    build = app.locator(".jupyter-widget-Collapse").filter(
        has=demo.page.locator(".jupyter-widget-Collapse-header", has_text="Build from this structure")
    )
    tool = build.locator("select").first
    text = build.locator("input[type='text']").first
    make = build.locator("button", has_text="Make structure")
    tool.wait_for(state="visible", timeout=10_000)
    assert tool.input_value() == "supercell"
    assert text.get_attribute("placeholder") == "2 2 2"
    assert "supercell: copies along a b c, or the 3x3 matrix row by row, e.g. 2 2 2" in build.inner_text()

    def make_with(value: str) -> None:
        """Type the tool's text as a user would, leave the field, and press Make structure."""
        text.fill(value)
        text.press("Tab")
        demo.probe.wait_for("app.tool_text.value", value)
        make.click()
    # the button says what it does: its whole label shown, not cut to "Ma..."
    assert make.inner_text() == "Make structure"
    assert make.evaluate("b => b.scrollWidth <= b.clientWidth"), "the Make structure button's label is cut"

    # 2 2 2 on the picked Cu: a new structure, named with where it came from, picked and drawn
    make_with("2 2 2")
    demo.probe.wait_for("len(app.structures)", first + 1)
    supercell = f"{first + 1}: Cu32 from 1: Cu, supercell 2×2×2 (Cu, 32 atoms)"
    wait_until(lambda: texts(pick.locator("option:checked")) == [supercell], 15, "the supercell picked")
    assert texts(pick.locator("option"))[-1] == supercell
    assert demo.probe.eval("[app.pick.index, len(app.structure), app.provenance[-1]]") == [
        first, 32, "built: supercell 2×2×2 from Cu"
    ]
    wait_until(lambda: message.inner_text() == f"made {supercell}", 10, "the message")
    assert app.locator(".cw-structure-box", has_text="Cu, 32 atoms").count() == 1  # the info next to the dropdown
    viewer_atoms(demo, app, 32)
    # what pymatgen's make_supercell and ASE's make_supercell give for the same 2×2×2
    assert demo.probe.eval(
        f"({SAME_SET})(app.structure, AseAtomsAdaptor.get_atoms(AseAtomsAdaptor.get_structure(app.structures[0]).make_supercell([2, 2, 2])))"
    ) is True
    assert demo.probe.eval(f"({SAME_SET})(app.structure, make_supercell(app.structures[0], 2 * np.eye(3)))") is True
    assert demo.probe.eval("len(app.structures[0])") == 4  # the Cu it came from is unchanged

    # a vacancy at atom 5 of the supercell
    tool.select_option("vacancy")
    demo.probe.wait_for("app.tool.value", "vacancy")
    wait_until(lambda: text.get_attribute("placeholder") == "0", 10, "the vacancy's placeholder")
    assert "vacancy: index of the atom to remove (from 0), e.g. 0" in build.inner_text()
    make_with("5")
    demo.probe.wait_for("len(app.structures)", first + 2)
    vacancy = f"{first + 2}: Cu31 from {first + 1}: Cu32 from 1: Cu, supercell 2×2×2, vacancy at Cu 5 (Cu, 31 atoms)"
    wait_until(lambda: texts(pick.locator("option:checked")) == [vacancy], 15, "the vacancy picked")
    viewer_atoms(demo, app, 31)
    # pymatgen's remove_sites and ASE's pop on the supercell (both in place, on copies)
    assert demo.probe.eval(
        f"(lambda s: [s.remove_sites([5]), ({SAME})(app.structure, AseAtomsAdaptor.get_atoms(s))][1])"
        f"(AseAtomsAdaptor.get_structure(app.structures[{first}]))"
    ) is True
    assert demo.probe.eval(f"(lambda a: [a.pop(5), ({SAME})(app.structure, a)][1])(app.structures[{first}].copy())") is True
    assert demo.probe.eval(f"len(app.structures[{first}])") == 32
    demo.screenshot("app-tools-vacancy", app.locator(".cw-structure-box"))
    # in the App's narrow column the viewer's lines wrap: none is cut (by a page with several
    # widgets' styles in it, where a later bundle's shared rules once undid the viewer's own)
    cut = app.locator(".cw-viewer").first.evaluate(
        """(v) => [...v.querySelectorAll('.cw-viewer-selection, .cw-viewer-summary, .cw-viewer-frame')]
             .filter((e) => e.offsetParent && (e.scrollWidth > e.clientWidth + 1
                            || e.getBoundingClientRect().right > v.getBoundingClientRect().right + 1))
             .map((e) => `${e.className}: ${e.textContent}`)"""
    )
    assert cut == [], cut
    hint = app.locator(".cw-viewer-selection").first
    assert hint.inner_text().endswith("2, 3 or 4 atoms are measured.")

    # a malformed supercell: the fix is said, nothing is added and the pick stays
    tool.select_option("supercell")
    demo.probe.wait_for("app.tool.value", "supercell")
    options = texts(pick.locator("option"))
    for bad, said in [
        ("2 x 2", "supercell: '2 x 2' is not copies along a b c, or the 3x3 matrix row by row; e.g. 2 2 2"),
        ("0 2 2", "supercell: matrix [[0, 0, 0], [0, 2, 0], [0, 0, 2]] has determinant 0; it must be at least 1 "
                  "(a right-handed, non-empty cell)"),
    ]:
        make_with(bad)
        try:
            wait_until(lambda said=said: message.inner_text() == said, 15, f"the error for {bad!r}")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}: the message says {message.inner_text()!r}") from None
        assert message.is_visible()
        assert demo.probe.eval("app.message.value") == said
        assert demo.probe.eval("[len(app.structures), app.pick.index, len(app.structure)]") == [first + 2, first + 1, 31]
        assert texts(pick.locator("option")) == options
        assert texts(pick.locator("option:checked")) == [vacancy]
        viewer_atoms(demo, app, 31)
    shot(demo, "app-tools-bad-supercell", app.locator(".cw-structure-box"), message)
    demo.probe.exec("app.pick.index = 0; app.tool.value = 'supercell'; app.tool_text.value = ''; app.message.value = ''")


def test_switching_recipe_and_back_keeps_what_was_entered(demo):
    form = demo.panel.locator(".cw-app .cw-form").first
    form.wait_for(state="visible", timeout=30_000)
    demo.probe.exec("app.form.recipe = 'emt.relax_job'; app.form.entries = {}")
    demo.probe.wait_for("app.form.entries", {})
    relax = form.locator("[data-field='relax_cell']")
    box = relax.locator(".cw-field-body input[type='checkbox']")
    default = relax.locator(".cw-default input")
    wait_until(lambda: default.is_checked() and not box.is_checked(), 10, "relax_cell at its default (False)")
    assert "cw-at-default" in box.get_attribute("class").split() and box.is_enabled()

    # ONE click on the bool's own checkbox: "default" goes and the value is set, in the kernel too
    box.click()
    demo.probe.wait_for("app.form.entries.get('relax_cell')", {"checked": True})
    wait_until(lambda: not default.is_checked(), 10, "'default' unticked by the one click")
    assert box.is_checked() and "cw-at-default" not in box.get_attribute("class").split()
    assert demo.probe.eval("app.form.value") == {"relax_cell": True}

    # opt_params.fmax typed in (the dict editor needs "default" unticked first)
    opt = form.locator("[data-field='opt_params']")
    opt.locator(".cw-default input").uncheck()
    opt.locator(".cw-row-add").click()
    opt.locator("select.cw-row-key").select_option("fmax")
    value = opt.locator(".cw-row-value")
    value.fill("0.025")
    # the kernel redraws the fields while it is being typed (as when the key's validation comes
    # back late): what was typed is kept, sent, and still has the focus (CI lost it once)
    demo.probe.exec("app.form.notes = [*app.form.notes, 'a redraw from the kernel']")
    entered = {"relax_cell": {"checked": True}, "opt_params": {"rows": [["fmax", "0.025"]]}}
    demo.probe.wait_for("app.form.entries", entered)
    assert value.input_value() == "0.025" and value.evaluate("(e) => e === document.activeElement")
    demo.probe.exec("app.form.notes = [n for n in app.form.notes if n != 'a redraw from the kernel']")
    value.press("Tab")
    demo.probe.wait_for("app.form.value", {"relax_cell": True, "opt_params": {"fmax": 0.025}})

    # another recipe: its own (empty) entries and fields
    select = form.locator("select.cw-recipe-list")
    select.select_option("emt.static_job")
    demo.probe.wait_for("app.form.recipe", "emt.static_job")
    wait_until(lambda: form.locator("[data-field='relax_cell']").count() == 0, 10, "the static job's fields")
    assert demo.probe.eval("[app.form.entries, app.form.value]") == [{}, {}]
    assert form.locator("[data-field='opt_params']").count() == 0

    # and back: both values are there, in the page and in the kernel
    select.select_option("emt.relax_job")
    demo.probe.wait_for("app.form.recipe", "emt.relax_job")
    fmax = form.locator("[data-field='opt_params'] .cw-row[data-key='fmax'] .cw-row-value")
    fmax.wait_for(timeout=10_000)
    assert fmax.input_value() == "0.025"
    assert not form.locator("[data-field='opt_params'] .cw-default input").is_checked()
    assert box.is_checked() and not default.is_checked()
    assert demo.probe.eval("app.form.entries") == entered
    assert demo.probe.eval("[app.form.value, app.form.valid]") == [{"relax_cell": True, "opt_params": {"fmax": 0.025}}, True]
    demo.screenshot("app-form-kept-entries", form)
    demo.probe.exec("app.form.entries = {}")


def test_resubmit_in_the_details_runs_the_same_job_again(demo):
    table = table_of(demo)
    label = f"resubmit me {uuid.uuid4().hex[:6]}"
    demo.probe.exec(
        "atoms = bulk('Cu', a=3.62) * (1, 1, 2); atoms.rattle(0.02, seed=3)\n"
        f"old = mgr.submit(atoms, 'emt.static_job', label={label!r}, additional_fields={{'origin': 'browser'}}, asap_cutoff=True)"
    )
    old = demo.probe.eval("old.id")
    wait_state(row_of(table, old), "completed", 180)
    params = demo.probe.eval("mgr.get(old.id).params")
    assert params == {"additional_fields": {"origin": "browser"}, "asap_cutoff": True}

    open_details(demo, table, old)
    info = table.locator(f".cw-details-info[data-id='{old}']")
    resubmit = info.locator("button.cw-resubmit")
    assert resubmit.inner_text() == "Resubmit"
    assert resubmit.get_attribute("title").startswith("Submit this job again (same structure, recipe, parameters, profile)")
    resubmit.click()
    status = table.locator(":scope > .cw-status")
    try:
        wait_until(lambda: status.inner_text() == "resubmitted 1", 30, "the report")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}: the status says {status.inner_text()!r}") from None
    assert demo.dialogs == []  # no window.confirm
    again = demo.probe.eval(f"[j.id for j in mgr.jobs() if j.label == {label!r} and j.id != old.id]")
    assert len(again) == 1
    new = again[0]
    fields = "lambda j: [j.recipe, j.label, j.params, j.profile, j.formula, j.structure_hash]"
    assert demo.probe.eval(f"({fields})(mgr.get({new!r}))") == demo.probe.eval(f"({fields})(mgr.get(old.id))")
    assert demo.probe.eval(f"({SAME})(mgr.structure({new!r}), mgr.structure(old.id))") is True

    row = row_of(table, new)
    row.wait_for(timeout=30_000)
    assert row.locator(".cw-td[data-key='label']").inner_text() == label
    assert row.locator(".cw-td[data-key='recipe']").inner_text() == "emt.static_job"
    wait_state(row, "completed", 180)
    assert row_of(table, old).get_attribute("data-state") == "completed"  # the old one stays as it was
    energies = demo.probe.eval(f"[mgr.get(old.id).summary['energy_ev'], mgr.get({new!r}).summary['energy_ev']]")
    assert energies[0] == pytest.approx(energies[1], abs=1e-9)  # the same job, the same energy
    demo.screenshot("app-resubmit", table)
