"""StructureViewer in real JupyterLab and Chromium: it draws, the cell box shows, clicks
select atoms in Python, and supercell / structure changes redraw in place."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from tests.helpers import wait_until

pytestmark = pytest.mark.browser

NOTEBOOK = "viewer-demo.ipynb"
CELL_RED = np.array([217, 26, 26])  # the a axis of the cell box (js/viewer.js AXIS_COLORS)
AXIS_RGB = {"a": CELL_RED, "b": np.array([26, 153, 26]), "c": np.array([26, 64, 230])}


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


# ---- issue 13: periodic images, crystal summary, selection, measurement, PNG ----

NACL = "from ase.build import bulk; viewer.supercell = (1, 1, 1); viewer.structure = bulk('NaCl', 'rocksalt', a=5.64, cubic=True)"
CRISTOBALITE = (
    "from ase.spacegroup import crystal; viewer.supercell = (1, 1, 1); "
    "viewer.structure = crystal(['Si', 'O'], basis=[(0.3003, 0.3003, 0.0), (0.2392, 0.1044, 0.1787)],"
    " spacegroup=92, cellpar=[4.978, 4.978, 6.948, 90, 90, 90])"
)


def dataset(viewer, name: str) -> str | None:
    return viewer.get_attribute(f"data-cw-{name}")


def show(kernel, page, viewer, code: str, atoms: int) -> None:
    before = loads(viewer)
    kernel.exec(code)
    wait_drawn(page, viewer, atoms=atoms, loads_after=before)
    page.wait_for_timeout(300)  # the projection hook follows the frame


def test_periodic_images_nacl_and_cristobalite(demo, lab):
    notebook, viewer = demo
    page = notebook.page
    canvas = viewer.locator(".cw-viewer-canvas canvas")
    with lab.probe(NOTEBOOK) as kernel:
        show(kernel, page, viewer, NACL, atoms=8)
        assert dataset(viewer, "images") == "19"  # the 27-atom cube
        assert "8 atoms shown + 19 periodic images" in viewer.locator(".cw-viewer-status").inner_text()
        shown = viewer.locator(".cw-viewer-summary").inner_text()
        assert "γ\xa090.00°" in shown and "c\xa05.6400\xa0Å" in shown  # a name and its value stay together
        summary = shown.replace("\xa0", " ")
        assert "a 5.6400  b 5.6400  c 5.6400 Å" in summary and "α 90.00" in summary
        assert "Fm-3m (225)" in summary
        legend = viewer.locator(".cw-viewer-legend-item")
        assert legend.all_inner_texts() == ["Na 4", "Cl 4"]
        colours = {legend.nth(i).locator(".cw-viewer-swatch").evaluate("e => e.style.background") for i in range(2)}
        assert len(colours) == 2
        notebook.screenshot("viewer-nacl-images", viewer)

        # clicking an image selects the atom it is an image of
        images = json.loads(dataset(viewer, "images-on-canvas"))
        atoms = json.loads(dataset(viewer, "atoms-on-canvas"))
        # an image in front of everything else, away from the atoms' own spots
        def clear_of_atoms(image):
            return all(abs(image[1] - a[1]) + abs(image[2] - a[2]) > 25 for a in atoms)
        origin, x, y, _ = min(filter(clear_of_atoms, images), key=lambda image: image[3])
        canvas.click(position={"x": x, "y": y})
        kernel.wait_for("viewer.selected", [origin])
        page.wait_for_function("el => el.dataset.cwHighlighted === '1'", arg=viewer.element_handle(), timeout=10_000)
        kernel.exec("viewer.selected = []")

        viewer.locator(".cw-viewer-images").uncheck()
        kernel.wait_for("viewer.show_images", False)
        page.wait_for_function("el => el.dataset.cwImages === '0'", arg=viewer.element_handle(), timeout=20_000)
        kernel.exec("viewer.show_images = True")

        show(kernel, page, viewer, CRISTOBALITE, atoms=12)
        assert int(dataset(viewer, "images")) > 0
        assert dataset(viewer, "loose") == "0", "an atom drawn without any bond"
        assert "P4_12_12 (92)" in viewer.locator(".cw-viewer-summary").inner_text()
        notebook.screenshot("viewer-cristobalite-images", viewer)
        before = loads(viewer)
        kernel.exec("viewer.show_images = False")
        wait_drawn(page, viewer, atoms=12, loads_after=before)
        assert int(dataset(viewer, "loose")) > 0  # what the issue saw: loose O atoms
        notebook.screenshot("viewer-cristobalite-no-images", viewer)


def test_selection_measurement_and_clear(demo, lab):
    notebook, viewer = demo
    page = notebook.page
    text = viewer.locator(".cw-viewer-selection")
    line = viewer.locator(".cw-viewer-measurement")
    with lab.probe(NOTEBOOK) as kernel:
        kernel.exec("viewer.selected = [0, 3]")  # 4 Cu atoms drawn 2x2x2
        page.wait_for_function("el => el.textContent.startsWith('distance')", arg=line.element_handle(), timeout=10_000)
        expected = kernel.eval("viewer.structure.get_distance(0, 3, mic=True)")
        assert kernel.eval("viewer.measurement['value']") == pytest.approx(expected)
        assert f"{expected:.4f} Å" in line.inner_text()
        kernel.exec("viewer.selected = [0, 3, 2]")
        page.wait_for_function("el => el.textContent.startsWith('angle')", arg=line.element_handle(), timeout=10_000)
        expected = kernel.eval("viewer.structure.get_angle(0, 3, 2, mic=True)")
        assert f"{expected:.2f} °" in line.inner_text()
        # the highlighted copies are yellow halos, not black discs
        page.wait_for_function("el => el.dataset.cwHighlighted === '3'", arg=viewer.element_handle(), timeout=10_000)
        page.wait_for_timeout(500)
        image = pixels(viewer.locator(".cw-viewer-canvas canvas"))
        yellow = ((image[..., 0] > 200) & (image[..., 1] > 150) & (image[..., 2] < 120)).sum()
        black = (image.sum(axis=2) < 60).sum()
        notebook.screenshot("viewer-selected-supercell", viewer)
        assert yellow > 500, f"only {yellow} yellow pixels"
        assert black < 50, f"{black} black pixels"
        # the coordinate lines are not cut off
        assert text.evaluate("el => el.scrollWidth <= el.clientWidth + 1")

        viewer.locator("button", has_text="Clear selection").click()
        kernel.wait_for("viewer.selected", [])
        page.wait_for_function("el => el.dataset.cwHighlighted === '0'", arg=viewer.element_handle(), timeout=10_000)
        assert line.inner_text() == ""
        assert kernel.eval("viewer.measurement") is None

        # a different structure drops the selection; new positions of the same atoms keep it
        kernel.exec("viewer.selected = [1]")
        show(kernel, page, viewer, "viewer.structure = bulk('Cu', 'fcc', a=3.7, cubic=True)", atoms=32)
        assert kernel.eval("viewer.selected") == [1]
        show(kernel, page, viewer, NACL, atoms=8)
        assert kernel.eval("viewer.selected") == []
        assert text.inner_text().startswith("Click an atom")
        assert viewer.locator(".cw-viewer-hover").inner_text() == ""


TRICLINIC = (
    "from ase import Atoms; viewer.supercell = (1, 1, 1); viewer.structure = Atoms('Cu',"
    " scaled_positions=[(0.5, 0.5, 0.5)], cell=[4, 5, 6, 80, 95, 105], pbc=True)"
)  # one atom in the middle: no atom or image at a corner, the three axis ends apart on screen


def export_png(viewer, page, name: str | None = None) -> tuple[np.ndarray, float]:
    """The viewer's PNG download as RGB pixels, and its pixels per canvas pixel."""
    with page.expect_download(timeout=30_000) as download:
        viewer.locator(".cw-viewer-png").click()
    if name is not None:
        assert download.value.suggested_filename == name
    png = np.asarray(Image.open(download.value.path()).convert("RGB"), dtype=int)
    return png, png.shape[1] / viewer.locator(".cw-viewer-canvas canvas").bounding_box()["width"]


