// A small SVG line plot (no plotting library): y values against their index, with min/max
// ticks on both axes. Labels are set as text (textContent), never parsed as markup.

import "./plot.css";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

/** A tick label: integers as they are, other numbers with `digits` decimals. */
function tick(value, digits) {
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

/**
 * Draw `values` (numbers; null/NaN entries are skipped) as a line against their index.
 * @param {Array<number|null>} values
 * @param {object} [options]
 * @param {number} [options.width=360] - SVG width in px
 * @param {number} [options.height=200] - SVG height in px
 * @param {string} [options.xLabel] - label under the x axis
 * @param {string} [options.yLabel] - label beside the y axis
 * @param {number} [options.digits=4] - decimals of the y ticks
 * @param {string} [options.title] - accessible name (the SVG's <title>)
 * @param {Function} [options.onPick] - called with the index nearest to a click on the plot
 *   (the plot then shows a pointer cursor)
 * @returns {SVGSVGElement} with `data-cw-points` set to the number of points drawn
 */
export function linePlot(values, options = {}) {
  const { width = 360, height = 200, xLabel = "", yLabel = "", digits = 4, title = "", onPick } = options;
  const points = values
    .map((y, x) => [x, y])
    .filter(([, y]) => typeof y === "number" && Number.isFinite(y));
  const root = svg("svg", {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    class: "cw-plot",
    role: "img",
    "data-cw-points": points.length,
  });
  if (title) root.append(svg("title", {}, title));
  const margin = { left: 78, right: 12, top: 10, bottom: 38 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  if (points.length === 0) {
    root.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "no data"));
    return root;
  }
  const xMax = Math.max(1, values.length - 1);
  const ys = points.map(([, y]) => y);
  let yMin = Math.min(...ys);
  let yMax = Math.max(...ys);
  if (yMax - yMin < 1e-12) {
    yMin -= 0.5;
    yMax += 0.5;
  }
  const px = (x) => margin.left + (x / xMax) * plotW;
  const py = (y) => margin.top + (1 - (y - yMin) / (yMax - yMin)) * plotH;

  const axes = svg("g", { class: "cw-plot-axes" });
  axes.append(
    svg("line", { x1: margin.left, y1: margin.top, x2: margin.left, y2: margin.top + plotH }),
    svg("line", {
      x1: margin.left,
      y1: margin.top + plotH,
      x2: margin.left + plotW,
      y2: margin.top + plotH,
    }),
  );
  const labels = svg("g", { class: "cw-plot-labels" });
  for (const y of [yMin, yMax]) {
    labels.append(
      svg("text", { x: margin.left - 4, y: py(y) + 4, "text-anchor": "end" }, tick(y, digits)),
    );
  }
  for (const x of xMax > 1 ? [0, xMax] : [0, 1]) {
    labels.append(
      svg("text", { x: px(x), y: margin.top + plotH + 14, "text-anchor": "middle" }, tick(x, 0)),
    );
  }
  if (xLabel) {
    labels.append(
      svg("text", { x: margin.left + plotW / 2, y: height - 4, "text-anchor": "middle" }, xLabel),
    );
  }
  if (yLabel) {
    const y = margin.top + plotH / 2;
    labels.append(
      svg("text", { x: 12, y, "text-anchor": "middle", transform: `rotate(-90 12 ${y})` }, yLabel),
    );
  }
  const path = points
    .map(([x, y], i) => `${i ? "L" : "M"}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
    .join(" ");
  const line = svg("path", { d: path, class: "cw-plot-line", fill: "none" });
  root.append(axes, labels, line);
  if (onPick) {
    root.classList.add("cw-plot-pickable");
    root.addEventListener("click", (event) => {
      const box = root.getBoundingClientRect();
      const x = ((event.clientX - box.left) * width) / box.width;
      const index = Math.round(((x - margin.left) / plotW) * xMax);
      onPick(Math.min(Math.max(0, index), values.length - 1));
    });
  }
  if (points.length <= 60) {
    const dots = svg("g", { class: "cw-plot-points" });
    for (const [x, y] of points) {
      const dot = svg("circle", { cx: px(x).toFixed(1), cy: py(y).toFixed(1), r: 2.5 });
      dot.append(svg("title", {}, `step ${x}: ${y.toFixed(digits + 2)}`));
      dots.append(dot);
    }
    root.append(dots);
  }
  return root;
}
