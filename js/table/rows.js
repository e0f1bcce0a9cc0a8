// The rows of the job table: header, sorting, and the virtual row pool. Only the rows in
// view are in the DOM: a pool of row elements, moved and refilled on scroll and on change.
// The header and the cells come from the column spec of the snapshot (columns.js). Each
// row's Cancel button asks first for a running job (inline, never window.confirm). A row's
// checkbox, a shift-click (a range) or a ctrl/cmd-click ticks it (selection.js).
import { el, send } from "../lib/dom.js";
import { applyLayout, headerCell, isStale, makeCells, paintCells, widestText } from "./columns.js";
import { setText } from "./format.js";

/** Row height in px (fixed: the scroller computes which rows are in view from it). */
export const ROW_HEIGHT = 28;
/** Extra rows drawn above and below the visible ones, so fast scrolling shows no gap. */
const OVERSCAN = 6;
/** Room a header keeps for its resize handle (px). */
const HANDLE_ROOM = 6;

/**
 * The scrolling rows area of one view.
 * @param {object} view - the view's shared state (see index.js); paints `view.shown` with
 *   the columns of `view.spec`
 * @param {object} selection - the view's selection (selection.js): its `toggle(id, range)`
 *   and the header's `headerBox`
 * @returns {{scroller: HTMLElement, setSpec: Function, relayout: Function, fitAll: Function,
 *   fitValues: Function, show: Function, paint: Function,
 *   showSortMarks: Function, waiting: Function, cleanup: Function}}
 */