def axis_labels(viewer) -> dict[str, list[float]]:
    """Where the viewer drew each axis name: {name: [x, y, depth, edge end x, edge end y]}."""
    return {name: rest for name, *rest in json.loads(dataset(viewer, "axis-labels-on-canvas"))}


def label_pixels(image: np.ndarray, name: str, label: list[float], scale: float = 1.0) -> int:
    """Pixels of axis ``name``'s colour in a 24-canvas-pixel box where its name is drawn (the
    text's bottom-left corner is at the anchor), leaving out everything within 5 pixels of the
    axis edge (the ray from the edge's end away from the anchor), so the edge cannot count."""
    ax, ay, _depth, ex, ey = label
    ys, xs = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    x, y = (xs + 0.5) / scale, (ys + 0.5) / scale  # canvas pixels
    in_box = (x > ax - 4) & (x < ax + 20) & (y > ay - 20) & (y < ay + 4)
    ux, uy = np.array([ex - ax, ey - ay]) / np.hypot(ex - ax, ey - ay)
    along = np.maximum((x - ex) * ux + (y - ey) * uy, 0)
    off_edge = np.hypot(x - ex - along * ux, y - ey - along * uy) > 5
    colour = np.abs(image - AXIS_RGB[name]).sum(axis=2) < 60
    return int((colour & in_box & off_edge).sum())


