// The table's columns, built from the spec the kernel sends in each snapshot: TABLE_COLUMNS
// and SPEC in crystalwidgets/widgets/_table.py, their types Column and TableSpec in
// _messages.py. Nothing about the columns is listed here: this file knows how to draw
// each `format` of cell and how to sort each `sort` mode, the spec says which column is which.
import { el } from "../lib/dom.js";
import { duration, number, setText } from "./format.js";

/** Row fields this front end reads by name (beyond those the columns show). */
const NEEDED_FIELDS = [
  "id",
  "recipe",
  "profile",
  "state",
  "created",
  "last_checked",
  "label",
  "error",
  "note_since",
];

/** A running job no runner confirmed within `staleAfter` seconds: its runner may have lost it. */
export function isStale(spec, row, now, staleAfter) {
  const { fields } = spec;
  const checked = row[fields.last_checked];
  const running = row[fields.state] === "running";
  return running && typeof checked === "number" && now - checked > staleAfter;
}

/**
 * How each format draws a cell: `make(cell)` once per pooled row element, then
 * `paint(cell, value, row, ctx, column)` whenever the row element shows a row. A format of
 * bounded text says its widest, `widest(column, spec)`: the column is made at least that
 * wide (measured in the page's font, rows.js, as `sample(cell, text)` draws it, else as
 * the cell's text), so its cells are never cut short. `ctx` holds
 * what one paint of the rows shares: `spec`, `now`, `staleAfter`, `stale` (this row's),
 * `confirming` and `cancelling` (the cancel buttons' state), `selected` (the ids of the
 * selected rows). Text is set as text only.
 */
const FORMATS = {
  /** The row's checkbox: checked when its job id is in `ctx.selected` (rows.js listens for
   * its `data-action` "select"). */
  select: {
    make(cell) {
      cell.classList.add("cw-select-cell");
      cell.cwBox = el("input", {
        type: "checkbox",
        className: "cw-select",
        dataset: { action: "select" },
        tabindex: "-1",
        "aria-label": "select this job",
      });
      cell.append(cell.cwBox);
    },
    paint(cell, _value, row, ctx) {
      const on = ctx.selected.has(row[ctx.spec.fields.id]);
      if (cell.cwBox.checked !== on) cell.cwBox.checked = on;
    },
  },
  short_id: {
    widest: () => "88888888",
    make(cell) {
      cell.classList.add("cw-id");
    },
    paint(cell, id, row, ctx) {
      setText(cell, id.slice(0, 8));
      const label = row[ctx.spec.fields.label];
      cell.title = label ? `${id}\nlabel: ${label}` : id;
    },
  },
  text: {
    paint(cell, value, row, ctx, column) {
      setText(cell, value ?? "");
      if (column.tooltip) cell.title = value ?? "";
    },
  },
  state: {
    widest: (_column, spec) => `${longest(spec.states)} · stale`,
    inBadge: true,
    make(cell) {
      cell.cwBadge = el("span", { className: "cw-badge" });
      cell.append(cell.cwBadge);
    },
    paint(cell, state, row, ctx) {
      const badge = cell.cwBadge;
      const { stale } = ctx;
      setText(badge, stale ? `${state} · stale` : state);
      badge.className = "cw-badge";
      if (ctx.spec.states.includes(state)) badge.classList.add(`cw-state-${state}`);
      badge.classList.toggle("cw-badge-stale", stale);
      cell.title = stale
        ? `No runner has confirmed this job for ` +
          `${duration(ctx.now - row[ctx.spec.fields.last_checked])} ` +
          `(more than ${duration(ctx.staleAfter)}): its runner may have lost it.`
        : "";
    },
  },
  number: {
    // six figures before the point, a sign, the decimals: -123456.7890 eV, 100000 atoms
    widest: (column) => `-888888${column.digits ? `.${"8".repeat(column.digits)}` : ""}`,
    paint(cell, value, row, ctx, column) {
      setText(cell, number(value, column.digits));
    },
  },
  age: {
    widest: () => "88 min",
    paint(cell, epoch, row, ctx) {
      setText(cell, duration(ctx.now - epoch));
    },
  },
  /** How long ago a runner confirmed the job: only while it can still change (a finished
   * job is not checked any more, so a clock ticking on would read as a lost job). */
  ago: {
    widest: () => "88 min ago",
    paint(cell, epoch, row, ctx) {
      const active = ctx.spec.active.has(row[ctx.spec.fields.state]);
      setText(cell, !active ? "—" : typeof epoch === "number" ? `${duration(ctx.now - epoch)} ago` : "");
      cell.title = active ? "" : "finished: its state no longer changes, so it is not checked";
    },
  },
  /** Cancel (asks first for a running job), the inline question, or "cancelling…"; for a
   * finished job, Template when the table sends templates to a form (`can_template`). The
   * buttons' `data-action` (cancel, confirm, keep, template) is what rows.js listens for. */
  actions: {
    widest: () => "Template",
    sample(cell, text) {
      cell.replaceChildren(el("button", { type: "button", className: "cw-action", text }));
    },
    paint(cell, _value, row, ctx) {
      const { fields, active } = ctx.spec;
      const id = row[fields.id];
      const state = row[fields.state];
      const mode = !active.has(state)
        ? ctx.canTemplate
          ? "template"
          : "none"
        : ctx.cancelling.has(id)
          ? "cancelling"
          : ctx.confirming === id
            ? "confirm"
            : "cancel";
      const key = `${id}:${mode}`;
      if (cell.cwActions === key) return;
      cell.cwActions = key;
      const button = (text, action, title) =>
        el("button", { type: "button", className: "cw-action", text, title, dataset: { action } });
      if (mode === "cancel") {
        cell.replaceChildren(
          button(
            "Cancel",
            "cancel",
            state === "running" ? "Stop this running job (asks first)" : "Cancel this job",
          ),
        );
      } else if (mode === "confirm") {
        cell.replaceChildren(
          el(
            "div",
            { className: "cw-confirm-box", role: "alertdialog", "aria-label": "confirm cancel" },
            [
              el("span", { className: "cw-confirm", text: "Stop this running job?" }),
              button("Yes, stop it", "confirm", "Cancel the running job now"),
              button("No", "keep", "Keep it running"),
            ],
          ),
        );
      } else if (mode === "template") {
        cell.replaceChildren(
          button(
            "Template",
            "template",
            "Use as template: put this job's structure, recipe and parameters into the form, to edit and submit a variant",
          ),
        );
      } else if (mode === "cancelling") {
        cell.replaceChildren(el("span", { className: "cw-label", text: "cancelling…" }));
      } else {
        cell.replaceChildren();
      }
    },
  },
};

