"""P4 frames: stepping through a 50-frame trajectory of 10,192 atoms in the StructureViewer,
in real JupyterLab and headless Chromium (SwiftShader WebGL: software rendering on the CPU).

A notebook shows one viewer with a Cu fcc supercell (conventional cell x 14x14x13, balls
and sticks) and a trajectory of 50 frames of it (each atom displaced by up to 0.1 Å, with
forces), sent as float32 buffers. The slider is moved frame by frame, as a user drags it;
figures per step, from the widget's own hooks:

- work: ``data-cw-frame-work-ms``, the browser's work for a new frame (placing 10,192 atoms
  with their supercell shifts, NGL's positions updated in place, its representations
  refreshed; with arrows on, 10,192 force arrows built); target 100 ms (median);
- to the frame drawn: ``data-cw-frame-ms``, from the same start to NGL's next rendered
  signal (SwiftShader: one redraw of 10,000 balls and sticks takes 1-2.5 s, see ``viewer``);
- slider -> drawn: wall time from the slider's input to the hook naming the new frame.

STEPS steps (``--quick``: 8) without and with force arrows. SKIPPED when Chromium is missing.

Alone: ``python -m bench.frames [--quick]``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench._common import Figure, skipped

NAME = "frames"
N_FRAMES = 50
STEPS = 20
QUICK_STEPS = 8
CELL = """\
import numpy as np
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from crystalwidgets.widgets import StructureViewer

base = bulk('Cu', 'fcc', a=3.61, cubic=True).repeat((14, 14, 13))
rng = np.random.default_rng(0)
images = []
for k in range({frames}):
    image = base.copy()
    shift = rng.uniform(-0.1, 0.1, size=(len(base), 3))
    image.positions += shift
    image.calc = SinglePointCalculator(image, energy=-float(k), forces=-5.0 * shift)
    images.append(image)
viewer = StructureViewer(base, trajectory=images)
viewer"""


def write_notebook(path: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(CELL.format(frames=N_FRAMES))]
    nbformat.write(notebook, path)


def step_through(viewer, frames: list[int]) -> dict[str, list[float]]:
    """Move the slider to each frame; the hooks' work and drawn times, and the wall time."""
    from bench._lab import wait_until

    slider = viewer.locator(".cw-viewer-slider")
    work, drawn, wall = [], [], []
    for k in frames:
        started = time.perf_counter()
        slider.fill(str(k))
        wait_until(lambda: viewer.get_attribute("data-cw-frame") == str(k), 120, f"frame {k}", interval=0.01)
        wall.append((time.perf_counter() - started) * 1000)
        work.append(float(viewer.get_attribute("data-cw-frame-work-ms")))
        drawn.append(float(viewer.get_attribute("data-cw-frame-ms")))
    return {"work": work, "drawn": drawn, "wall": wall}


def run(quick: bool = False) -> Iterator[Figure]:
    from bench._lab import CHROMIUM

    if not CHROMIUM.exists():
        yield skipped("P4.frames.step", "viewer frames: one step", f"no Chromium at {CHROMIUM}")
        return
    from playwright.sync_api import sync_playwright

    from bench._lab import JupyterLab, NotebookPage, launch_chromium, wait_until

    steps = QUICK_STEPS if quick else STEPS
    with tempfile.TemporaryDirectory(prefix="cw-bench-frames-") as scratch:
        root = Path(scratch) / "notebooks"
        root.mkdir()
        write_notebook(root / "bench-frames.ipynb")
        lab = JupyterLab(root, Path(scratch) / "state")
        lab.start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = NotebookPage(context.new_page(), lab, "bench-frames.ipynb").open()
                page.run_all(timeout=300)
                viewer = page.panel.locator(".cw-viewer")
                wait_until(
                    lambda: viewer.get_attribute("data-cw-frame") == str(N_FRAMES - 1)
                    and viewer.get_attribute("data-cw-atoms") == "10192",
                    300,
                    "the last frame of 10,192 atoms",
                )
                results = {}
                for label, forces in (("plain", False), ("forces", True)):
                    if forces:
                        viewer.locator(".cw-viewer-forces").check()
                        wait_until(lambda: int(viewer.get_attribute("data-cw-arrows") or 0) > 0, 120, "arrows")
                    results[label] = step_through(viewer, list(range(steps)))
                    page.screenshot(f"bench-frames-{label}", viewer)
                context.close()
                browser.close()
        finally:
            lab.stop()
    for label, what in (("plain", "balls and sticks"), ("forces", "with 10,192 force arrows")):
        r = results[label]
        median = statistics.median(r["work"])
        print(
            f"frames {what}: work median {median:.1f} ms (max {max(r['work']):.1f}), to the frame drawn "
            f"median {statistics.median(r['drawn']):.0f} ms, slider -> drawn median "
            f"{statistics.median(r['wall']):.0f} ms over {len(r['work'])} steps",
            flush=True,
        )
        key = "P4.frames.step" if label == "plain" else "P4.frames.step_forces"
        yield Figure(key, f"viewer 10,192 atoms x 50 frames: one step, {what} (work)", median, "ms",
                     shown=f"{median:.1f} ms (max {max(r['work']):.1f})")
        yield Figure(f"{key}.drawn", f"viewer 10,192 atoms x 50 frames: one step, {what}, to the frame drawn",
                     statistics.median(r["drawn"]), "ms")


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main([NAME, *sys.argv[1:]]))