def shift(before: list[float], after: list[float]) -> float:
    """How far a label moved on the canvas, the larger of across and down."""
    return max(abs(after[0] - before[0]), abs(after[1] - before[1]))


def assert_labels_drawn(viewer, page, screenshot) -> dict[str, list[float]]:
    labels = axis_labels(viewer)
    assert sorted(labels) == ["a", "b", "c"], labels
    png, scale = export_png(viewer, page)
    Image.fromarray(png.astype(np.uint8)).save(screenshot)
    found = {name: label_pixels(png, name, label, scale) for name, label in labels.items()}
    assert all(count > 40 for count in found.values()), f"axis names not drawn: {found} at {labels}"
    return labels


def test_png_export_axis_labels_and_recentre(demo, lab):
    notebook, viewer = demo
    page = notebook.page
    png, _scale = export_png(viewer, page, "Cu.png")
    canvas = viewer.locator(".cw-viewer-canvas canvas")
    box = canvas.bounding_box()
    assert png.shape[1] >= 1.5 * box["width"]  # factor 2
    assert drawn_fraction(png) > 0.03
    assert cell_red_pixels(png) > 30  # the cell box is in the picture
    with lab.probe(NOTEBOOK) as kernel:
        # after a supercell change the drawn atoms are centred in the view again
        show(kernel, page, viewer, "viewer.supercell = (1, 1, 1)", atoms=4)
        before = loads(viewer)
        repeat_a = viewer.locator(".cw-viewer-repeat").first
        repeat_a.fill("4")
        repeat_a.press("Enter")
        wait_drawn(page, viewer, atoms=16, loads_after=before)
        page.wait_for_timeout(300)
        points = np.array([a[1:3] for a in json.loads(dataset(viewer, "atoms-on-canvas"))])
        centre = (points.min(axis=0) + points.max(axis=0)) / 2
        assert abs(centre[0] - box["width"] / 2) < 0.15 * box["width"], centre
        assert abs(centre[1] - box["height"] / 2) < 0.15 * box["height"], centre
        assert points[:, 0].min() > 0 and points[:, 0].max() < box["width"]
        notebook.screenshot("viewer-supercell-4x1x1", viewer)

        # the axis names a, b, c: each in its colour just past the end of its edge
        show(kernel, page, viewer, TRICLINIC, atoms=1)
        shots = notebook.screenshot("viewer-axis-labels", canvas).parent
        labels = assert_labels_drawn(viewer, page, shots / "viewer-axis-labels-png.png")
        anchors = [np.array(label[:2]) for label in labels.values()]
        assert min(np.hypot(*(p - q)) for i, p in enumerate(anchors) for q in anchors[i + 1 :]) > 40, labels
        assert all(0 < x < box["width"] and 0 < y < box["height"] for x, y, *_ in labels.values())

        viewer.locator(".cw-viewer-cell").uncheck()  # gone with the cell
        kernel.wait_for("viewer.show_cell", False)
        page.wait_for_function(
            "el => el.dataset.cwAxisLabelsOnCanvas === '[]'", arg=viewer.element_handle(), timeout=10_000
        )
        png, scale = export_png(viewer, page)
        Image.fromarray(png.astype(np.uint8)).save(shots / "viewer-axis-labels-cell-off-png.png")
        left = {name: label_pixels(png, name, label, scale) for name, label in labels.items()}
        assert not any(left.values()), f"axis names drawn without the cell: {left}"
        viewer.locator(".cw-viewer-cell").check()
        kernel.wait_for("viewer.show_cell", True)
        page.wait_for_function(
            "el => el.dataset.cwAxisLabelsOnCanvas !== '[]'", arg=viewer.element_handle(), timeout=10_000
        )

        # they follow the a edge of a 2x1x1 supercell, and a rotation of the view
        show(kernel, page, viewer, "viewer.supercell = (2, 1, 1)", atoms=2)
        moved = assert_labels_drawn(viewer, page, shots / "viewer-axis-labels-2x1x1-png.png")
        assert shift(labels["a"], moved["a"]) > 24, (labels, moved)  # out of its old box
        before = dataset(viewer, "axis-labels-on-canvas")
        at = canvas.bounding_box()  # where the canvas is now, after any scrolling
        page.mouse.move(at["x"] + 60, at["y"] + 60)  # away from the atoms: a drag, no pick
        page.mouse.down()
        page.mouse.move(at["x"] + 110, at["y"] + 75, steps=8)
        page.mouse.up()
        page.wait_for_function(
            "([el, before]) => el.dataset.cwAxisLabelsOnCanvas !== before",
            arg=[viewer.element_handle(), before],
            timeout=10_000,
        )
        page.wait_for_timeout(300)  # the drag's last frame
        turned = assert_labels_drawn(viewer, page, shots / "viewer-axis-labels-rotated-png.png")
        assert all(shift(moved[n], turned[n]) > 24 for n in "abc"), (moved, turned)
        notebook.screenshot("viewer-axis-labels-rotated", canvas)


