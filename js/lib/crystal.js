// Geometry of a periodic structure as the widgets receive it from Python:
//   { symbols: [..], positions: [[x, y, z]...] (Å), cell: [[a], [b], [c]] (Å),
//     pbc: [bool, bool, bool], covalent_radii: { symbol: Å } }
// Pure functions, no DOM and no NGL, so every widget that draws atoms can share them.

/** Bond when distance < r1 + r2 + BOND_TOLERANCE (Å), the rule NGL itself uses. */
export const BOND_TOLERANCE = 0.3;
/** Two atoms closer than this (Å) are overlapping copies, not bonded. */
const MIN_BOND_LENGTH = 0.1;

function norm(v) {
  return Math.hypot(v[0], v[1], v[2]);
}

/**
 * How many copies to draw along a, b and c: the requested supercell along periodic axes
 * with a non-zero cell vector, 1 along the others.
 * @returns {[number, number, number]}
 */
export function effectiveRepeats(data, supercell) {
  return [0, 1, 2].map((axis) =>
    isPeriodic(data, axis) ? Math.max(1, Math.floor(supercell?.[axis] ?? 1)) : 1,
  );
}

/** Whether copies along cell vector `axis` (0, 1, 2) make sense. */
export function isPeriodic(data, axis) {
  return Boolean(data.pbc?.[axis]) && norm(data.cell[axis]) > 1e-6;
}

/** Whether the structure has a cell box to draw (at least one non-zero cell vector). */
export function hasCell(data) {
  return [0, 1, 2].some((axis) => norm(data.cell[axis]) > 1e-6);
}

/**
 * Copies of the structure shifted by integer combinations of the cell vectors.
 * Atom k of the result is atom `k % n` of the input (copies are stored one after another).
 * @returns {{ n: number, count: number, positions: Float64Array }}
 */
export function replicate(data, repeats) {
  const n = data.positions.length;
  const [na, nb, nc] = repeats;
  const count = n * na * nb * nc;
  const positions = new Float64Array(count * 3);
  const [a, b, c] = data.cell;
  let k = 0;
  for (let ia = 0; ia < na; ia++) {
    for (let ib = 0; ib < nb; ib++) {
      for (let ic = 0; ic < nc; ic++) {
        const sx = ia * a[0] + ib * b[0] + ic * c[0];
        const sy = ia * a[1] + ib * b[1] + ic * c[1];
        const sz = ia * a[2] + ib * b[2] + ic * c[2];
        for (let i = 0; i < n; i++, k++) {
          const p = data.positions[i];
          positions[3 * k] = p[0] + sx;
          positions[3 * k + 1] = p[1] + sy;
          positions[3 * k + 2] = p[2] + sz;
        }
      }
    }
  }
  return { n, count, positions };
}

/**
 * Bonds between the given atoms by covalent radii, found with a uniform grid (linear time).
 * @param {Float64Array} positions - 3 per atom
 * @param {Float64Array} radii - covalent radius per atom (Å)
 * @returns {Uint32Array} pairs (i, j) with i < j, flattened
 */
export function findBonds(positions, radii) {
  const count = radii.length;
  if (count < 2) return new Uint32Array(0);
  let maxRadius = 0;
  let min = [Infinity, Infinity, Infinity];
  for (let k = 0; k < count; k++) {
    maxRadius = Math.max(maxRadius, radii[k]);
    for (let d = 0; d < 3; d++) min[d] = Math.min(min[d], positions[3 * k + d]);
  }
  const size = 2 * maxRadius + BOND_TOLERANCE;
  const cellOf = (k, d) => Math.floor((positions[3 * k + d] - min[d]) / size);
  const key = (x, y, z) => `${x},${y},${z}`;
  const grid = new Map();
  for (let k = 0; k < count; k++) {
    const id = key(cellOf(k, 0), cellOf(k, 1), cellOf(k, 2));
    const bucket = grid.get(id);
    if (bucket) bucket.push(k);
    else grid.set(id, [k]);
  }
  const pairs = [];
  for (let i = 0; i < count; i++) {
    const cx = cellOf(i, 0);
    const cy = cellOf(i, 1);
    const cz = cellOf(i, 2);
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (let dz = -1; dz <= 1; dz++) {
          const bucket = grid.get(key(cx + dx, cy + dy, cz + dz));
          if (!bucket) continue;
          for (const j of bucket) {
            if (j <= i) continue;
            const x = positions[3 * i] - positions[3 * j];
            const y = positions[3 * i + 1] - positions[3 * j + 1];
            const z = positions[3 * i + 2] - positions[3 * j + 2];
            const distance = Math.sqrt(x * x + y * y + z * z);
            if (distance > MIN_BOND_LENGTH && distance < radii[i] + radii[j] + BOND_TOLERANCE) {
              pairs.push(i, j);
            }
          }
        }
      }
    }
  }
  return Uint32Array.from(pairs);
}

