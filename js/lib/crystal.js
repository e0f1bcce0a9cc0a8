// Geometry of a periodic structure as the widgets receive it from Python:
//   { symbols: [..], positions: [[x, y, z]...] (Å), cell: [[a], [b], [c]] (Å),
//     pbc: [bool, bool, bool], covalent_radii: { symbol: Å },
//     bonds: [i, j, sa, sb, sc, ...] or null, images: [i, sa, sb, sc, ...] }
// Bonds (across the boundary too) and boundary images are found in Python
// (crystalwidgets.structures.geometry); here they are only laid out for the supercell shown.
// Pure functions, no DOM and no NGL, so every widget that draws atoms can share them.

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
 * Every atom to draw for `repeats` copies of the cell, with periodic images and bonds.
 *
 * Drawn atom k is atom `origin[k]` of the structure shifted by whole cell vectors. The
 * first `count` are the supercell copies, one copy after another (copy (ia, ib, ic) holds
 * atoms `((ia * nb + ib) * nc + ic) * n ...`); after them come the images (`images: true`):
 * atoms on cell faces, edges and corners repeated on the opposite side of the supercell,
 * then bonded neighbours across the boundary: all of them for an atom drawn without any
 * bond, and those of lower coordination for the others (completing SiO4 tetrahedra).
 * Bonds are between drawn atoms only; none when more than `bondLimit` atoms are drawn or
 * Python sent none.
 * @returns {{ n: number, count: number, total: number, positions: Float64Array,
 *   origin: Int32Array, translations: Int32Array, bonds: Uint32Array | null }}
 */
export function layout(data, repeats, { images = true, bondLimit = Infinity } = {}) {
  const n = data.positions.length;
  const [na, nb, nc] = repeats;
  const count = n * na * nb * nc;
  const cells = [];
  const origin = [];
  const key = (j, t) => `${j},${t[0]},${t[1]},${t[2]}`;
  const imageIndex = new Map();
  const inGrid = (t) => t[0] >= 0 && t[0] < na && t[1] >= 0 && t[1] < nb && t[2] >= 0 && t[2] < nc;
  const indexOf = (j, t) =>
    inGrid(t) ? ((t[0] * nb + t[1]) * nc + t[2]) * n + j : imageIndex.get(key(j, t)) ?? -1;
  const copyOf = (k) => {
    if (k >= count) return cells[k - count];
    const copy = Math.floor(k / n);
    return [Math.floor(copy / (nb * nc)), Math.floor(copy / nc) % nb, copy % nc];
  };
  const addImage = (j, t) => {
    const id = key(j, t);
    if (imageIndex.has(id)) return;
    imageIndex.set(id, count + cells.length);
    cells.push(t);
    origin.push(j);
  };

  if (images) {
    const boundary = data.images ?? [];
    const span = (d, s) => {
      if (s > 0) return [repeats[d]];
      if (s < 0) return [-1];
      return Array.from({ length: repeats[d] }, (_, v) => v);
    };
    for (let r = 0; r < boundary.length; r += 4) {
      const i = boundary[r];
      for (const ta of span(0, boundary[r + 1])) {
        for (const tb of span(1, boundary[r + 2])) {
          for (const tc of span(2, boundary[r + 3])) addImage(i, [ta, tb, tc]);
        }
      }
    }
  }

  // directed bond lists per atom (CSR): partner j and its shift, both directions
  let bonds = null;
  const source = data.bonds;
  if (source && count + cells.length <= bondLimit) {
    const degree = new Int32Array(n + 1);
    for (let r = 0; r < source.length; r += 5) {
      degree[source[r] + 1]++;
      degree[source[r + 1] + 1]++;
    }
    for (let i = 0; i < n; i++) degree[i + 1] += degree[i];
    const fill = degree.slice(0, n);
    const partners = new Int32Array(degree[n] * 4);
    for (let r = 0; r < source.length; r += 5) {
      const [i, j, sa, sb, sc] = source.slice(r, r + 5);
      partners.set([j, sa, sb, sc], 4 * fill[i]++);
      partners.set([i, -sa, -sb, -sc], 4 * fill[j]++);
    }
    const pairs = [];
    const atomOf = (k) => (k < count ? k % n : origin[k - count]);
    // bonds of drawn atom k to partners with index in [low, k) or (k, ...) as `after`
    const bondsOf = (k, visit) => {
      const i = atomOf(k);
      const t = copyOf(k);
      for (let p = degree[i]; p < degree[i + 1]; p++) {
        const target = [t[0] + partners[4 * p + 1], t[1] + partners[4 * p + 2], t[2] + partners[4 * p + 3]];
        visit(partners[4 * p], target);
      }
    };
    const drawnBefore = count + cells.length;
    const bonded = new Uint8Array(drawnBefore);
    for (let k = 0; k < drawnBefore; k++) {
      bondsOf(k, (j, target) => {
        const m = indexOf(j, target);
        if (m > k) pairs.push(k, m);
        if (m >= 0) bonded[k] = 1;
      });
    }
    if (images) {
      // complete across the boundary: all neighbours of an atom drawn without any bond,
      // and the less-coordinated neighbours of every drawn atom (the O of each SiO4
      // tetrahedron, the H of a molecule; nothing for NaCl or a metal, all equal)
      const coordination = (i) => degree[i + 1] - degree[i];
      for (let k = 0; k < drawnBefore; k++) {
        const own = coordination(atomOf(k));
        bondsOf(k, (j, target) => {
          if (!inGrid(target) && (!bonded[k] || coordination(j) < own)) addImage(j, target);
        });
      }
      if (count + cells.length <= bondLimit) {
        for (let m = drawnBefore; m < count + cells.length; m++) {
          bondsOf(m, (j, target) => {
            const k = indexOf(j, target);
            if (k >= 0 && k < m) pairs.push(k, m);
          });
        }
      }
    }
    bonds = Uint32Array.from(pairs);
  }

  const total = count + cells.length;
  const originOf = new Int32Array(total);
  for (let k = 0; k < count; k++) originOf[k] = k % n;
  originOf.set(origin, count);
  const translations = new Int32Array(total * 3);
  for (let k = 0; k < total; k++) translations.set(copyOf(k), 3 * k);
  const positions = placeAtoms(originOf, translations, data.positions.flat(), data.cell);
  return { n, count, total, positions, origin: originOf, translations, bonds };
}

