"""JupyterLab's light and dark themes, switched live (Settings > Theme) in real JupyterLab and
Chromium, on the quickstart's App: the selected profile row and the selected job row keep
text/background contrast >= 4.5 (WCAG AA) in both themes, so does every other text of the
widgets, and both 3D canvases (the App's viewer and the details' viewer) repaint with the
theme's background without a reload. Screenshots: theme-{light,dark}.png (the page) and
theme-{light,dark}-picker.png (the profile list)."""

from __future__ import annotations

import io

import pytest

from tests.helpers import wait_until

pytestmark = pytest.mark.browser

NOTEBOOK = "01-quickstart.ipynb"
LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"
AA = 4.5
#: marks that are graphics, not text (WCAG 1.4.11: non-text contrast 3:1)
GRAPHICS = {"cw-profile-mark": 3.0}

# WCAG 2 contrast of an element's text against what lies under it: each colour is painted on a
# 1x1 canvas to read it as sRGB bytes (any CSS colour syntax, color-mix() included), the
# backgrounds of the element and its ancestors are composited from the page down, and the
# text colour (often translucent) over that.
CONTRAST_JS = """
(el) => {
  const ctx = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
  const rgba = (css) => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = "rgba(0, 0, 0, 0)";
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  };
  const over = (top, under) => top.slice(0, 3).map((c, i) => c * top[3] + under[i] * (1 - top[3]));
  const layers = [];
  for (let node = el; node; node = node.parentElement) layers.push(rgba(getComputedStyle(node).backgroundColor));
  let bg = [255, 255, 255];
  for (const layer of layers.reverse()) bg = over(layer, bg);
  const fg = over(rgba(getComputedStyle(el).color), bg);
  const lum = (c) => {
    const [r, g, b] = c.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  return { ratio: (hi + 0.05) / (lo + 0.05), fg: fg.map(Math.round), bg: bg.map(Math.round) };
}
"""

# Every element of the widgets that shows text of its own, with its contrast, except what is
# meant to look unavailable (disabled controls, greyed recipes; WCAG exempts inactive parts).
ALL_TEXT_JS = (
    """
(root) => {
  const contrast = """
    + CONTRAST_JS
    + """;
  const found = [];
  for (const el of root.querySelectorAll(".cw-widget *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length || getComputedStyle(el).visibility === "hidden") continue;
    if (el.closest(":disabled, .cw-unavailable, [aria-disabled='true'], option")) continue;
    const c = contrast(el);
    found.push({ text: el.textContent.trim().slice(0, 40), cls: el.getAttribute("class") || "", ...c });
  }
  return found;
}
"""
)


def needed(classes: str) -> float:
    """The contrast an element needs: 4.5 for text, less for the graphics named above."""
    return min([GRAPHICS[c] for c in classes.split() if c in GRAPHICS] or [AA])


def switch_theme(page, theme: str) -> None:
    """Settings > Theme > ``theme``, as a user does it; waits until Lab has applied it."""
    page.locator(".lm-MenuBar-item", has_text="Settings").first.click()
    page.locator(".lm-Menu-item", has_text="Theme").first.hover()
    page.locator(".lm-Menu-item[data-command='apputils:change-theme']").get_by_text(theme, exact=True).click()
    page.wait_for_selector(f"body[data-jp-theme-name='{theme}']", state="attached", timeout=20_000)


def corner_pixel(locator) -> tuple[int, int, int]:
    """The colour a canvas is cleared to, read off a screenshot (a corner has no atom)."""
    from PIL import Image

    image = Image.open(io.BytesIO(locator.screenshot())).convert("RGB")
    return image.getpixel((4, 4))


def test_selected_rows_and_canvases_follow_a_live_theme_switch(open_notebook):
    notebook = open_notebook(NOTEBOOK, height=1400)
    notebook.run_all(timeout=200)
    panel, page = notebook.panel, notebook.page
    app_viewer = panel.locator(".cw-viewer").first
    details_viewer = panel.locator(".cw-details-viewer .cw-viewer").first
    for viewer in (app_viewer, details_viewer):
        page.wait_for_function("el => el.dataset.cwAtoms === '32'", arg=viewer.element_handle(), timeout=60_000)
    profile_row = panel.locator(".cw-profile.cw-selected").first
    job_row = panel.locator(".cw-tr.cw-selected").first
    job_row.wait_for(timeout=30_000)
    canvases = [v.locator(".cw-viewer-canvas canvas").first for v in (app_viewer, details_viewer)]

    def check(theme: str, background: tuple[int, int, int]) -> None:
        for viewer in (app_viewer, details_viewer):
            page.wait_for_function(
                "([el, want]) => el.dataset.cwBackground === want",
                arg=[viewer.element_handle(), "#%02x%02x%02x" % background],
                timeout=10_000,
            )
        for canvas in canvases:
            wait_until(
                lambda canvas=canvas: all(abs(a - b) <= 3 for a, b in zip(corner_pixel(canvas), background)),
                10,
                f"the canvas to be repainted {background} in {theme} (last {corner_pixel(canvas)})",
            )
        for name, row in (("selected profile row", profile_row), ("selected job row", job_row)):
            for part in (row, row.locator(".cw-profile-name, .cw-td").first):
                found = part.evaluate(CONTRAST_JS)
                assert found["ratio"] >= AA, f"{name} in {theme}: {found}"
        low = [f for f in panel.evaluate(ALL_TEXT_JS) if f["ratio"] < needed(f["cls"])]
        assert not low, f"text below {AA}:1 (graphics {GRAPHICS}) in {theme}: {low[:8]}"

    try:
        check(LIGHT, (255, 255, 255))
        notebook.screenshot("theme-light")
        notebook.screenshot("theme-light-picker", profile_row.locator("xpath=..").first)
        switch_theme(page, DARK)
        check(DARK, (17, 17, 17))  # --jp-layout-color0 of JupyterLab Dark: #111
        notebook.screenshot("theme-dark")
        notebook.screenshot("theme-dark-picker", profile_row.locator("xpath=..").first)
    finally:
        # the Lab server is shared by the session: leave it light for the other tests
        switch_theme(page, LIGHT)
    check(LIGHT, (255, 255, 255))
