// JobTable front end: a virtualised, sortable, filterable table of jobs.
//
// The kernel sends every job once (a "snapshot" answer to our request), with the spec of the
// columns the header, cells and sorting are built from, and afterwards only the rows that
// changed ("rows" messages, one per batch of manager events); the messages are declared in
// crystalwidgets/widgets/_messages.py. Rows are kept here in a Map; only the rows in
// view are in the DOM (rows.js). Ages are computed here from the kernel's clock, on a 1 s
// timer. Every string from jobs and users is set with textContent or as an attribute value,
// never parsed as HTML.
//
//   index.js    this file: the view's state, the messages, the model's changes
//   columns.js  the snapshot's column spec made drawable: header cells, cell painters, sorting
//   rows.js     the header (sorting, column widths), the virtual row pool, the Cancel buttons
//   choose.js   the toolbar's Columns menu: which columns show, fit or reset their widths
//   filter.js   the filter bar (dropdowns, search box, counter) and the filter rule
//   selection.js the ticked rows (kept by id) and their toolbar: bulk Cancel / Resubmit
//   details.js  the details panel of the open job (Resubmit, Use as template, Files)
//   files.js    the details' Files: the work dir listed, a file as text, downloads
//   export.js   the toolbar's Export buttons (the file of the shown rows, from the kernel)
//   format.js   durations, numbers, times
import "../lib/base.css";
import "./table.css";
import { el, onChange } from "../lib/dom.js";
import { createChooser } from "./choose.js";
import { comparator, compileSpec } from "./columns.js";
import { createDetails } from "./details.js";
import { createExport } from "./export.js";
import { createFilter } from "./filter.js";
import { setText } from "./format.js";
import { createRows } from "./rows.js";
import { createSelection } from "./selection.js";

