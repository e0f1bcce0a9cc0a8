"""P4 viewer: StructureViewer at 10,000 atoms in real JupyterLab and headless Chromium
(SwiftShader WebGL: software rendering on the CPU).

For each case a fresh notebook shows one viewer; figures per case:

- first frame: the widget's own hook ``data-cw-first-frame-ms``, from the view's render() to
  the first frame drawn with every atom (supercell copies, bond search, PDB text, NGL parse,
  representations, one frame);
- Run All -> frame: wall time from Run > Run All Cells to that hook appearing (adds the
  kernel building the widget and sending the structure);
- drag: animation frames per second while the mouse rotates the view (the page's
  requestAnimationFrame count over the drag, which NGL redraws on), counted from the first
  frame after the drag's first move (that frame is timed apart: a frame being drawn when
  the mouse goes down finishes first; above 5,000 atoms the bonds are then hidden until the
  mouse lets go). The drag lasts DRAG_S of wall time or one move, whichever is longer: a
  move waits for the renderer;
- select, measure, clear: from a click on an atom to the page showing it (its highlight
  set, its line in the selection list; the kernel answers with the atom's facts), from a
  click on a second atom to the distance between them shown (the kernel measures with the
  minimum image), from "Clear selection" to the highlight gone; each to the next frame.
  Under SwiftShader those are mostly the GPU process drawing (a CPU profile of the page
  shows under 100 ms of script per click at 10,192 atoms, seconds in "(program)": the
  picking and the frames); the page's own work (the highlight's representation rebuilt for
  every copy of the atom, ``data-cw-selection-work-ms``) has the target.

Baseline in the same run: the 4-atom copper cell. Cases at 10,192 atoms (Cu fcc conventional
cell x 14x14x13): copies made in the browser (the supercell control) with balls and sticks,
with space filling, and the same atoms built in Python and sent as JSON. Targets: the drag's
frame rate at least 0.2 of the baseline's, and the page's work per selection click at most
100 ms; the rest is measured. ``--quick`` takes the baseline and the first 10,192 case.
SKIPPED when Chromium is missing.

Alone: ``python -m bench.viewer [--quick]``.
"""

from __future__ import annotations

import functools
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench._common import Figure, skipped

NAME = "viewer"
SETUP = "from ase.build import bulk\nfrom crystalwidgets.widgets import StructureViewer\n"
CASES = {  # key: (label, expression, atoms drawn)
    "base": ("4 atoms (baseline)", "StructureViewer(bulk('Cu', 'fcc', a=3.61, cubic=True))", 4),
    "supercell": (
        "10,192 atoms, browser supercell",
        "StructureViewer(bulk('Cu', 'fcc', a=3.61, cubic=True), supercell=(14, 14, 13))",
        10_192,
    ),
    "spacefill": (
        "10,192 atoms, browser supercell, space-fill",
        (
            "StructureViewer(bulk('Cu', 'fcc', a=3.61, cubic=True), supercell=(14, 14, 13),"
            " draw_style='space-filling')"
        ),
        10_192,
    ),
    "python": (
        "10,192 atoms sent from Python",
        "StructureViewer(bulk('Cu', 'fcc', a=3.61, cubic=True).repeat((14, 14, 13)))",
        10_192,
    ),
}
QUICK_CASES = ("base", "supercell")
DRAG_S = 2.0

START_COUNT_JS = """() => {
  window.__cwFrames = 0; window.__cwCounting = true; window.__cwStart = performance.now();
  const tick = () => { if (window.__cwCounting) { window.__cwFrames++; requestAnimationFrame(tick); } };
  requestAnimationFrame(tick);
}"""
STOP_COUNT_JS = """() => {
  window.__cwCounting = false;
  return [window.__cwFrames, performance.now() - window.__cwStart];
}"""


def write_notebook(path: Path, expression: str) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(SETUP + "viewer = " + expression + "\nviewer")]
    nbformat.write(notebook, path)


def drag_frame_rate(page, canvas) -> tuple[float, int, float]:
    """Frames per second while dragging across the canvas, the number of mouse moves, and
    the milliseconds from the drag's first move to the next frame (the drag started: a
    frame already being drawn finishes first; a large view then drops its bonds)."""
    box = canvas.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    t0 = time.perf_counter()
    page.mouse.move(x + 8, y + 3)
    page.evaluate(NEXT_FRAME_JS)
    start_ms = (time.perf_counter() - t0) * 1000
    page.evaluate(START_COUNT_JS)
    start, moves = time.perf_counter(), 0
    while moves == 0 or time.perf_counter() - start < DRAG_S:
        page.mouse.move(x + 150 * ((moves % 10) / 10), y + 40 * ((moves % 7) / 7))
        moves += 1
        time.sleep(0.05)
    frames, ms = page.evaluate(STOP_COUNT_JS)
    page.mouse.up()
    return frames / (ms / 1000), moves, start_ms


