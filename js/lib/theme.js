// The page's theme, for what CSS cannot colour itself (a WebGL canvas): JupyterLab's colour
// variables read when drawing, and a live theme switch noticed. JupyterLab (and Notebook 7,
// Voila) mark the theme on <body> as data-jp-theme-name / data-jp-theme-light once the
// theme's CSS is in; other front ends may follow the OS's prefers-color-scheme.

const THEME_ATTRIBUTES = ["data-jp-theme-name", "data-jp-theme-light"];

/** True when JupyterLab (or the page) uses a dark theme. */
export function isDarkTheme() {
  const light = document.body?.dataset?.jpThemeLight;
  if (light !== undefined) return light === "false";
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
}

let scratch = null;

/**
 * The value of a theme colour variable now, as `#rrggbb` (what NGL and three.js accept).
 * @param {string} name - a CSS custom property, e.g. `--jp-layout-color0`
 * @param {string} fallback - used when the page does not define it (or not as a colour)
 * @returns {string}
 */
export function themeColor(name, fallback) {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  if (!value) return fallback;
  // a 2D context normalises any CSS colour (names, rgb(), color-mix()...) to #rrggbb
  scratch ??= document.createElement("canvas").getContext("2d");
  if (!scratch) return value;
  scratch.fillStyle = fallback;
  scratch.fillStyle = value;
  return scratch.fillStyle;
}

/** The background a 3D canvas should have now: the notebook's own (`--jp-layout-color0`). */
export function canvasBackground() {
  return themeColor("--jp-layout-color0", isDarkTheme() ? "#111111" : "#ffffff");
}

/**
 * Call `listener()` after every theme switch (JupyterLab's Settings > Theme, or the OS's
 * dark mode), and return a function that stops listening. A switch is told once, a
 * moment after the attributes change, so the new theme's variables are in place.
 * @param {() => void} listener
 * @returns {() => void}
 */
export function onThemeChange(listener) {
  let frame = null;
  const fire = () => {
    if (frame !== null) cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      frame = null;
      listener();
    });
  };
  const observer = new MutationObserver(fire);
  if (document.body) observer.observe(document.body, { attributes: true, attributeFilter: THEME_ATTRIBUTES });
  const media = window.matchMedia?.("(prefers-color-scheme: dark)");
  media?.addEventListener?.("change", fire);
  return () => {
    observer.disconnect();
    media?.removeEventListener?.("change", fire);
    if (frame !== null) cancelAnimationFrame(frame);
  };
}