function longest(texts) {
  return texts.reduce((a, b) => (b.length > a.length ? b : a), "");
}

/** The value a row sorts by in a column of sort `mode` (null sorts last in both directions). */
function sortValue(mode, index, states, row) {
  switch (mode) {
    case "value":
      return row[index];
    case "rank":
      return states.indexOf(row[index]);
    case "newest_first": // an epoch: the most recent first
      return row[index] === null ? null : -row[index];
    default:
      return null;
  }
}

/**
 * The snapshot's row layout and spec, ready to draw with.
 * @param {string[]} fieldNames - the fields of one row array, in order (Snapshot.columns)
 * @param {object} spec - Snapshot.spec
 * @returns {object} `fields` (name -> index), `all` (each Column with its field's `index`,
 *   its `format` painter and its measured `fit`), `states`, `active`, `errorStates`,
 *   `textIndex`, `choosable`, `widthRange`, and the layout (applyLayout: `columns`,
 *   `template`, `minWidth`) of every column at its default width
 * @throws {Error} when the spec names a format or a field this front end does not know
 */
export function compileSpec(fieldNames, spec) {
  const fields = Object.fromEntries(fieldNames.map((name, index) => [name, index]));
  const field = (name, what) => {
    if (!(name in fields)) throw new Error(`${what}: no row field ${JSON.stringify(name)}`);
    return fields[name];
  };
  for (const name of NEEDED_FIELDS) field(name, "the table");
  const all = spec.columns.map((column) => {
    const format = FORMATS[column.format];
    if (!format) throw new Error(`column ${column.key}: unknown format ${column.format}`);
    const index = column.field === null ? -1 : field(column.field, `column ${column.key}`);
    return { ...column, index, format, fit: column.width };
  });
  const compiled = {
    fields,
    all,
    states: spec.states,
    active: new Set(spec.active_states),
    errorStates: new Set(spec.error_states),
    noteStates: new Set(spec.note_states || []),
    textIndex: spec.text_fields.map((name) => field(name, "text_fields")),
    choosable: spec.choosable || [],
    widthRange: spec.width_range || [24, 2000],
  };
  applyLayout(compiled, [], {});
  return compiled;
}

/**
 * Lay out the columns of a compiled spec: set its `columns` (the shown ones, left to right),
 * the grid's `template` and `minWidth`. A hidden column's cells go; a column that shows a
 * failed job's error across the next ones (`error_span`) spans only those still shown.
 * @param {object} spec - from compileSpec; each of its columns' `fit` is the least width
 *   that shows its widest value (rows.js measures it; the spec's width until then)
 * @param {string[]} hidden - keys of the columns not shown (`hidden_columns`)
 * @param {object} widths - key -> px the user gave (`column_widths`): exactly that wide
 */
