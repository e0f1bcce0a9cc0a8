"""StructureViewer at 10,000 atoms in real JupyterLab and headless Chromium (SwiftShader WebGL).

For each case a fresh notebook shows one viewer; figures per case:

- first frame: the widget's own hook ``data-cw-first-frame-ms``, from the view's render() to
  the first frame drawn with every atom (supercell copies, bond search, PDB text, NGL parse,
  representations, one frame);
- Run All -> frame: wall time from Run > Run All Cells to that hook appearing (adds the
  kernel building the widget and sending the structure);
- drag: animation frames per second while the mouse rotates the view for 2 s (the page's
  requestAnimationFrame rate; NGL redraws on each).

Baseline in the same run: the 4-atom copper cell. Cases at 10,192 atoms (Cu fcc conventional
cell x 14x14x13): copies made in the browser (the supercell control) with balls and sticks,
with space filling, and the same atoms built in Python and sent as JSON (supercell 1).

Run: ``.venv/bin/python bench/bench_viewer.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nbformat
from _common import machine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

from _lab import JupyterLab, NotebookPage, launch_chromium, wait_until  # noqa: E402

SETUP = "from ase.build import bulk\nfrom crystalwidgets.widgets import StructureViewer\n"
CASES = {
    "4 atoms (baseline)": (
        "StructureViewer(bulk('Cu', 'fcc', a=3.61, cubic=True))",
        4,
    ),
    "10,192 atoms, browser supercell, ball-and-stick": (
        "StructureViewer(bulk('Cu', 'fcc', a=3.61, cubic=True), supercell=(14, 14, 13))",
        10_192,
    ),
    "10,192 atoms, browser supercell, space-filling": (
        "StructureViewer(bulk('Cu', 'fcc', a=3.61, cubic=True), supercell=(14, 14, 13),"
        " draw_style='space-filling')",
        10_192,
    ),
    "10,192 atoms sent from Python, ball-and-stick": (
        "StructureViewer(bulk('Cu', 'fcc', a=3.61, cubic=True).repeat((14, 14, 13)))",
        10_192,
    ),
}

FRAME_RATE_JS = """async ([ms]) => {
  let frames = 0;
  const start = performance.now();
  await new Promise((resolve) => {
    const tick = () => { frames++; performance.now() - start < ms ? requestAnimationFrame(tick) : resolve(); };
    requestAnimationFrame(tick);
  });
  return frames / ((performance.now() - start) / 1000);
}"""


def write_notebook(path: Path, expression: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(SETUP + "viewer = " + expression + "\nviewer")]
    nbformat.write(notebook, path)


def drag_frame_rate(page, canvas) -> float:
    """Frames per second while dragging across the canvas for about 2 s."""
    box = canvas.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    rate = page.evaluate_handle(FRAME_RATE_JS, [2000])
    for step in range(40):
        page.mouse.move(x + 150 * ((step % 10) / 10), y + 40 * ((step % 7) / 7))
        time.sleep(0.05)
    page.mouse.up()
    return float(rate.json_value())


def measure(browser, lab: JupyterLab, notebook: str, atoms: int) -> dict[str, float]:
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
        fps = drag_frame_rate(page.page, viewer.locator(".cw-viewer-canvas canvas"))
        page.screenshot(f"bench-viewer-{Path(notebook).stem}", viewer)
        return {"first_frame_ms": first_frame, "run_all_s": wall, "drag_fps": fps}
    finally:
        context.close()


def main() -> None:
    from playwright.sync_api import sync_playwright

    print(machine())
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "notebooks"
        root.mkdir()
        names = {}
        for number, (case, (expression, atoms)) in enumerate(CASES.items()):
            names[case] = (f"bench-viewer-{number}.ipynb", atoms)
            write_notebook(root / names[case][0], expression)
        lab = JupyterLab(root, Path(scratch) / "state")
        lab.start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                results = {case: measure(browser, lab, *names[case]) for case in CASES}
                browser.close()
        finally:
            lab.stop()

    baseline = results["4 atoms (baseline)"]
    print(f"{'case':52} {'first frame':>12} {'x base':>7} {'Run All->frame':>15} {'drag fps':>9}")
    for case, r in results.items():
        print(
            f"{case:52} {r['first_frame_ms']:>9.0f} ms {r['first_frame_ms'] / baseline['first_frame_ms']:>6.1f}x"
            f" {r['run_all_s']:>13.2f} s {r['drag_fps']:>9.1f}"
        )


if __name__ == "__main__":
    main()