#: Waits in the page, each true once the click's answer is shown (arg: the viewer's root).
SELECTED_JS = """(root) => root.dataset.cwHighlighted === "1"
  && root.querySelector(".cw-viewer-selection-text").textContent.startsWith("#")"""
MEASURED_JS = """(root) => root.dataset.cwHighlighted === "2"
  && /Å/.test(root.querySelector(".cw-viewer-measurement").textContent)"""
CLEARED_JS = '(root) => root.dataset.cwHighlighted === "0"'
NEXT_FRAME_JS = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


def click_to_shown(page, viewer, clicks, shown_js: str) -> tuple[float, float]:
    """Milliseconds from a click to ``shown_js`` true in the page and the next frame, and of
    the page's own work for it (``data-cw-selection-work-ms``: the highlight rebuilt).

    ``clicks``: places to click, tried in turn until one is answered (at 10,000 atoms a point
    can fall between atoms); only the answered click is timed.
    """
    root = viewer.element_handle()
    for click in clicks:
        t0 = time.perf_counter()
        click()
        try:
            page.wait_for_function(shown_js, arg=root, polling=5, timeout=30_000)
        except Exception:  # noqa: BLE001  (nothing picked there: the next place)
            continue
        page.evaluate(NEXT_FRAME_JS)
        return (time.perf_counter() - t0) * 1000, float(viewer.get_attribute("data-cw-selection-work-ms"))
    said = page.evaluate(
        "(root) => [root.dataset.cwHighlighted, root.querySelector('.cw-viewer-selection-text').textContent]", root
    )
    raise RuntimeError(f"no click of {len(clicks)} was answered within 30 s; the viewer shows {said}")


def select_measure_clear(page, viewer, atoms: int) -> dict[str, float]:
    """Click an atom, then a second one (measured), then clear; milliseconds of each to the
    page showing it. A few atoms: the front-most the viewer projects
    (``data-cw-atoms-on-canvas``) and the one farthest from it; thousands: near the canvas's
    centre and ~47 px from it, the unit cell hidden (whatever atom is in front is picked)."""
    import json

    box = viewer.locator(".cw-viewer-canvas canvas").bounding_box()
    # the drag's last redraw may still be under way (a second or more at 10,000 atoms):
    # the projection is read once it has settled
    last, points = None, viewer.get_attribute("data-cw-atoms-on-canvas")
    deadline = time.perf_counter() + 60
    while points != last and time.perf_counter() < deadline:
        page.evaluate(NEXT_FRAME_JS)
        page.wait_for_timeout(300)
        last, points = points, viewer.get_attribute("data-cw-atoms-on-canvas")
    points = json.loads(points)
    if atoms > 1000:  # atoms everywhere in the middle, with the cell's edges and axis names
        # (on top of the atoms there) hidden; the projected atoms sit in a corner of the cell
        viewer.get_by_label("Unit cell").uncheck()
        page.evaluate(NEXT_FRAME_JS)
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        first = [(cx + dx, cy + dy) for dx, dy in ((0, 0), (-12, 8), (10, -10))]
        second = [(cx + dx, cy + dy) for dx, dy in ((40, 25), (-40, -25), (45, -30))]
    else:
        inside = [p for p in points if 4 < p[1] < box["width"] - 4 and 4 < p[2] < box["height"] - 4]
        front = min(inside, key=lambda p: p[3])
        far = max(inside, key=lambda p: (p[1] - front[1]) ** 2 + (p[2] - front[2]) ** 2)
        first, second = [(box["x"] + front[1], box["y"] + front[2])], [(box["x"] + far[1], box["y"] + far[2])]
    page.mouse.move(*first[0])
    page.evaluate(NEXT_FRAME_JS)
    timed = {
        "select": click_to_shown(page, viewer, [functools.partial(page.mouse.click, *p) for p in first], SELECTED_JS),
        "measure": click_to_shown(page, viewer, [functools.partial(page.mouse.click, *p) for p in second], MEASURED_JS),
        "clear": click_to_shown(
            page, viewer, [viewer.get_by_role("button", name="Clear selection").click], CLEARED_JS
        ),
    }
    return {
        **{f"{what}_ms": shown for what, (shown, _) in timed.items()},
        "selection_work_ms": max(work for _, work in timed.values()),
    }


