// Trajectory frames as the StructureViewer receives them from Python (`_frames_meta` and two
// float32 binary buffers, see crystalwidgets/widgets/_viewer.py), and the force arrows drawn
// on a frame. Pure functions and one DOM builder; no NGL, so they are cheap to test and share.
import { el } from "./dom.js";

/** The longest force arrow drawn (Å); the others are scaled by the same factor. */
export const LONGEST_ARROW = 1.5;
/** Arrows shorter than this (Å) are not drawn: they would be invisible inside their ball. */
const SHORTEST_ARROW = 0.02;

/**
 * A binary buffer of a synced trait (DataView, ArrayBuffer or typed array) as float32 values;
 * null when empty. Copied only when its offset does not allow a view.
 * @returns {Float32Array | null}
 */
export function floats(buffer) {
  if (!buffer || !buffer.byteLength) return null;
  if (buffer instanceof ArrayBuffer) return new Float32Array(buffer);
  const { buffer: bytes, byteOffset, byteLength } = buffer;
  if (byteOffset % 4 === 0) return new Float32Array(bytes, byteOffset, byteLength / 4);
  return new Float32Array(bytes.slice(byteOffset, byteOffset + byteLength));
}

/** Frame `k` (3 numbers an atom) of `values` holding every frame of `nAtoms` atoms. */
export function frameOf(values, k, nAtoms) {
  return values ? values.subarray(3 * nAtoms * k, 3 * nAtoms * (k + 1)) : null;
}

/** The cell of frame `k` (3 x 3), or `fallback` when the cell never changes. */
export function frameCell(meta, k, fallback) {
  const flat = meta?.cells?.[k];
  return flat ? [flat.slice(0, 3), flat.slice(3, 6), flat.slice(6, 9)] : fallback;
}

/**
 * Force arrows of the drawn atoms `0..count-1` (not the periodic images): along each atom's
 * force, the largest `LONGEST_ARROW` long, starting on the surface of its ball (radius
 * `radii[i]` Å for atom i, centre at `placed` minus `shift`) so that all of it shows.
 * @returns {{ arrows: Array<[number[], number[]]>, fmax: number, perAngstrom: number }}
 *   `perAngstrom`: eV/Å that one Å of arrow stands for (0 without forces)
 */
export function forceArrows(forces, origin, count, placed, shift, radii) {
  let fmax = 0;
  const n = forces.length / 3;
  for (let i = 0; i < n; i++) {
    fmax = Math.max(fmax, Math.hypot(forces[3 * i], forces[3 * i + 1], forces[3 * i + 2]));
  }
  const arrows = [];
  if (!(fmax > 0)) return { arrows, fmax: 0, perAngstrom: 0 };
  const scale = LONGEST_ARROW / fmax;
  for (let k = 0; k < count; k++) {
    const i = 3 * origin[k];
    const f = [forces[i] * scale, forces[i + 1] * scale, forces[i + 2] * scale];
    const length = Math.hypot(f[0], f[1], f[2]);
    if (length < SHORTEST_ARROW) continue;
    const out = radii[origin[k]] / length;
    const start = [0, 1, 2].map((d) => placed[3 * k + d] - shift[d] + f[d] * out);
    arrows.push([start, start.map((v, d) => v + f[d])]);
  }
  return { arrows, fmax, perAngstrom: fmax / LONGEST_ARROW };
}

/** "frame 3 / 20 · step 2 · E -12.345678 eV · Fmax 0.1234 eV/Å" (values as text). */
export function frameText(meta, k, count) {
  const parts = [`frame ${k + 1} / ${count}`];
  const step = meta?.steps?.[k];
  if (typeof step === "number") parts.push(`step ${step}`);
  const energy = meta?.energies?.[k];
  parts.push(typeof energy === "number" ? `E ${energy.toFixed(6)} eV` : "no energy");
  const fmax = meta?.max_forces?.[k];
  parts.push(typeof fmax === "number" ? `Fmax ${fmax.toFixed(4)} eV/Å` : "no forces");
  return parts.join(" · ");
}

/** The index of the frame nearest to optimiser/MD step `step` (frames may be thinned). */
export function frameOfStep(steps, step) {
  let best = 0;
  for (let k = 1; k < steps.length; k++) {
    if (Math.abs(steps[k] - step) < Math.abs(steps[best] - step)) best = k;
  }
  return best;
}

/** The playback controls: play/pause, slider, the frame's text. */
export function frameControls() {
  const play = el("button", {
    type: "button",
    className: "cw-viewer-play",
    text: "▶ Play",
    title: "play the steps (again from the first at the end)",
  });
  const slider = el("input", {
    type: "range",
    min: 0,
    step: 1,
    className: "cw-viewer-slider",
    "aria-label": "frame",
  });
  const label = el("span", { className: "cw-mono cw-viewer-frame" });
  const box = el("div", { className: "cw-viewer-frames", hidden: true }, [play, slider, label]);
  return { box, play, slider, label };
}