/** The 12 edges of the cell box at `origin`, as [start, end, axis] with axis 0/1/2 for the
 * three edges leaving the origin and -1 for the others. */
export function cellEdges(cell, origin = [0, 0, 0]) {
  const [a, b, c] = cell;
  const add = (...vectors) =>
    [0, 1, 2].map((d) => vectors.reduce((sum, v) => sum + v[d], 0));
  const o = origin;
  const corners = {
    o,
    a: add(o, a),
    b: add(o, b),
    c: add(o, c),
    ab: add(o, a, b),
    ac: add(o, a, c),
    bc: add(o, b, c),
    abc: add(o, a, b, c),
  };
  return [
    [corners.o, corners.a, 0],
    [corners.o, corners.b, 1],
    [corners.o, corners.c, 2],
    [corners.a, corners.ab, -1],
    [corners.a, corners.ac, -1],
    [corners.b, corners.ab, -1],
    [corners.b, corners.bc, -1],
    [corners.c, corners.ac, -1],
    [corners.c, corners.bc, -1],
    [corners.ab, corners.abc, -1],
    [corners.ac, corners.abc, -1],
    [corners.bc, corners.abc, -1],
  ];
}

const PDB_LIMIT = 9999.999;
const PDB_FLOOR = -999.999;

function fixed(value, width, digits) {
  return value.toFixed(digits).padStart(width);
}

/**
 * PDB text (HETATM + CONECT records) of replicated atoms, for NGL's parser.
 * One residue per atom so NGL adds no bonds of its own; bonds come from `bonds`.
 * Coordinates are shifted by `shift` (Å) to fit PDB's fixed columns.
 * @returns {string}
 */
export function toPdb(symbols, n, positions, bonds, shift) {
  const count = positions.length / 3;
  const lines = [];
  for (let k = 0; k < count; k++) {
    const symbol = symbols[k % n];
    const element = symbol.slice(0, 2).toUpperCase();
    const serial = String((k % 99999) + 1).padStart(5);
    const name = symbol.slice(0, 4).padEnd(4);
    const resSeq = String((k % 9999) + 1).padStart(4);
    lines.push(
      `HETATM${serial} ${name} ATM A${resSeq}    ` +
        fixed(positions[3 * k] - shift[0], 8, 3) +
        fixed(positions[3 * k + 1] - shift[1], 8, 3) +
        fixed(positions[3 * k + 2] - shift[2], 8, 3) +
        `  1.00  0.00          ${element.padStart(2)}`,
    );
  }
  if (count <= 99999) {
    for (let b = 0; b < bonds.length; b += 2) {
      lines.push(
        `CONECT${String(bonds[b] + 1).padStart(5)}${String(bonds[b + 1] + 1).padStart(5)}`,
      );
    }
  }
  lines.push("END");
  return lines.join("\n");
}

/**
 * Shift (Å) that brings all coordinates inside PDB's columns: zero when they fit already
 * (the usual case), else the lower corner of the bounding box.
 * @throws {Error} when the structure is too large for the PDB format
 */
export function pdbShift(positions) {
  const count = positions.length / 3;
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (let k = 0; k < count; k++) {
    for (let d = 0; d < 3; d++) {
      min[d] = Math.min(min[d], positions[3 * k + d]);
      max[d] = Math.max(max[d], positions[3 * k + d]);
    }
  }
  if (min.every((v) => v >= PDB_FLOOR) && max.every((v) => v <= PDB_LIMIT)) return [0, 0, 0];
  if (max.some((v, d) => v - min[d] > PDB_LIMIT)) {
    throw new Error(`the structure spans more than ${PDB_LIMIT} Å, too large to draw`);
  }
  return min;
}