def measure(browser, lab, notebook: str, atoms: int) -> dict[str, float]:
    from bench._lab import NotebookPage, wait_until

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = NotebookPage(context.new_page(), lab, notebook).open()
        started = time.perf_counter()
        page.run_all(timeout=300)
        viewer = page.panel.locator(".cw-viewer")
        wait_until(
            lambda: viewer.get_attribute("data-cw-first-frame-ms")
            and viewer.get_attribute("data-cw-atoms") == str(atoms),
            300,
            f"the first frame of {atoms} atoms",
            interval=0.05,
        )
        wall = time.perf_counter() - started
        first_frame = float(viewer.get_attribute("data-cw-first-frame-ms"))
        page.screenshot(f"bench-viewer-{Path(notebook).stem}", viewer)
        fps, moves, drag_start = drag_frame_rate(page.page, viewer.locator(".cw-viewer-canvas canvas"))
        clicks = select_measure_clear(page.page, viewer, atoms)
        return {"first_frame_ms": first_frame, "run_all_s": wall, "drag_fps": fps, "moves": moves,
                "drag_start_ms": drag_start, **clicks}
    finally:
        context.close()


def run(quick: bool = False) -> Iterator[Figure]:
    from bench._lab import CHROMIUM

    if not CHROMIUM.exists():
        yield skipped("P4.viewer.base.first_frame", "viewer: time to first frame", f"no Chromium at {CHROMIUM}")
        return
    from playwright.sync_api import sync_playwright

    from bench._lab import JupyterLab, launch_chromium

    keys = QUICK_CASES if quick else tuple(CASES)
    with tempfile.TemporaryDirectory(prefix="cw-bench-viewer-") as scratch:
        root = Path(scratch) / "notebooks"
        root.mkdir()
        for key in keys:
            write_notebook(root / f"bench-viewer-{key}.ipynb", CASES[key][1])
        lab = JupyterLab(root, Path(scratch) / "state")
        lab.start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                base = None
                for key in keys:
                    label, _, atoms = CASES[key]
                    r = measure(browser, lab, f"bench-viewer-{key}.ipynb", atoms)
                    print(f"{label}: first frame {r['first_frame_ms']:.0f} ms, Run All -> frame "
                          f"{r['run_all_s']:.2f} s, {r['drag_fps']:.1f} frames/s over {r['moves']} drag moves "
                          f"(started in {r['drag_start_ms']:.0f} ms); "
                          f"select {r['select_ms']:.0f} ms, measure {r['measure_ms']:.0f} ms, "
                          f"clear {r['clear_ms']:.0f} ms (the page's work at most {r['selection_work_ms']:.1f} ms)",
                          flush=True)
                    base = base or r
                    times = f" ({r['first_frame_ms'] / base['first_frame_ms']:.1f}x base)" if key != "base" else ""
                    yield Figure(f"P4.viewer.{key}.first_frame", f"viewer {label}: first frame",
                                 r["first_frame_ms"], "ms", shown=f"{r['first_frame_ms']:.0f} ms{times}")
                    yield Figure(f"P4.viewer.{key}.drag_fps", f"viewer {label}: drag",
                                 r["drag_fps"], "frames/s")
                    yield Figure(f"P4.viewer.{key}.drag_start", f"viewer {label}: drag's first frame",
                                 r["drag_start_ms"], "ms")
                    if key != "base":
                        ratio = r["drag_fps"] / base["drag_fps"]
                        yield Figure(f"P4.viewer.{key}.drag_ratio", f"viewer {label}: drag frame rate / base's",
                                     ratio, "x", shown=f"{ratio:.2f}x ({r['drag_fps']:.1f} vs {base['drag_fps']:.1f} frames/s)")
                    for what in ("select", "measure", "clear"):
                        yield Figure(f"P4.viewer.{key}.{what}", f"viewer {label}: {what} -> shown",
                                     r[f"{what}_ms"], "ms")
                    yield Figure(f"P4.viewer.{key}.selection_work", f"viewer {label}: selection, the page's work",
                                 r["selection_work_ms"], "ms")
                browser.close()
        finally:
            lab.stop()


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main([NAME, *sys.argv[1:]]))
