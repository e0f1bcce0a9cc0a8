"""P4 viewer: StructureViewer at 10,000 atoms in real JupyterLab and headless Chromium
(SwiftShader WebGL: software rendering on the CPU).

For each case a fresh notebook shows one viewer; figures per case:

- first frame: the widget's own hook ``data-cw-first-frame-ms``, from the view's render() to
  the first frame drawn with every atom (supercell copies, bond search, PDB text, NGL parse,
  representations, one frame);
- Run All -> frame: wall time from Run > Run All Cells to that hook appearing (adds the
  kernel building the widget and sending the structure);
- drag: animation frames per second while the mouse rotates the view (the page's
  requestAnimationFrame count over the drag, which NGL redraws on). The drag lasts
  DRAG_S of wall time or one move, whichever is longer: a move waits for the renderer, and
  under SwiftShader one redraw of 10,000 balls and sticks takes seconds.

Baseline in the same run: the 4-atom copper cell. Cases at 10,192 atoms (Cu fcc conventional
cell x 14x14x13): copies made in the browser (the supercell control) with balls and sticks,
with space filling, and the same atoms built in Python and sent as JSON. No target (the
README asks for a measurement); ``--quick`` takes the baseline and the first 10,192 case.
SKIPPED when Chromium is missing.

Alone: ``python -m bench.viewer [--quick]``.
"""

from __future__ import annotations

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


def drag_frame_rate(page, canvas) -> tuple[float, int]:
    """Frames per second while dragging across the canvas, and the number of mouse moves."""
    box = canvas.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.evaluate(START_COUNT_JS)
    start, moves = time.perf_counter(), 0
    while moves == 0 or time.perf_counter() - start < DRAG_S:
        page.mouse.move(x + 150 * ((moves % 10) / 10), y + 40 * ((moves % 7) / 7))
        moves += 1
        time.sleep(0.05)
    frames, ms = page.evaluate(STOP_COUNT_JS)
    page.mouse.up()
    return frames / (ms / 1000), moves


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
        fps, moves = drag_frame_rate(page.page, viewer.locator(".cw-viewer-canvas canvas"))
        return {"first_frame_ms": first_frame, "run_all_s": wall, "drag_fps": fps, "moves": moves}
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
                          f"{r['run_all_s']:.2f} s, {r['drag_fps']:.1f} frames/s over {r['moves']} drag moves",
                          flush=True)
                    base = base or r
                    times = f" ({r['first_frame_ms'] / base['first_frame_ms']:.1f}x base)" if key != "base" else ""
                    yield Figure(f"P4.viewer.{key}.first_frame", f"viewer {label}: first frame",
                                 r["first_frame_ms"], "ms", shown=f"{r['first_frame_ms']:.0f} ms{times}")
                    yield Figure(f"P4.viewer.{key}.drag_fps", f"viewer {label}: drag",
                                 r["drag_fps"], "frames/s")
                browser.close()
        finally:
            lab.stop()


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main([NAME, *sys.argv[1:]]))
