"""StructureViewer in real JupyterLab and Chromium: it draws, the cell box shows, clicks
select atoms in Python, and supercell / structure changes redraw in place."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

NOTEBOOK = "viewer-demo.ipynb"
CELL_RED = np.array([217, 26, 26])  # the a axis of the cell box (js/viewer.js AXIS_COLORS)


def pixels(locator) -> np.ndarray:
    """RGB pixels of an element as it is on screen."""
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB"), dtype=int)


def drawn_fraction(image: np.ndarray) -> float:
    """Share of pixels that are not the white background."""
    return float((np.abs(image - 255).sum(axis=2) > 30).mean())


def cell_red_pixels(image: np.ndarray) -> int:
    return int((np.abs(image - CELL_RED).sum(axis=2) < 60).sum())


def wait_drawn(page, viewer, atoms: int, loads_after: int = 0) -> None:
    """Wait until the widget reports a finished frame with ``atoms`` atoms."""
    viewer.element_handle().wait_for_element_state("visible", timeout=30_000)
    page.wait_for_function(
        "([el, atoms, loads]) => el.dataset.cwAtoms === String(atoms)"
        " && Number(el.dataset.cwLoads) > loads && el.dataset.cwAtomsOnCanvas",
        arg=[viewer.element_handle(), atoms, loads_after],
        timeout=30_000,
    )


def loads(viewer) -> int:
    return int(viewer.get_attribute("data-cw-loads") or 0)


@pytest.fixture
def demo(open_notebook):
    notebook = open_notebook(NOTEBOOK)
    notebook.run_all()
    viewer = notebook.panel.locator(".cw-viewer")
    wait_drawn(notebook.page, viewer, atoms=32)  # 4 Cu atoms x 2 x 2 x 2
    yield notebook, viewer
    errors = [line for line in notebook.console if line.startswith("pageerror")]
    assert not errors, f"JavaScript errors in the page: {errors}"


def test_draws_atoms_and_cell_box(demo, lab):
    notebook, viewer = demo
    canvas = viewer.locator(".cw-viewer-canvas canvas")
    assert canvas.count() == 1
    notebook.screenshot("viewer-notebook")
    with_cell = pixels(canvas)
    notebook.screenshot("viewer-cell-on", canvas)
    assert drawn_fraction(with_cell) > 0.05, "the canvas is (nearly) blank"
    assert "32 atoms shown" in viewer.locator(".cw-viewer-status").inner_text()

    viewer.locator(".cw-viewer-cell").uncheck()
    with lab.probe(NOTEBOOK) as kernel:
        kernel.wait_for("viewer.show_cell", False)
    notebook.page.wait_for_timeout(500)  # one more frame
    without_cell = pixels(canvas)
    notebook.screenshot("viewer-cell-off", canvas)

    assert cell_red_pixels(with_cell) > 30, "no red a-axis edge of the cell box"
    assert cell_red_pixels(without_cell) == 0, "the cell box is still drawn"
    changed = (np.abs(with_cell - without_cell).sum(axis=2) > 30).sum()
    assert changed > 200, f"hiding the cell changed only {changed} pixels"


def test_click_selects_atom_in_python(demo, lab):
    notebook, viewer = demo
    page = notebook.page
    with lab.probe(NOTEBOOK) as kernel:
        before = loads(viewer)
        kernel.exec("viewer.supercell = (1, 1, 1)")  # Python -> browser
        wait_drawn(page, viewer, atoms=4, loads_after=before)
        assert [viewer.locator(".cw-viewer-repeat").nth(i).input_value() for i in range(3)] == [
            "1", "1", "1"
        ]
        # All 4 atoms are listed; the one nearest the camera cannot be hidden by another.
        on_canvas = json.loads(viewer.get_attribute("data-cw-atoms-on-canvas"))
        assert len(on_canvas) == 4
        index, x, y, _depth = min(on_canvas, key=lambda atom: atom[3])
        canvas = viewer.locator(".cw-viewer-canvas canvas")
        canvas.click(position={"x": x, "y": y})
        kernel.wait_for("viewer.selected", [index])
        info = kernel.eval("viewer.selection_info")
        assert info[0]["index"] == index and info[0]["symbol"] == "Cu"
        text = viewer.locator(".cw-viewer-selection")
        page.wait_for_function(
            "([el, index]) => el.textContent.startsWith(`#${index} `)",
            arg=[text.element_handle(), index],
            timeout=10_000,
        )
        assert "Cu" in text.inner_text()
        notebook.screenshot("viewer-selected", viewer)

        canvas.click(position={"x": x, "y": y})  # clicking again deselects
        kernel.wait_for("viewer.selected", [])

        kernel.exec("viewer.selected = [1, 2]")  # Python -> browser
        page.wait_for_function(
            "el => el.textContent.split('\\n').length === 2",
            arg=text.element_handle(),
            timeout=10_000,
        )


def test_supercell_and_structure_update_in_place(demo, lab):
    notebook, viewer = demo
    page = notebook.page
    canvas = viewer.locator(".cw-viewer-canvas canvas")
    canvas.evaluate("el => { window.__cwCanvas = el; }")
    with lab.probe(NOTEBOOK) as kernel:
        before = loads(viewer)
        repeat_a = viewer.locator(".cw-viewer-repeat").first
        repeat_a.fill("3")
        repeat_a.press("Enter")  # browser -> Python
        kernel.wait_for("viewer.supercell", [3, 2, 2])
        wait_drawn(page, viewer, atoms=48, loads_after=before)
        notebook.screenshot("viewer-supercell-3x2x2", viewer)

        before = loads(viewer)
        kernel.exec("from ase.build import bulk; viewer.structure = bulk('Cu', 'fcc', a=3.61)")
        wait_drawn(page, viewer, atoms=12, loads_after=before)  # 1-atom primitive cell x 3x2x2

        before = loads(viewer)
        kernel.exec("viewer.supercell = (1, 1, 1); viewer.structure = bulk('Cu', 'fcc', a=3.61, cubic=True)")
        wait_drawn(page, viewer, atoms=4, loads_after=before)
        repeat_a.fill("30000")  # 120,000 atoms: more than max_atoms, refused in the browser
        repeat_a.press("Enter")
        status = viewer.locator(".cw-viewer-status")
        assert "max_atoms" in status.inner_text()
        assert repeat_a.input_value() == "1"
        assert kernel.eval("viewer.supercell") == [1, 1, 1]

    assert canvas.count() == 1
    assert canvas.evaluate("el => el === window.__cwCanvas"), "the NGL canvas was re-created"


def test_draw_style_toggle(demo, lab):
    notebook, viewer = demo
    canvas = viewer.locator(".cw-viewer-canvas canvas")
    ball_and_stick = pixels(canvas)
    viewer.locator(".cw-viewer-style").select_option("space-filling")
    with lab.probe(NOTEBOOK) as kernel:
        kernel.wait_for("viewer.draw_style", "space-filling")
    notebook.page.wait_for_timeout(500)
    space_filling = pixels(canvas)
    notebook.screenshot("viewer-space-filling", canvas)
    assert drawn_fraction(space_filling) > drawn_fraction(ball_and_stick)
