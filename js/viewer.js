// StructureViewer front end: NGL draws the structure that Python sends as compact JSON.
// Python finds bonds (across the cell boundary too) and the boundary images once per
// structure; supercell copies and their images are laid out here, so changing the
// supercell never asks the kernel for anything. Clicking an atom (or one of its images)
// toggles its index in `selected`; Python answers with `selection_info` and `measurement`,
// shown as text under the canvas, and `summary` (lattice, space group, elements) above it.
// A trajectory (`frames` > 0) comes as float32 buffers of every frame's positions and forces:
// stepping a frame moves the drawn atoms in place (NGL's positions, no new structure) and
// redraws the force arrows, without asking the kernel for anything.
import "./lib/base.css";
import "./viewer.css";
import {
  cellEdges,
  effectiveRepeats,
  hasCell,
  isPeriodic,
  layout,
  pdbShift,
  placeAtoms,
  toPdb,
} from "./lib/crystal.js";
import { el, isDarkTheme, onChange, send } from "./lib/dom.js";
import {
  LONGEST_ARROW,
  floats,
  forceArrows,
  frameCell,
  frameControls,
  frameOf,
  frameText,
} from "./lib/frames.js";
import { canvasBackground, onThemeChange } from "./lib/theme.js";

/** Above this many drawn atoms, ball-and-stick draws balls only (Python sends the limit). */
const DEFAULT_BOND_LIMIT = 20000;
/** Images are drawn this much smaller than atoms, and paler. */
const IMAGE_SCALE = 0.6;
const IMAGE_OPACITY = 0.5;
/** How many atoms the test hook (`data-cw-atoms-on-canvas`) reports. */
const PROJECTED_ATOMS = 64;
/** Atoms drawn (copies and images included) above which bonds are hidden while the view is
 * dragged (as Jmol's wireframe rotation): the balls turn with the mouse, the bonds come back
 * when it lets go. Without a GPU a frame of 10,000 balls and their bonds takes a second or more. */
const FAST_DRAG_ATOMS = 5000;
const AXIS_COLORS = [
  [0.85, 0.1, 0.1],
  [0.1, 0.6, 0.1],
  [0.1, 0.25, 0.9],
];
const SELECTION_COLOR = "#ffc400";
const FORCE_COLOR = [0.85, 0.0, 0.85]; // magenta: apart from every element colour and the cell axes
/** Milliseconds a frame is shown while playing. */
const PLAY_STEP_MS = 150;
const STYLES = [
  ["ball-and-stick", "Ball and stick"],
  ["space-filling", "Space filling"],
];

const numberFormat = new Intl.NumberFormat("en-US");

function atomsRepresentations(style, drawBonds, drawImages) {
  // Impostor spheres and cylinders (NGL's default when WebGL allows) cost a few vertices
  // per atom whatever the radius, so 10,000+ atoms stay interactive.
  // Chain A holds the atoms, chain B their periodic images (lib/crystal.js toPdb).
  const ball = ballRadius(style);
  const reps = [["spacefill", { ...ball, sele: ":A" }]];
  if (drawImages) {
    reps.push([
      "spacefill",
      { ...ball, radiusScale: ball.radiusScale * IMAGE_SCALE, sele: ":B", opacity: IMAGE_OPACITY },
    ]);
  }
  if (drawBonds && style !== "space-filling") {
    reps.push(["ball+stick", { cylinderOnly: true, radiusType: "size", radiusSize: 0.1 }]);
  }
  return reps;
}

/** How big the atoms' balls are drawn in `style` (NGL radius parameters). */
function ballRadius(style) {
  return style === "space-filling"
    ? { radiusType: "vdw", radiusScale: 1.0 }
    : { radiusType: "covalent", radiusScale: 0.45 };
}

function selectionRadius(style) {
  return style === "space-filling"
    ? { radiusType: "vdw", radiusScale: 1.12 }
    : { radiusType: "covalent", radiusScale: 0.7 };
}

/** How many drawn atoms have no drawn bond (a test hook: cristobalite has none). */
function looseAtoms(total, bonds) {
  const bonded = new Uint8Array(total);
  for (const k of bonds) bonded[k] = 1;
  return total - bonded.reduce((sum, b) => sum + b, 0);
}

function fmt(value) {
  return value.toFixed(3).padStart(8);
}

/**
 * NGL, from the bundle Python sends in `_ngl` (viewer-ngl.js): imported once per page and
 * shared by every viewer showing the same bundle.
 */