export function createRows(view, selection) {
  const { model } = view;

  let headerCells = [];
  // no header until the first snapshot brings the columns
  const header = el("div", { className: "cw-table-header", role: "row", hidden: true });
  const body = el("div", { className: "cw-table-body", role: "rowgroup" });
  const empty = el("div", { className: "cw-table-empty" });
  const grid = el("div", { className: "cw-table-grid", role: "table", "aria-label": "jobs" }, [
    header,
    body,
    empty,
  ]);
  // max-height: a short table takes only the room its rows need
  const scroller = el("div", { className: "cw-table-scroller" }, [grid]);
  const pool = []; // row elements, each drawing one row of `view.shown` (or hidden)

  let measured = false; // the columns' widest values measured in the page's font
  let unfitted = null; // longest values not yet measured (the table was not on the page)

  /** Build the header and the grid for the columns of `view.spec` (a new snapshot's). */
  function setSpec() {
    measured = false;
    relayout();
  }

  /** Lay the columns out again (shown ones, widths: `hidden_columns`, `column_widths`). */
  function relayout() {
    const { spec } = view;
    if (!spec) return;
    if (!measured) measured = measure(spec);
    applyLayout(spec, model.get("hidden_columns") ?? [], model.get("column_widths") ?? {});
    headerCells = spec.columns.map((column) => {
      const cell = headerCell(column, sortBy);
      if (column.format === "select") cell.append(selection.headerBox);
      else if (column.format !== "actions") cell.append(resizeHandle(column));
      return cell;
    });
    header.replaceChildren(...headerCells);
    header.hidden = false;
    setTemplate(spec);
    for (const element of pool) element.remove(); // their cells were made for the old columns
    pool.length = 0;
    showSortMarks();
    paint();
  }

  function setTemplate({ template, minWidth }) {
    grid.style.setProperty("--cw-table-columns", template);
    grid.style.setProperty("--cw-table-min-width", `${minWidth}px`);
  }

  /** The width `node` takes with nothing cut (px), drawn off-screen in the grid; 0 when
   * the table is not laid out (not on the page yet, in a closed tab). */
  function naturalWidth(node) {
    Object.assign(node.style, { position: "absolute", visibility: "hidden", width: "max-content" });
    grid.append(node);
    const width = node.getBoundingClientRect().width;
    node.remove();
    return Math.ceil(width);
  }

  /** Each column's `fit`: the least width showing its header (with a sort mark) and its
   * widest value whole. False when the page cannot measure yet (tried again on paint). */
  function measure(spec) {
    if (!grid.isConnected || !scroller.clientWidth) return false;
    for (const column of spec.all) {
      const head = headerCell(column, () => {});
      head.querySelector(".cw-sort-mark")?.append(" ▼");
      let fit = naturalWidth(head) + HANDLE_ROOM;
      const widest = widestText(column, spec);
      if (widest !== null) {
        const [cell] = makeCells([column]);
        const target = column.format.inBadge ? cell.firstChild : cell;
        if (column.format.sample) column.format.sample(cell, widest);
        else target.textContent = widest;
        fit = Math.max(fit, naturalWidth(cell));
      }
      column.fit = Math.min(spec.widthRange[1], fit);
    }
    return true;
  }

  /** Make each text column of few values (`fit_values` > 0: recipe, formula, profile) as
   * wide as the longest value in the table, at most `fit_values` px; `longest` maps its key
   * to that value. Lays the columns out again only when a width changes (then true). */
  function fitValues(longest) {
    const { spec } = view;
    unfitted = null;
    if (!spec) return false;
    let changed = false;
    for (const column of spec.all) {
      if (!column.fit_values) continue;
      const text = longest.get(column.key) ?? "";
      if (text === column.valueText) continue;
      if (!grid.isConnected || !scroller.clientWidth) {
        unfitted = longest; // not on the page: measured on the first paint that is
        return false;
      }
      const [cell] = makeCells([column]);
      cell.textContent = text;
      const width = text ? Math.min(column.fit_values, naturalWidth(cell)) : 0;
      column.valueText = text;
      if (width !== column.valueFit) {
        column.valueFit = width;
        changed = true;
      }
    }
    if (changed) relayout();
    return changed;
  }

  // ---- column widths: drag a header's right edge, arrow keys on it, double-click: fit ----
  function resizeHandle(column) {
    const handle = el("div", {
      className: "cw-col-resize",
      role: "separator",
      tabindex: "0",
      "aria-orientation": "vertical",
      "aria-label": `Resize the column ${column.label || column.key}`,
      title: "Drag to resize; double-click: fit to what it shows; arrow keys: narrower, wider",
    });
    let start = null; // [pointer x, width] while dragging
    handle.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      event.stopPropagation();
      handle.setPointerCapture(event.pointerId);
      start = [event.clientX, handle.parentElement.getBoundingClientRect().width];
      handle.classList.add("cw-resizing");
    });
    handle.addEventListener("pointermove", (event) => {
      if (start) preview(column.key, start[1] + event.clientX - start[0]);
    });
    const end = (event) => {
      if (!start) return;
      const width = start[1] + event.clientX - start[0];
      start = null;
      handle.classList.remove("cw-resizing");
      setWidth(column.key, width);
    };
    handle.addEventListener("pointerup", end);
    handle.addEventListener("pointercancel", end);
    handle.addEventListener("click", (event) => event.stopPropagation()); // not a sort
    handle.addEventListener("dblclick", (event) => {
      event.stopPropagation();
      fit(column.key);
    });
    handle.addEventListener("keydown", (event) => {
      const step = { ArrowLeft: -16, ArrowRight: 16 }[event.key];
      if (step === undefined && event.key !== "Enter") return;
      event.preventDefault();
      if (event.key === "Enter") fit(column.key);
      else setWidth(column.key, widthOf(column.key) + step);
    });
    return handle;
  }

  const clamp = (width) => {
    const [low, high] = view.spec.widthRange;
    return Math.round(Math.min(high, Math.max(low, width)));
  };

  function widthOf(key) {
    const index = view.spec.columns.findIndex((c) => c.key === key);
    return headerCells[index]?.getBoundingClientRect().width ?? 0;
  }

  /** Draw the grid with `key` at `width` (while dragging: nothing sent yet). */
  function preview(key, width) {
    const widths = { ...(model.get("column_widths") ?? {}), [key]: clamp(width) };
    const layout = applyLayout({ ...view.spec }, model.get("hidden_columns") ?? [], widths);
    setTemplate(layout);
  }

  /** Give the column `key` this width, kept in `column_widths` (saved by the kernel). */
  function setWidth(key, width) {
    send(model, "column_widths", { ...(model.get("column_widths") ?? {}), [key]: clamp(width) });
  }

  /** The width showing whole what the column's header and its rows in view show. */
  function fitWidth(index) {
    const column = view.spec.columns[index];
    let width = column.fit;
    for (const element of pool) {
      const cell = element.cw.cells[index];
      if (element.hidden || cell.hidden || cell.style.gridColumn) continue; // an error across columns
      width = Math.max(width, cell.scrollWidth + 1);
    }
    return width;
  }

  function fit(key) {
    const index = view.spec.columns.findIndex((c) => c.key === key);
    if (index >= 0) setWidth(key, fitWidth(index));
  }

  /** Every shown column (but the checkboxes and buttons) fitted to what it shows. */
  function fitAll() {
    if (!view.spec) return;
    const widths = { ...(model.get("column_widths") ?? {}) };
    view.spec.columns.forEach((column, index) => {
      if (column.format !== "select" && column.format !== "actions") widths[column.key] = clamp(fitWidth(index));
    });
    send(model, "column_widths", widths);
  }

  // ---- sorting ----
  function sortBy(key) {
    if (model.get("sort_by") === key) {
      send(model, "sort_descending", !model.get("sort_descending"));
    } else {
      model.set("sort_by", key);
      model.set("sort_descending", false);
      model.save_changes();
    }
  }

  function showSortMarks() {
    const key = model.get("sort_by");
    const descending = model.get("sort_descending");
    for (const cell of headerCells) {
      const mark = cell.querySelector(".cw-sort-mark");
      if (!mark) continue;
      const active = cell.dataset.key === key;
      setText(mark, active ? (descending ? " ▼" : " ▲") : "");
      cell.setAttribute("aria-sort", active ? (descending ? "descending" : "ascending") : "none");
    }
  }

  /** Size the body for `view.shown` (or say why it is empty) and draw the rows in view. */
  function show() {
    const { shown, rows } = view;
    body.style.height = `${shown.length * ROW_HEIGHT}px`;
    setText(
      empty,
      shown.length
        ? ""
        : rows.size
          ? "No job matches the filters."
          : "No jobs yet: submit one and it appears here.",
    );
    empty.hidden = shown.length > 0;
    paint();
  }

  // ---- the rows in view: a pool of row elements, refilled on scroll and on change ----
  function makeRow() {
    const cells = makeCells(view.spec.columns);
    const row = el("div", { className: "cw-tr", role: "row", tabindex: "0" }, cells);
    row.cw = { cells };
    body.append(row);
    return row;
  }

  function paint() {
    if (!view.spec) return;
    if (!measured && measure(view.spec)) {
      relayout(); // first laid out now (it was in a closed tab): widths from the page's font
      if (unfitted) fitValues(unfitted);
      return;
    }
    // values that came while the table was off the page: lays out again (and paints) if wider
    if (unfitted && grid.isConnected && scroller.clientWidth && fitValues(unfitted)) return;
    const { shown } = view;
    const top = scroller.scrollTop - body.offsetTop;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(
      shown.length,
      Math.ceil((top + scroller.clientHeight) / ROW_HEIGHT) + OVERSCAN,
    );
    const needed = Math.max(0, last - first);
    while (pool.length < needed) pool.push(makeRow());
    const ctx = {
      spec: view.spec,
      now: view.now(),
      staleAfter: model.get("stale_after"),
      stale: false,
      confirming: view.confirming,
      cancelling: view.cancelling,
      selected: view.selected,
      canTemplate: model.get("can_template"),
    };
    const detailsId = model.get("details_id");
    for (let k = 0; k < pool.length; k++) {
      const element = pool[k];
      if (k >= needed) {
        element.hidden = true;
        continue;
      }
      element.hidden = false;
      const index = first + k;
      element.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
      paintRow(element, shown[index], ctx, detailsId);
    }
  }

  function paintRow(element, row, ctx, detailsId) {
    const { fields } = ctx.spec;
    const id = row[fields.id];
    ctx.stale = isStale(ctx.spec, row, ctx.now, ctx.staleAfter);
    element.dataset.id = id;
    element.dataset.state = row[fields.state];
    element.classList.toggle("cw-selected", id === detailsId);
    element.classList.toggle("cw-checked", ctx.selected.has(id));
    element.classList.toggle("cw-stale", ctx.stale);
    paintCells(element.cw.cells, row, ctx);
  }

  // ---- user input ----
  function cancel(id) {
    view.confirming = null;
    view.cancelling.add(id);
    model.send({ kind: "cancel", id });
    paint();
  }

  body.addEventListener("click", (event) => {
    const element = event.target.closest(".cw-tr");
    if (!element) return;
    const id = element.dataset.id;
    if (event.target.closest("input.cw-select") || event.shiftKey || event.ctrlKey || event.metaKey) {
      if (event.target.closest("button, .cw-confirm-box")) return;
      selection.toggle(id, event.shiftKey);
      return;
    }
    const action = event.target.closest("button")?.dataset.action;
    if (!action && event.target.closest(".cw-confirm-box")) return;
    if (action === "cancel") {
      if (element.dataset.state === "running") {
        view.confirming = id;
        paint();
      } else cancel(id);
    } else if (action === "confirm") cancel(id);
    else if (action === "keep") {
      view.confirming = null;
      paint();
    } else if (action === "template") {
      model.send({ kind: "template", id });
    } else {
      send(model, "details_id", model.get("details_id") === id ? "" : id);
    }
  });
  // a shift-click selects rows, not their text
  body.addEventListener("mousedown", (event) => {
    if (event.shiftKey) event.preventDefault();
  });
  body.addEventListener("keydown", (event) => {
    const element = event.target;
    if (!element.classList?.contains("cw-tr") || (event.key !== "Enter" && event.key !== " "))
      return;
    event.preventDefault();
    send(model, "details_id", element.dataset.id);
  });

  let scheduled = false;
  scroller.addEventListener("scroll", () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      paint();
    });
  });
  const resizeObserver = new ResizeObserver(() => paint());
  resizeObserver.observe(scroller);

  /** Text in place of the rows until the first snapshot ("Loading jobs…"). */
  function waiting(text) {
    setText(empty, text);
  }

  return {
    scroller,
    setSpec,
    relayout,
    fitAll,
    fitValues,
    show,
    paint,
    showSortMarks,
    waiting,
    cleanup: () => resizeObserver.disconnect(),
  };
}
