"""Trajectory playback and force arrows in a job's details, in real JupyterLab and Chromium:
a real EMT relaxation's steps on a slider and a play button, the frame's energy beside it,
NGL's atoms moved to each frame's positions, force arrows on a toggle; a static job has no
slider. Screenshots go to the artifacts folder (see ``_lab.artifacts_dir``)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from _lab import REPO, demo_notebook
from PIL import Image

from tests.helpers import wait_until

pytestmark = pytest.mark.browser

NOTEBOOK = "table-demo.ipynb"


@pytest.fixture(scope="module")
def demo(lab, browser):
    setup = f"import sys; sys.path.insert(0, {str(REPO)!r}); import numpy as np"
    with demo_notebook(lab, browser, NOTEBOOK, setup, width=1280, timeout=180) as notebook:
        yield notebook


def pixels(locator) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB"), dtype=int)


def magenta_pixels(image: np.ndarray) -> int:
    """Pixels of the arrows' colour (js/viewer.js FORCE_COLOR, lit and shaded): red and blue
    alike, little green; no element colour or cell axis is so."""
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    return int(((r > 90) & (b > 90) & (np.abs(r - b) < 0.3 * r) & (g < 0.5 * np.minimum(r, b))).sum())


def open_details(demo, job_id: str):
    table = demo.panel.locator(".cw-table")
    table.wait_for(state="visible", timeout=30_000)
    row = table.locator(f".cw-tr[data-id='{job_id}']")
    wait_until(lambda: row.get_attribute("data-state") == "completed", 120, "the job to complete")
    row.locator(".cw-td").nth(2).click()
    demo.probe.wait_for("table.details_id", job_id)
    return table.locator(".cw-details")


def test_slider_play_and_forces_step_through_a_relaxation(demo):
    probe = demo.probe
    page = demo.page
    details = open_details(demo, probe.eval("job.id"))
    viewer = details.locator(".cw-details-viewer .cw-viewer")
    wait_until(lambda: probe.eval("table.viewer is not None and table.viewer.frames"), 60, "frames in Python")
    count = probe.eval("table.viewer.frames")
    assert count == probe.eval("len(mgr.result(job.id)['trajectory'])") >= 3
    frames_box = viewer.locator(".cw-viewer-frames")
    frames_box.wait_for(state="visible", timeout=30_000)
    label = viewer.locator(".cw-viewer-frame")
    slider = viewer.locator(".cw-viewer-slider")
    canvas = viewer.locator(".cw-viewer-canvas canvas")
    wait_until(lambda: viewer.get_attribute("data-cw-frame") == str(count - 1), 30, "the last frame drawn")
    assert slider.get_attribute("max") == str(count - 1)
    energies = probe.eval("[float(e) for e in table.viewer.trajectory.energies]")
    assert label.inner_text().startswith(f"frame {count} / {count} · step {count - 1} · E {energies[-1]:.6f} eV")
    positions = probe.eval("table.viewer.trajectory.positions[:, 0].tolist()")  # atom 0, each frame
    drawn = json.loads(viewer.get_attribute("data-cw-first-atom"))
    assert drawn == pytest.approx(positions[-1], abs=2e-4)
    last = pixels(canvas)
    demo.screenshot("frames-last", details)

    # the slider: Python follows, the label and NGL's atoms move to frame 0
    slider.fill("0")
    probe.wait_for("table.viewer.frame", 0)
    wait_until(lambda: viewer.get_attribute("data-cw-frame") == "0", 10, "frame 0 drawn")
    assert label.inner_text().startswith(f"frame 1 / {count} · step 0 · E {energies[0]:.6f} eV")
    assert json.loads(viewer.get_attribute("data-cw-first-atom")) == pytest.approx(positions[0], abs=2e-4)
    assert float(viewer.get_attribute("data-cw-frame-ms")) < 100
    page.wait_for_timeout(300)
    first = pixels(canvas)
    changed = int((np.abs(first - last).sum(axis=2) > 30).sum())
    assert changed > 100, f"stepping from the last frame to the first changed only {changed} pixels"
    demo.screenshot("frames-first", details)

    # Python -> browser, and the plot: a click on step 1 of the energy plot shows frame 1
    probe.exec("table.viewer.frame = 2")
    wait_until(lambda: viewer.get_attribute("data-cw-frame") == "2", 10, "frame 2 from Python")
    assert slider.input_value() == "2"
    plot = details.locator("svg.cw-plot")
    box = plot.bounding_box()
    width = float(plot.get_attribute("width"))
    x_of_step1 = (78 + (width - 78 - 12) * 1 / (count - 1)) * box["width"] / width  # js/lib/plot.js margins
    plot.click(position={"x": x_of_step1, "y": box["height"] / 2})
    probe.wait_for("table.viewer.frame", 1)

    # play: frames advance by themselves and stop at the last
    viewer.locator(".cw-viewer-play").click()
    wait_until(lambda: viewer.get_attribute("data-cw-playing") == "true", 5, "playing")
    wait_until(lambda: probe.eval("table.viewer.frame") > 1, 10, "the frame to advance")
    wait_until(lambda: viewer.get_attribute("data-cw-playing") == "false", 30, "the end of the playback")
    assert probe.eval("table.viewer.frame") == count - 1

    # forces: arrows on frame 0 (the largest forces), scale written; none when toggled off
    slider.fill("0")
    probe.wait_for("table.viewer.frame", 0)
    wait_until(lambda: viewer.get_attribute("data-cw-frame") == "0", 10, "frame 0 drawn")
    page.wait_for_timeout(300)
    no_arrows = pixels(canvas)
    viewer.locator(".cw-viewer-forces").check()
    probe.wait_for("table.viewer.show_forces", True)
    wait_until(lambda: int(viewer.get_attribute("data-cw-arrows") or 0) > 0, 10, "force arrows")
    arrows = int(viewer.get_attribute("data-cw-arrows"))
    assert arrows <= 32
    fmax = probe.eval("float(table.viewer.trajectory.max_forces[0])")
    note = viewer.locator(".cw-viewer-force-note").inner_text()
    assert note.startswith(f"Forces: longest arrow 1.5 Å = {fmax:.4f} eV/Å")
    page.wait_for_timeout(300)
    with_arrows = pixels(canvas)
    demo.screenshot("frames-forces", details)
    assert magenta_pixels(with_arrows) > magenta_pixels(no_arrows) + 200, "no magenta arrows drawn"

    # a frame change redraws the arrows for that frame (smaller forces, same longest arrow)
    slider.fill(str(count - 1))
    probe.wait_for("table.viewer.frame", count - 1)
    fmax_last = probe.eval("float(table.viewer.trajectory.max_forces[-1])")
    wait_until(
        lambda: f"= {fmax_last:.4f} eV/Å" in viewer.locator(".cw-viewer-force-note").inner_text(),
        10,
        "the last frame's force scale",
    )
    demo.screenshot("frames-forces-last", details)
    viewer.locator(".cw-viewer-forces").uncheck()
    probe.wait_for("table.viewer.show_forces", False)
    wait_until(lambda: viewer.get_attribute("data-cw-arrows") == "0", 10, "no arrows")
    errors = [line for line in demo.console if line.startswith("pageerror")]
    assert not errors, f"JavaScript errors in the page: {errors}"


def test_a_static_job_shows_no_slider(demo):
    probe = demo.probe
    probe.exec("static = mgr.submit(bulk('Cu', cubic=True), 'emt.static_job', label='static')")
    details = open_details(demo, probe.eval("static.id"))
    wait_until(lambda: probe.eval("table.viewer.trajectory is None and len(table.viewer.structure) == 4"), 30, "the static structure")
    viewer = details.locator(".cw-details-viewer .cw-viewer")
    wait_until(lambda: viewer.get_attribute("data-cw-atoms") == "4", 30, "the viewer to draw 4 atoms")
    demo.page.wait_for_timeout(300)
    assert viewer.locator(".cw-viewer-frames").is_hidden()
    assert viewer.locator(".cw-viewer-forces").is_disabled()
    demo.screenshot("frames-static", details)