function loadNgl(model) {
  const source = model.get("_ngl");
  const loaded = (globalThis.__crystalwidgetsNgl ??= new Map());
  if (!loaded.has(source)) {
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const module = import(url).finally(() => URL.revokeObjectURL(url));
    module.catch(() => loaded.delete(source)); // a later view tries again
    loaded.set(source, module);
  }
  return loaded.get(source);
}

async function render({ model, el: host }) {
  const started = performance.now();
  const cleanups = [];

  // ---- DOM: toolbar, canvas, status, selection list (all text via textContent) ----
  const repeatInputs = ["a", "b", "c"].map((axis) =>
    el("input", {
      type: "number",
      min: 1,
      step: 1,
      title: `copies along ${axis}`,
      "aria-label": `supercell ${axis}`,
      className: "cw-viewer-repeat",
      dataset: { axis },
    }),
  );
  const styleSelect = el(
    "select",
    { "aria-label": "draw style", className: "cw-viewer-style" },
    STYLES.map(([value, label]) => el("option", { value, text: label })),
  );
  const cellCheckbox = el("input", { type: "checkbox", className: "cw-viewer-cell" });
  const imagesCheckbox = el("input", { type: "checkbox", className: "cw-viewer-images" });
  const forcesCheckbox = el("input", { type: "checkbox", className: "cw-viewer-forces" });
  const forcesLabel = el(
    "label",
    { className: "cw-group", title: `each atom's force as an arrow, the longest ${LONGEST_ARROW} Å` },
    [forcesCheckbox, "Forces"],
  );
  const frames = frameControls();
  const forceNote = el("div", { className: "cw-mono cw-label cw-viewer-force-note" });
  const resetButton = el("button", { type: "button", text: "Reset view", title: "fit and reorient" });
  const pngButton = el("button", {
    type: "button",
    text: "PNG",
    title: "download the view as a PNG image",
    className: "cw-viewer-png",
  });
  const summaryLine = el("div", { className: "cw-mono cw-viewer-summary" });
  const legend = el("div", { className: "cw-viewer-legend" });
  const canvasBox = el("div", { className: "cw-viewer-canvas" });
  const status = el("span", { className: "cw-viewer-status" });
  const hover = el("span", { className: "cw-viewer-hover" });
  const selectionList = el("div", { className: "cw-mono cw-viewer-selection" });
  const measurementLine = el("div", { className: "cw-mono cw-viewer-measurement" });
  const clearButton = el("button", { type: "button", text: "Clear selection" });

  const root = el("div", { className: "cw-widget cw-viewer" }, [
    el("div", { className: "cw-toolbar" }, [
      el("span", { className: "cw-group" }, [
        el("span", { className: "cw-label", text: "Supercell" }),
        ...repeatInputs.flatMap((input, i) => [i ? "×" : "", input]),
      ]),
      el("label", { className: "cw-group" }, [
        el("span", { className: "cw-label", text: "Style" }),
        styleSelect,
      ]),
      el("label", { className: "cw-group" }, [cellCheckbox, "Unit cell"]),
      el("label", { className: "cw-group", title: "atoms on cell faces, edges, corners and across bonds" }, [
        imagesCheckbox,
        "Periodic images",
      ]),
      forcesLabel,
      resetButton,
      pngButton,
    ]),
    el("div", { className: "cw-viewer-info" }, [summaryLine, legend]),
    canvasBox,
    frames.box,
    forceNote,
    el("div", { className: "cw-status" }, [status, hover]),
    el("div", { className: "cw-viewer-selection-box" }, [
      el("div", { className: "cw-viewer-selection-text" }, [selectionList, measurementLine]),
      clearButton,
    ]),
  ]);
  host.append(root);

  status.textContent = "loading the 3D view…";
  let ngl;
  try {
    ngl = await loadNgl(model);
  } catch (error) {
    status.textContent = `Cannot draw: the 3D library did not load (${error.message})`;
    status.classList.add("cw-error");
    return () => root.remove();
  }
  const { ColormakerRegistry, Shape, Stage, Vector3 } = ngl;

  // ---- NGL stage, created once per view and kept for the view's lifetime ----
  const stage = new Stage(canvasBox, {
    backgroundColor: canvasBackground(),
    cameraType: "orthographic",
    tooltip: false,
    fogNear: 100,
    fogFar: 100,
    clipNear: 0,
    clipDist: 0, // NGL keeps 10 Å in front of the camera clear; our framing does not need it
  });
  const viewer = stage.viewer;
  // NGL's left click also moves the camera onto the atom; here it only selects
  // (middle click still centres on an atom, right click measures distances).
  stage.mouseControls.remove("clickPick-left");
  let shown = null; // what is drawn: { data, repeats, n, count, positions, shift, viewKey }
  let structureComponent = null;
  let atomReps = [];
  let bondRep = null; // the bonds' representation (hidden while a large view is dragged)
  let selectionRep = null;
  let cellComponent = null;
  let axisLabels = []; // the cell's axis names as drawn: { name, anchor, end } (the edge's end)
  let forcesComponent = null;
  let playTimer = null;
  let loads = 0;
  let oriented = false;

  function setStatus(text, isError = false) {
    status.textContent = text;
    status.classList.toggle("cw-error", isError);
  }

  function applyStyle() {
    if (!structureComponent) return;
    for (const rep of atomReps) structureComponent.removeRepresentation(rep);
    if (selectionRep) structureComponent.removeRepresentation(selectionRep);
    const style = model.get("draw_style");
    const drawImages = shown.total > shown.count;
    const reps = atomsRepresentations(style, shown.bonds !== null, drawImages);
    atomReps = reps.map(([type, params]) =>
      structureComponent.addRepresentation(type, { colorScheme: "element", ...params }),
    );
    bondRep = atomReps[reps.findIndex(([type]) => type === "ball+stick")] ?? null;
    selectionRep = structureComponent.addRepresentation("spacefill", {
      ...selectionRadius(style),
      color: SELECTION_COLOR,
      opacity: 0.55,
      depthWrite: false, // overlapping halos of many copies blend instead of hiding each other
      disablePicking: true, // clicks go to the atom inside the halo
      sele: "@0",
      visible: false,
    });
    applySelection();
  }

  function applySelection() {
    const started = performance.now();
    const selected = new Set((model.get("selected") ?? []).filter((i) => shown && i < shown.n));
    clearButton.disabled = (model.get("selected") ?? []).length === 0;
    if (!selectionRep || !shown) return;
    if (selected.size === 0) {
      selectionRep.setSelection("@0");
      selectionRep.setVisibility(false);
    } else {
      // every copy and image of a selected atom is highlighted
      const indices = [];
      for (let k = 0; k < shown.total; k++) if (selected.has(shown.origin[k])) indices.push(k);
      selectionRep.setSelection(`@${indices.join(",")}`);
      selectionRep.setVisibility(true);
    }
    root.dataset.cwHighlighted = String(selected.size);
    // the test hook: the page's work for it (the highlight's representation rebuilt), not the
    // WebGL frame that then draws it
    root.dataset.cwSelectionWorkMs = (performance.now() - started).toFixed(1);
  }

  function drawCell() {
    if (cellComponent) {
      stage.removeComponent(cellComponent);
      cellComponent = null;
    }
    axisLabels = [];
    if (!shown || !hasCell(shown.data)) return;
    const shape = new Shape("unit cell");
    const origin = shown.shift.map((v) => -v);
    const edgeColor = isDarkTheme() ? [0.8, 0.8, 0.8] : [0.25, 0.25, 0.25];
    for (const [start, end, axis] of cellEdges(shown.cell, origin)) {
      shape.addWideline(start, end, axis >= 0 ? AXIS_COLORS[axis] : edgeColor, 2, "cell");
      if (axis >= 0) {
        // the axis name just past the end of its edge
        const past = [0, 1, 2].map((d) => end[d] + 0.08 * (end[d] - start[d]));
        shape.addText(past, AXIS_COLORS[axis], 1.2, "abc"[axis]);
        axisLabels.push({ name: "abc"[axis], anchor: past, end });
      }
    }
    cellComponent = stage.addComponentFromObject(shape);
    cellComponent.addRepresentation("buffer", {});
    cellComponent.setVisibility(model.get("show_cell"));
  }

  function orient() {
    if (!oriented) {
      // A slight tilt shows depth; looking straight down c hides half a cubic cell.
      stage.viewerControls.spin([0, 1, 0], -0.45);
      stage.viewerControls.spin([1, 0, 0], 0.3);
      oriented = true;
    }
    frame();
  }

  /** Centre the drawn atoms and cell, zoomed so their bounding sphere fills the view. */
  function frame() {
    if (!shown) return;
    const points = [];
    for (let k = 0; k < shown.total; k++) {
      points.push([0, 1, 2].map((d) => shown.positions[3 * k + d] - shown.shift[d]));
    }
    if (hasCell(shown.data)) {
      const origin = shown.shift.map((v) => -v);
      for (const [start, end] of cellEdges(shown.cell, origin)) points.push(start, end);
    }
    const low = [Infinity, Infinity, Infinity];
    const high = [-Infinity, -Infinity, -Infinity];
    for (const p of points) {
      for (let d = 0; d < 3; d++) {
        low[d] = Math.min(low[d], p[d]);
        high[d] = Math.max(high[d], p[d]);
      }
    }
    const centre = low.map((v, d) => (v + high[d]) / 2);
    let radius = 0;
    for (const p of points) {
      radius = Math.max(radius, Math.hypot(p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]));
    }
    // atoms are balls, not points: add the largest ball drawn
    const largest = Math.max(...Object.values(shown.data.covalent_radii));
    radius += largest * (model.get("draw_style") === "space-filling" ? 1.6 : 0.6);
    const halfAngle = ((viewer.perspectiveCamera.fov / 2) * Math.PI) / 180;
    const aspect = viewer.width / viewer.height;
    stage.viewerControls.center(centre);
    stage.viewerControls.distance(radius / Math.tan(halfAngle) / Math.min(1, aspect));
  }

  async function load() {
    const load = ++loads;
    const data = model.get("_structure_data");
    hover.textContent = ""; // what the pointer was on may be gone
    if (!data || !data.positions || data.positions.length === 0) {
      if (structureComponent) stage.removeComponent(structureComponent);
      structureComponent = null;
      shown = null;
      drawCell();
      showLegend();
      applySelection();
      setStatus("No structure: set viewer.structure to an ASE Atoms or a pymatgen structure.");
      root.dataset.cwAtoms = "0";
      return;
    }
    const repeats = effectiveRepeats(data, model.get("supercell"));
    const drawn = layout(data, repeats, {
      images: model.get("show_images"),
      bondLimit: data.bond_limit ?? DEFAULT_BOND_LIMIT,
    });
    const { n, count, total, positions, origin, translations, bonds } = drawn;
    let shift;
    try {
      shift = pdbShift(positions);
    } catch (error) {
      setStatus(`Cannot draw: ${error.message}`, true);
      return;
    }
    const pdb = toPdb(data.symbols, origin, count, positions, bonds ?? [], shift);
    const component = await stage.loadFile(new Blob([pdb], { type: "text/plain" }), {
      ext: "pdb",
      name: "structure",
      defaultRepresentation: false,
    });
    if (load !== loads) {
      stage.removeComponent(component); // a newer structure or supercell arrived meanwhile
      return;
    }
    if (structureComponent) stage.removeComponent(structureComponent);
    structureComponent = component;
    const viewKey = JSON.stringify([repeats, data.cell, n]);
    const sameView = shown?.viewKey === viewKey;
    shown = { data, repeats, n, count, total, positions, origin, translations, shift, bonds, viewKey };
    shown.cell = data.cell;
    shown.frame = null; // the structure's own positions
    atomReps = [];
    selectionRep = null;
    applyStyle();
    applyFrame(false);
    drawCell();
    if (!sameView) orient();
    describe();
    showLegend();
    stage.tasks.onZeroOnce(() => {
      viewer.signals.rendered.addOnce(() => {
        root.dataset.cwAtoms = String(count);
        root.dataset.cwImages = String(total - count);
        root.dataset.cwBonds = String(bonds === null ? -1 : bonds.length / 2);
        root.dataset.cwLoose = String(bonds === null ? -1 : looseAtoms(total, bonds));
        root.dataset.cwLoads = String(load);
        if (!root.dataset.cwFirstFrameMs) {
          root.dataset.cwFirstFrameMs = (performance.now() - started).toFixed(0);
        }
      });
      viewer.requestRender();
    });
  }

  // ---- trajectory frames and force arrows ----
  let frameData = null; // { meta, positions, forces } of the trajectory, parsed once per change
  function readFrames() {
    const count = model.get("frames");
    const meta = model.get("_frames_meta") ?? {};
    frameData = count > 0
      ? { count, meta, positions: floats(model.get("_frame_positions")), forces: floats(model.get("_frame_forces")) }
      : null;
  }

  /** The frame shown, or null when there is none (or it is of other atoms than drawn). */
  function currentFrame() {
    if (!frameData || !shown || frameData.meta.n_atoms !== shown.n) return null;
    const k = Math.min(Math.max(0, model.get("frame")), frameData.count - 1);
    return k;
  }

  /** Move the drawn atoms to the frame's positions (in place: NGL keeps the structure) and
   * redraw the arrows; `redraw`: also the cell (the caller redraws it otherwise). */
  function applyFrame(redraw = true) {
    const started = performance.now();
    showFrameControls();
    if (!shown || !structureComponent) return;
    const k = currentFrame();
    if (k === null && shown.frame === null) {
      drawForces();
      return;
    }
    const n = shown.n;
    const positions = k === null ? shown.data.positions.flat() : frameOf(frameData.positions, k, n);
    const cell = k === null ? shown.data.cell : frameCell(frameData.meta, k, shown.data.cell);
    const placed = placeAtoms(shown.origin, shown.translations, positions, cell);
    const shifted = new Float32Array(placed.length);
    for (let j = 0; j < placed.length; j++) shifted[j] = placed[j] - shown.shift[j % 3];
    structureComponent.structure.updatePosition(shifted);
    structureComponent.updateRepresentations({ position: true });
    const cellChanged = cell !== shown.cell;
    shown.positions = placed;
    shown.cell = cell;
    shown.frame = k;
    if (redraw && cellChanged) drawCell();
    drawForces();
    const workMs = performance.now() - started;
    viewer.signals.rendered.addOnce(() => {
      root.dataset.cwFrameWorkMs = workMs.toFixed(1); // the test hooks: work, and to the frame drawn
      root.dataset.cwFrame = String(k ?? -1);
      root.dataset.cwFrameMs = (performance.now() - started).toFixed(1);
      const atom = structureComponent?.structure.getAtomProxy(0);
      if (atom) {
        root.dataset.cwFirstAtom = JSON.stringify(
          [atom.x, atom.y, atom.z].map((v, d) => +(v + shown.shift[d]).toFixed(4)),
        );
      }
    });
    viewer.requestRender();
  }

  /** The radius (Å) of each atom's ball as drawn in the current style (NGL's radii). */
  function ballRadii() {
    const { radiusType, radiusScale } = ballRadius(model.get("draw_style"));
    const structure = structureComponent.structure;
    const bySymbol = new Map();
    return shown.data.symbols.map((symbol, i) => {
      if (!bySymbol.has(symbol)) {
        const atom = structure.getAtomProxy(i);
        bySymbol.set(symbol, (radiusType === "vdw" ? atom.vdw : atom.covalent) * radiusScale);
      }
      return bySymbol.get(symbol);
    });
  }

  function drawForces() {
    if (forcesComponent) {
      stage.removeComponent(forcesComponent);
      forcesComponent = null;
    }
    const k = currentFrame();
    const hasForces = k !== null && frameData.forces && frameData.meta.has_forces?.[k];
    forcesCheckbox.disabled = !hasForces;
    forcesLabel.title = hasForces
      ? `each atom's force as an arrow, the longest ${LONGEST_ARROW} Å`
      : "this frame has no forces";
    root.dataset.cwArrows = "0";
    if (!model.get("show_forces") || !shown) {
      forceNote.textContent = "";
      return;
    }
    if (!hasForces) {
      forceNote.textContent = frameData ? "Forces: this frame has none." : "Forces: no trajectory with forces is shown.";
      return;
    }
    const forces = frameOf(frameData.forces, k, shown.n);
    const { arrows, fmax, perAngstrom } = forceArrows(
      forces, shown.origin, shown.count, shown.positions, shown.shift, ballRadii(),
    );
    if (arrows.length) {
      const shape = new Shape("forces", { radialSegments: 10 });
      for (const [start, end] of arrows) shape.addArrow(start, end, FORCE_COLOR, 0.08, "force");
      forcesComponent = stage.addComponentFromObject(shape);
      forcesComponent.addRepresentation("buffer", { disablePicking: true });
    }
    root.dataset.cwArrows = String(arrows.length);
    forceNote.textContent =
      `Forces: longest arrow ${LONGEST_ARROW} Å = ${fmax.toFixed(4)} eV/Å ` +
      `(1 Å of arrow = ${perAngstrom.toFixed(4)} eV/Å; arrows start on the balls)`;
  }

  let framesPending = false;
  function framesChanged() {
    if (framesPending) return;
    framesPending = true;
    queueMicrotask(() => {
      framesPending = false;
      readFrames();
      applyFrame();
    });
  }

  function showFrameControls() {
    const count = frameData?.count ?? 0;
    frames.box.hidden = count === 0;
    if (!count) {
      stopPlaying();
      return;
    }
    const k = Math.min(model.get("frame"), count - 1);
    frames.slider.max = String(count - 1);
    frames.slider.value = String(k);
    frames.slider.disabled = count < 2;
    frames.play.disabled = count < 2;
    frames.label.textContent = frameText(frameData.meta, k, count);
  }

  function stopPlaying() {
    if (playTimer === null) return;
    clearInterval(playTimer);
    playTimer = null;
    frames.play.textContent = "▶ Play";
    root.dataset.cwPlaying = "false";
  }

  function togglePlay() {
    if (playTimer !== null) {
      stopPlaying();
      return;
    }
    const count = frameData?.count ?? 0;
    if (count < 2) return;
    if (model.get("frame") >= count - 1) send(model, "frame", 0);
    frames.play.textContent = "❚❚ Pause";
    root.dataset.cwPlaying = "true";
    playTimer = setInterval(() => {
      const next = model.get("frame") + 1;
      if (next >= count) stopPlaying();
      else send(model, "frame", next);
    }, PLAY_STEP_MS);
  }

  function describe() {
    if (!shown) return;
    const { n, count, total, repeats, bonds } = shown;
    let text = `${numberFormat.format(count)} atoms shown`;
    if (count !== n) text += ` (${numberFormat.format(n)} × ${repeats.join("×")})`;
    if (total > count) text += ` + ${numberFormat.format(total - count)} periodic images`;
    if (bonds === null && model.get("draw_style") === "ball-and-stick") {
      const limit = shown.data.bond_limit ?? DEFAULT_BOND_LIMIT;
      text += ` · bonds hidden above ${numberFormat.format(limit)} atoms`;
    }
    setStatus(text);
  }

  /** Lattice parameters and space group from Python's `summary`. */
  function showSummary() {
    const summary = model.get("summary") ?? {};
    const parts = [];
    const lattice = summary.lattice;
    if (lattice) {
      // a name and its value never part at a line's end (no-break spaces): "γ" alone at the
      // end of a line in a narrow panel and "90.00°" on the next read as two things
      const length = (v) => v.toFixed(4);
      const angle = (v) => v.toFixed(2);
      const nb = "\u00a0";
      parts.push(
        `a${nb}${length(lattice.a)}  b${nb}${length(lattice.b)}  c${nb}${length(lattice.c)}${nb}Å` +
          `   α${nb}${angle(lattice.alpha)}  β${nb}${angle(lattice.beta)}  γ${nb}${angle(lattice.gamma)}°`,
      );
    }
    if (summary.space_group) {
      parts.push(`${summary.space_group.symbol} (${summary.space_group.number})`);
    } else if (summary.space_group_note && lattice) {
      parts.push(summary.space_group_note);
    }
    summaryLine.textContent = parts.join("   ·   ");
    showLegend();
  }

  /** One swatch per element, in the colour NGL draws it, with the count from Python. */
  function showLegend() {
    const elements = (model.get("summary") ?? {}).elements ?? [];
    const items = [];
    if (shown && structureComponent) {
      const structure = structureComponent.structure;
      const colormaker = ColormakerRegistry.getScheme({ scheme: "element", structure });
      for (const { symbol, count } of elements) {
        const first = shown.data.symbols.indexOf(symbol);
        if (first < 0) continue;
        const color = colormaker.atomColor(structure.getAtomProxy(first));
        items.push(
          el("span", { className: "cw-viewer-legend-item", dataset: { symbol } }, [
            el("span", {
              className: "cw-viewer-swatch",
              style: { background: `#${color.toString(16).padStart(6, "0")}` },
            }),
            `${symbol} ${count}`,
          ]),
        );
      }
    }
    legend.replaceChildren(...items);
  }

  function showControls() {
    const data = model.get("_structure_data");
    const supercell = model.get("supercell");
    repeatInputs.forEach((input, axis) => {
      input.value = String(supercell[axis]);
      input.disabled = !data || !data.positions?.length || !isPeriodic(data, axis);
      input.title = input.disabled
        ? `not periodic along ${"abc"[axis]}`
        : `copies along ${"abc"[axis]}`;
    });
    styleSelect.value = model.get("draw_style");
    cellCheckbox.checked = model.get("show_cell");
    cellCheckbox.disabled = !data || !data.positions?.length || !hasCell(data);
    imagesCheckbox.checked = model.get("show_images");
    imagesCheckbox.disabled = !data || !data.positions?.length || !(data.images?.length || data.bonds?.length);
  }

  function showSelectionInfo() {
    const info = model.get("selection_info") ?? [];
    selectionList.textContent = info.length
      ? info
          .map((atom) => {
            const [x, y, z] = atom.position;
            let line = `#${String(atom.index).padEnd(5)} ${String(atom.symbol).padEnd(3)}` +
              ` x ${fmt(x)}  y ${fmt(y)}  z ${fmt(z)} Å`;
            if (atom.fractional) line += `   frac ${atom.fractional.map((f) => f.toFixed(4)).join(" ")}`;
            return line;
          })
          .join("\n")
      : "Click an atom to select it (click again to deselect); 2, 3 or 4 atoms are measured.";
  }

  function showMeasurement() {
    const measurement = model.get("measurement");
    measurementLine.textContent = measurement ? measurement.text : "";
  }

  // ---- the test hook: where some atoms (and the cell's axis names) are on the canvas ----
  const projected = new Vector3();
  let projectTimer = null;
  /** Canvas pixels [x, y] and depth of a point given as drawn (shifted), as NGL projects it. */
  function projectPoint(x, y, z) {
    projected
      .set(x, y, z)
      .add(viewer.translationGroup.position)
      .applyMatrix4(viewer.rotationGroup.matrix)
      .project(viewer.camera);
    return [
      +(((projected.x + 1) * viewer.width) / 2).toFixed(1),
      +(((1 - projected.y) * viewer.height) / 2).toFixed(1),
      +projected.z.toFixed(5),
    ];
  }
  function publishProjection() {
    projectTimer = null;
    if (!shown) return;
    const project = (k) => [
      shown.origin[k],
      ...projectPoint(
        shown.positions[3 * k] - shown.shift[0],
        shown.positions[3 * k + 1] - shown.shift[1],
        shown.positions[3 * k + 2] - shown.shift[2],
      ),
    ];
    const atoms = [];
    for (let k = 0; k < Math.min(shown.count, PROJECTED_ATOMS); k++) atoms.push(project(k));
    const images = [];
    for (let k = shown.count; k < Math.min(shown.total, shown.count + PROJECTED_ATOMS); k++) {
      images.push(project(k));
    }
    // each axis name drawn: [name, x, y, depth of its anchor, x, y of its edge's end]; none
    // while the cell is hidden. The text's bottom-left corner is at the anchor.
    const labels = cellComponent?.visible
      ? axisLabels.map(({ name, anchor, end }) => [
          name,
          ...projectPoint(...anchor),
          ...projectPoint(...end).slice(0, 2),
        ])
      : [];
    root.dataset.cwImagesOnCanvas = JSON.stringify(images);
    root.dataset.cwAxisLabelsOnCanvas = JSON.stringify(labels);
    root.dataset.cwAtomsOnCanvas = JSON.stringify(atoms);
  }
  const onRendered = () => {
    if (projectTimer === null) projectTimer = setTimeout(publishProjection, 50);
  };
  viewer.signals.rendered.add(onRendered);

  // ---- user input ----
  stage.signals.clicked.add((picked) => {
    const atom = picked?.atom ?? picked?.closestBondAtom;
    if (!atom || !shown || picked.component !== structureComponent) return;
    const index = shown.origin[atom.index]; // an image selects the atom it is an image of
    const selected = [...(model.get("selected") ?? [])];
    const at = selected.indexOf(index);
    if (at >= 0) selected.splice(at, 1);
    else selected.push(index);
    send(model, "selected", selected);
  });
  stage.signals.hovered.add((picked) => {
    const atom = picked?.atom;
    if (!atom || !shown || picked.component !== structureComponent) {
      hover.textContent = "";
      return;
    }
    const index = shown.origin[atom.index];
    const image = atom.index >= shown.count ? " (periodic image)" : "";
    hover.textContent = ` · pointer on #${index} ${shown.data.symbols[index]}${image}`;
  });
  canvasBox.addEventListener("mouseleave", () => (hover.textContent = ""));
  // a large view drags with its bonds hidden (FAST_DRAG_ATOMS); a click is no drag
  let press = null; // where the pointer went down, while it is down
  let bondsHidden = false;
  const endDrag = () => {
    press = null;
    if (!bondsHidden) return;
    bondsHidden = false;
    bondRep?.setVisibility(true);
    root.dataset.cwBondsHidden = "false";
  };
  canvasBox.addEventListener("pointerdown", (event) => (press = [event.clientX, event.clientY]));
  canvasBox.addEventListener("pointermove", (event) => {
    if (!press || bondsHidden || !bondRep || !shown || shown.total <= FAST_DRAG_ATOMS) return;
    if (Math.hypot(event.clientX - press[0], event.clientY - press[1]) < 4) return;
    bondsHidden = true;
    bondRep.setVisibility(false);
    root.dataset.cwBondsHidden = "true"; // the test hook
  });
  window.addEventListener("pointerup", endDrag);
  window.addEventListener("blur", endDrag);
  cleanups.push(() => {
    window.removeEventListener("pointerup", endDrag);
    window.removeEventListener("blur", endDrag);
  });
  function commitSupercell() {
    const values = repeatInputs.map((field) => Number(field.value));
    const supercell = model.get("supercell");
    if (!values.every((v) => Number.isInteger(v) && v >= 1)) {
      setStatus("supercell: each of a, b, c must be a whole number ≥ 1", true);
      showControls();
      return;
    }
    const data = model.get("_structure_data");
    const copies = effectiveRepeats(data, values).reduce((p, v) => p * v, 1);
    const total = (data?.positions?.length ?? 0) * copies;
    const maxAtoms = model.get("max_atoms");
    if (total > maxAtoms) {
      setStatus(
        `supercell: ${values.join("×")} would draw ${numberFormat.format(total)} atoms, ` +
          `more than max_atoms=${numberFormat.format(maxAtoms)}; choose fewer copies`,
        true,
      );
      repeatInputs.forEach((field, axis) => (field.value = String(supercell[axis])));
      return;
    }
    send(model, "supercell", values);
  }
  for (const input of repeatInputs) {
    input.addEventListener("change", commitSupercell);
    // Chromium fires no "change" on Enter in a number field (inside JupyterLab)
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") commitSupercell();
    });
  }
  styleSelect.addEventListener("change", () => send(model, "draw_style", styleSelect.value));
  cellCheckbox.addEventListener("change", () => send(model, "show_cell", cellCheckbox.checked));
  imagesCheckbox.addEventListener("change", () =>
    send(model, "show_images", imagesCheckbox.checked),
  );
  forcesCheckbox.addEventListener("change", () => send(model, "show_forces", forcesCheckbox.checked));
  frames.slider.addEventListener("input", () => {
    stopPlaying();
    send(model, "frame", Number(frames.slider.value));
  });
  frames.play.addEventListener("click", togglePlay);
  pngButton.addEventListener("click", async () => {
    const blob = await stage.makeImage({ factor: 2, antialias: true, trim: false, transparent: false });
    const link = el("a", {
      href: URL.createObjectURL(blob),
      download: `${(model.get("summary") ?? {}).formula || "structure"}.png`,
    });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  });
  resetButton.addEventListener("click", () => {
    oriented = false;
    orient();
  });
  clearButton.addEventListener("click", () => send(model, "selected", []));

  // ---- model changes (from Python or from another view of the same widget) ----
  const reload = () => {
    showControls();
    load().catch((error) => setStatus(`Cannot draw: ${error.message}`, true));
  };
  cleanups.push(
    onChange(model, "_structure_data", reload),
    onChange(model, "supercell", reload),
    onChange(model, "show_images", reload),
    onChange(model, "draw_style", () => {
      showControls();
      applyStyle();
      drawForces();
      frame();
      describe();
    }),
    onChange(model, "show_cell", () => {
      showControls();
      cellComponent?.setVisibility(model.get("show_cell"));
    }),
    onChange(model, "selected", applySelection),
    onChange(model, "frame", () => applyFrame()),
    // a new trajectory changes these together: read and draw it once
    ...["frames", "_frames_meta", "_frame_positions", "_frame_forces"].map((name) =>
      onChange(model, name, framesChanged),
    ),
    onChange(model, "show_forces", () => {
      forcesCheckbox.checked = model.get("show_forces");
      drawForces();
    }),
    onChange(model, "selection_info", showSelectionInfo),
    onChange(model, "measurement", showMeasurement),
    onChange(model, "summary", showSummary),
    onChange(model, "_describing", () => {
      if (model.get("_describing")) setStatus("finding bonds and symmetry of the new structure…");
      else describe();
    }),
    onChange(model, "height", () => {
      canvasBox.style.height = `${model.get("height")}px`;
      stage.handleResize();
    }),
  );

  // ---- theme: on a live switch the canvas takes the new background and cell colour ----
  const applyTheme = () => {
    const background = canvasBackground();
    if (root.dataset.cwBackground === background) return;
    root.dataset.cwBackground = background; // the test hook: what the canvas is cleared to
    stage.setParameters({ backgroundColor: background });
    drawCell();
  };
  root.dataset.cwBackground = canvasBackground();
  cleanups.push(onThemeChange(applyTheme));

  canvasBox.style.height = `${model.get("height")}px`;
  const resizeObserver = new ResizeObserver(() => stage.handleResize());
  resizeObserver.observe(canvasBox);
  showControls();
  showSelectionInfo();
  showMeasurement();
  showSummary();
  readFrames();
  forcesCheckbox.checked = model.get("show_forces");
  reload();

  return () => {
    stopPlaying();
    for (const cleanup of cleanups) cleanup();
    resizeObserver.disconnect();
    viewer.signals.rendered.remove(onRendered);
    if (projectTimer !== null) clearTimeout(projectTimer);
    stage.dispose();
    root.remove();
  };
}

export default { render };