/**
 * Where drawn atoms are for atom positions `positions` (flat, 3 numbers an atom: the
 * structure's, or one frame of a trajectory's) and cell vectors `cell` (3 x 3): drawn atom
 * k is atom `origin[k]` shifted by `translations[3k..3k+2]` whole cell vectors (what
 * `layout` returns), so a new frame is placed without laying the supercell out again.
 * @returns {Float64Array} 3 numbers a drawn atom
 */
export function placeAtoms(origin, translations, positions, cell) {
  const total = origin.length;
  const placed = new Float64Array(total * 3);
  const [a, b, c] = cell;
  for (let k = 0; k < total; k++) {
    const i = 3 * origin[k];
    const ta = translations[3 * k];
    const tb = translations[3 * k + 1];
    const tc = translations[3 * k + 2];
    for (let d = 0; d < 3; d++) {
      placed[3 * k + d] = positions[i + d] + ta * a[d] + tb * b[d] + tc * c[d];
    }
  }
  return placed;
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
 * PDB text (HETATM + CONECT records) of drawn atoms, for NGL's parser: drawn atom k is
 * atom `origin[k]`, in chain A for the first `count` atoms and chain B (images) after.
 * One residue per atom so NGL adds no bonds of its own; bonds come from `bonds`.
 * Coordinates are shifted by `shift` (Å) to fit PDB's fixed columns.
 * @returns {string}
 */
export function toPdb(symbols, origin, count, positions, bonds, shift) {
  const total = positions.length / 3;
  const lines = [];
  for (let k = 0; k < total; k++) {
    const symbol = symbols[origin[k]];
    const element = symbol.slice(0, 2).toUpperCase();
    const serial = String((k % 99999) + 1).padStart(5);
    const name = symbol.slice(0, 4).padEnd(4);
    const resSeq = String((k % 9999) + 1).padStart(4);
    const chain = k < count ? "A" : "B";
    lines.push(
      `HETATM${serial} ${name} ATM ${chain}${resSeq}    ` +
        fixed(positions[3 * k] - shift[0], 8, 3) +
        fixed(positions[3 * k + 1] - shift[1], 8, 3) +
        fixed(positions[3 * k + 2] - shift[2], 8, 3) +
        `  1.00  0.00          ${element.padStart(2)}`,
    );
  }
  if (total <= 99999) {
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