function render({ model, el: container, host }) {
  const started = performance.now();
  const cleanups = [];

  /** The state of this view, shared by its parts. */
  const view = {
    model,
    spec: null, // the snapshot's row fields and columns (compileSpec); null until it comes
    rows: new Map(), // job id -> row array
    shown: [], // rows passing the filter, sorted
    skewMs: 0, // kernel clock minus browser clock
    confirming: null, // id of the running job whose Cancel asks "sure?"
    cancelling: new Set(), // ids whose cancel was sent and not yet seen terminal
    selected: new Set(), // ids of the ticked rows (selection.js)
    root: null,
    now: () => (Date.now() + view.skewMs) / 1000,
  };
  let firstRows = true;
  let noAnswer = null;
  let specText = null; // the spec in use, as JSON (a snapshot with the same one keeps it)

  const filter = createFilter(view, { onSearchInput: () => clearTimeout(noAnswer) });
  const status = el("div", { className: "cw-status", role: "status" });
  const say = (text) => {
    status.classList.remove("cw-error");
    setText(status, text);
  };
  const selection = createSelection(view, { say, paint: () => table.paint() });
  const table = createRows(view, selection);
  const exporter = createExport(view, { say });
  const chooser = createChooser(view, { fitAll: () => table.fitAll() });
  filter.toolbar.append(chooser.group, exporter.group, selection.bar);
  const details = createDetails(view, { host, paint: table.paint, say });
  const root = el("div", { className: "cw-widget cw-table" }, [
    filter.toolbar,
    table.scroller,
    status,
    details.panel,
  ]);
  view.root = root;
  container.append(root);

  /** Recompute the shown rows, the dropdowns and the counter, then draw the rows in view. */
  function refresh() {
    const { spec, rows } = view;
    if (!spec) return;
    const { fields } = spec;
    const matches = filter.matcher();
    const byState = new Map();
    const recipes = new Set();
    const profiles = new Set();
    const next = [];
    for (const row of rows.values()) {
      byState.set(row[fields.state], (byState.get(row[fields.state]) ?? 0) + 1);
      recipes.add(row[fields.recipe]);
      profiles.add(row[fields.profile]);
      if (matches(row)) next.push(row);
    }
    next.sort(comparator(spec, model.get("sort_by"), model.get("sort_descending")));
    view.shown = next;
    filter.fill(byState, recipes, profiles);
    filter.showCount();
    if (view.selected.size) selection.update();
    root.dataset.cwRows = String(rows.size);
    root.dataset.cwShown = String(next.length);
    table.show();
  }

  /** The longest value of each column fitted to its values (`fit_values`: recipe, formula,
   * profile) among `rows`, kept in `longest` (a snapshot starts it afresh, updates grow it);
   * the table widens a column when its longest grows. */
  const longest = new Map();
  function fitValues(rows) {
    const fitted = view.spec.all.filter((column) => column.fit_values && column.index >= 0);
    for (const column of fitted) {
      let best = longest.get(column.key) ?? "";
      for (const row of rows) {
        const value = row[column.index];
        if (typeof value === "string" && value.length > best.length) best = value;
      }
      longest.set(column.key, best);
    }
    table.fitValues(longest);
  }

  // ---- messages from the kernel ----
  function applySnapshot(msg) {
    const t0 = performance.now();
    if (!useSpec(msg)) return;
    view.rows.clear();
    const id = view.spec.fields.id;
    for (const row of msg.rows) view.rows.set(row[id], row);
    view.skewMs = msg.now * 1000 - Date.now();
    longest.clear();
    fitValues(msg.rows);
    refresh();
    details.open();
    timed("Snapshot", t0);
    if (firstRows) {
      firstRows = false;
      root.dataset.cwFirstRowsMs = (performance.now() - started).toFixed(1);
    }
  }

  /** Build the table for the snapshot's spec, unless it is the one in use; false if it cannot. */
  function useSpec(msg) {
    const text = JSON.stringify([msg.columns, msg.spec]);
    if (text === specText) return true;
    let spec;
    try {
      spec = compileSpec(msg.columns, msg.spec);
    } catch (error) {
      status.classList.add("cw-error");
      setText(status, `Cannot draw the table: ${error.message}`);
      return false;
    }
    specText = text;
    view.spec = spec;
    filter.setSpec();
    table.setSpec();
    chooser.setSpec();
    return true;
  }

  function applyRows(msg) {
    const { spec } = view;
    if (!spec) return; // our snapshot is on its way and supersedes this
    const t0 = performance.now();
    const { fields, active } = spec;
    for (const row of msg.rows) {
      const id = row[fields.id];
      view.rows.set(id, row);
      if (!active.has(row[fields.state])) {
        view.cancelling.delete(id);
        if (view.confirming === id) view.confirming = null;
      }
    }
    view.skewMs = msg.now * 1000 - Date.now();
    fitValues(msg.rows);
    refresh();
    root.dataset.cwUpdates = String(Number(root.dataset.cwUpdates ?? 0) + 1);
    root.dataset.cwUpdatedRows = String(msg.rows.length);
    timed("Update", t0);
  }

  /** Test and bench hooks: work time of the last snapshot/update, and until the next frame. */
  function timed(what, t0) {
    root.dataset[`cw${what}Ms`] = (performance.now() - t0).toFixed(2);
    requestAnimationFrame(() =>
      setTimeout(() => {
        root.dataset[`cw${what}FrameMs`] = (performance.now() - t0).toFixed(2);
      }, 0),
    );
  }

  const onMessage = (msg, buffers) => {
    if (msg?.kind === "snapshot") applySnapshot(msg);
    else if (msg?.kind === "rows") applyRows(msg);
    else if (msg?.kind === "details") details.show(msg);
    else if (msg?.kind === "export") exporter.receive(msg);
    else if (msg?.kind === "bulk") selection.receive(msg);
    else if (msg?.kind === "files" || msg?.kind === "file_text") details.files.receive(msg);
    else if (msg?.kind === "download") details.files.download(msg, buffers);
    else if (msg?.kind === "status") say(msg.message ?? "");
    else if (msg?.kind === "error") {
      if (msg.id) view.cancelling.delete(msg.id);
      exporter.failed();
      selection.failed();
      details.files.failed(msg);
      status.classList.add("cw-error");
      setText(status, msg.message ?? "error");
      table.paint();
    }
  };
  model.on("msg:custom", onMessage);
  cleanups.push(() => model.off("msg:custom", onMessage));

  // ---- model changes (from Python or another view) ----
  const resort = () => {
    table.showSortMarks();
    refresh();
  };
  cleanups.push(
    onChange(model, "filter_state", refresh),
    onChange(model, "filter_recipe", refresh),
    onChange(model, "filter_profile", refresh),
    onChange(model, "filter_text", (value) => {
      filter.syncSearch(value);
      refresh();
    }),
    onChange(model, "sort_by", resort),
    onChange(model, "sort_descending", resort),
    onChange(model, "stale_after", refresh),
    onChange(model, "details_id", details.open),
    onChange(model, "viewer", details.onViewer),
    onChange(model, "can_template", () => {
      details.redraw();
      table.paint(); // a finished row's Template button
    }),
    onChange(model, "hidden_columns", () => {
      chooser.sync();
      table.relayout();
    }),
    onChange(model, "column_widths", () => table.relayout()),
    onChange(model, "height", (height) => {
      table.scroller.style.maxHeight = `${height}px`;
      table.paint();
    }),
  );

  const ticker = setInterval(() => {
    if (!view.spec) return;
    table.paint(); // ages, "checked … ago" and stale markers move with the clock
    filter.showCount();
  }, 1000);

  table.scroller.style.maxHeight = `${model.get("height")}px`;
  table.waiting("Loading jobs…");
  model.send({ kind: "snapshot" });
  noAnswer = setTimeout(() => {
    if (!view.spec)
      table.waiting("No answer from the kernel: is it running? Run the cell again to reconnect.");
  }, 15000);

  return () => {
    for (const cleanup of cleanups) cleanup();
    clearInterval(ticker);
    filter.cleanup();
    chooser.cleanup();
    clearTimeout(noAnswer);
    table.cleanup();
    details.cleanup();
    root.remove();
  };
}

export default { render };