def test_a_large_view_drags_without_its_bonds_and_gets_them_back(demo, lab):
    """Above 5,000 drawn atoms the bonds are hidden while the view is dragged (without a GPU
    a frame of 10,000 balls and bonds takes seconds; without bonds the drag keeps up) and come
    back when the mouse lets go; a click is no drag, and a small view keeps its bonds."""
    notebook, viewer = demo
    page = notebook.page
    canvas = viewer.locator(".cw-viewer-canvas canvas")

    def drag(dx: float, then_check=None) -> None:
        box = canvas.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + dx / 2, y + 4)
        page.mouse.move(x + dx, y + 8)
        if then_check:
            then_check()
        page.mouse.up()

    small = canvas.bounding_box()
    drag(40)  # 32 atoms and their images: bonds stay
    assert dataset(viewer, "bonds-hidden") in (None, "false")
    with lab.probe(NOTEBOOK) as kernel:
        show(kernel, page, viewer, "viewer.supercell = (11, 11, 11)", atoms=5324)
        bonds = dataset(viewer, "bonds")
        assert int(bonds) > 0
        box = canvas.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # a click
        assert dataset(viewer, "bonds-hidden") in (None, "false")

        def hidden_while_down():
            wait_until(lambda: dataset(viewer, "bonds-hidden") == "true", 30, "the bonds hidden while dragging")

        drag(60, hidden_while_down)
        wait_until(lambda: dataset(viewer, "bonds-hidden") == "false", 30, "the bonds back after the drag")
        assert dataset(viewer, "bonds") == bonds  # the same bonds, only hidden for the drag
        kernel.exec("viewer.selected = []; viewer.supercell = (2, 2, 2)")
        wait_drawn(page, viewer, atoms=32, loads_after=0)
    assert canvas.bounding_box()["width"] == small["width"]