export function applyLayout(spec, hidden, widths) {
  const off = new Set(hidden);
  const spans = new Map(); // key -> the error span it has among the shown columns
  spec.all.forEach((column, i) => {
    if (column.error_span < 2) return;
    const covered = spec.all.slice(i, i + column.error_span).filter((c) => !off.has(c.key));
    if (covered.length) spans.set(covered[0].key, covered.length);
  });
  const columns = spec.all
    .filter((column) => !off.has(column.key))
    .map((column) => ({
      ...column,
      error_span: spans.get(column.key) ?? 1,
      width: widths[column.key] ?? Math.max(column.width, column.fit, column.valueFit ?? 0),
      user: column.key in widths,
    }));
  spec.columns = columns;
  spec.template = columns
    .map(({ width, grow, user }) => (grow && !user ? `minmax(${width}px, ${grow}fr)` : `${width}px`))
    .join(" ");
  spec.minWidth = columns.reduce((sum, { width }) => sum + width, 0);
  return spec;
}

/** The widest text a column's cells show, or null when it has no bound (free text). */
export function widestText(column, spec) {
  return column.format.widest ? column.format.widest(column, spec) : null;
}

/** The header cell of a column: a sort button when the column sorts. */
export function headerCell(column, onSort) {
  const cell = el("div", {
    role: "columnheader",
    className: `cw-th${column.numeric ? " cw-num" : ""}`,
    dataset: column.sort ? { key: column.key } : {},
  });
  if (column.sort) {
    cell.append(
      el(
        "button",
        {
          type: "button",
          className: "cw-sort",
          title: column.title ? `${column.title}. Click to sort.` : "Click to sort",
          on: { click: () => onSort(column.key) },
        },
        [column.label, el("span", { className: "cw-sort-mark", "aria-hidden": "true" })],
      ),
    );
  }
  return cell;
}

/** The cell elements of one pooled row element, one per column. */
export function makeCells(columns) {
  return columns.map((column) => {
    const cell = el("div", {
      role: "cell",
      className: column.numeric ? "cw-td cw-num" : "cw-td",
      dataset: { key: column.key },
    });
    column.format.make?.(cell);
    return cell;
  });
}

/**
 * Fill a row element's cells. A column with `error_span` > 1 shows the error line of a job
 * in one of the error states across that many columns (the cells it covers are hidden); in
 * a note state (waiting, running) the same line shows as a note while those cells are empty,
 * and over the empty cells after it, led by the seconds since `note_since` when the kernel
 * gave one ("12 s · starting the Parsl engine …").
 */
export function paintCells(cells, row, ctx) {
  const { columns, fields, errorStates, noteStates } = ctx.spec;
  const error = row[fields.error];
  const state = row[fields.state];
  const showError = Boolean(error) && errorStates.has(state);
  let coveredUntil = 0;
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i];
    const cell = cells[i];
    const covered = i < coveredUntil;
    if (cell.hidden !== covered) cell.hidden = covered;
    if (column.error_span > 1) {
      const empty = (c) => c.index >= 0 && (row[c.index] === null || row[c.index] === undefined);
      const spanned = columns.slice(i, i + column.error_span);
      const note = !showError && Boolean(error) && noteStates.has(state)
        && spanned.every((c) => c.index < 0 || empty(c));
      let span = column.error_span;
      // a note also takes the empty cells after it (a waiting job has no steps yet)
      while (note && i + span < columns.length && empty(columns[i + span])) span += 1;
      const shown = showError || note;
      cell.classList.toggle("cw-error", showError);
      cell.classList.toggle("cw-row-note", note);
      cell.classList.toggle("cw-num", column.numeric && !shown);
      cell.style.gridColumn = shown ? `span ${span}` : "";
      cell.title = shown ? error : "";
      if (shown) {
        // the clock first: a long note is cut at its end, never its seconds
        const since = row[fields.note_since];
        setText(cell, note && typeof since === "number" ? `${duration(ctx.now - since)} · ${error}` : error);
        coveredUntil = i + span;
        continue;
      }
    }
    column.format.paint(cell, column.index < 0 ? null : row[column.index], row, ctx, column);
  }
}

/** Order of rows sorted by the column `key`; ties: newest first, then by id. */
export function comparator(spec, key, descending) {
  const created = spec.fields.created;
  const id = spec.fields.id;
  const { states } = spec;
  const column = spec.all.find((c) => c.key === key); // a hidden column still sorts
  const mode = column?.sort ?? null;
  const index = column?.index ?? -1;
  const sign = descending ? -1 : 1;
  return (a, b) => {
    const x = sortValue(mode, index, states, a);
    const y = sortValue(mode, index, states, b);
    if (x !== y) {
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      if (x < y) return -sign;
      if (x > y) return sign;
    }
    return b[created] - a[created] || (a[id] < b[id] ? -1 : 1);
  };
}
