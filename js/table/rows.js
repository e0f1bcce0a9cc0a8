// The rows of the job table: header, sorting, and the virtual row pool. Only the rows in
// view are in the DOM: a pool of row elements, moved and refilled on scroll and on change.
// Each row's Cancel button asks first for a running job (inline, never window.confirm).
import { el, send } from "../lib/dom.js";
import { duration, number, setText } from "./format.js";

/** Row height in px (fixed: the scroller computes which rows are in view from it). */
export const ROW_HEIGHT = 28;
/** Extra rows drawn above and below the visible ones, so fast scrolling shows no gap. */
const OVERSCAN = 6;
export const STATES = ["pending", "running", "completed", "failed", "cancelled", "orphaned"];
export const ACTIVE = new Set(["pending", "running"]);
/** Columns as shown; `key` is what the header sorts by (see SORT_KEYS in _table.py). */
const HEADERS = [
  { key: "id", label: "ID", title: "Short job id (first 8 characters)" },
  { key: "recipe", label: "Recipe" },
  { key: "formula", label: "Formula" },
  { key: "profile", label: "Profile", title: "Where the job runs" },
  { key: "state", label: "State" },
  { key: "energy_ev", label: "Energy (eV)", numeric: true },
  {
    key: "max_force_ev_ang",
    label: "Fmax (eV/Å)",
    numeric: true,
    title: "Largest force on an atom at the end",
  },
  { key: "age", label: "Age", numeric: true, title: "Time since the job was submitted" },
  {
    key: "last_checked",
    label: "Checked",
    numeric: true,
    title: "Time since a runner last confirmed the job's state",
  },
  { key: null, label: "" },
];
/** Searched by the free-text filter: keep in step with TEXT_FIELDS in _table.py. */
export const TEXT_FIELDS = ["id", "recipe", "formula", "profile", "state", "label"];

/** A running job no runner has confirmed within `staleAfter` seconds: its runner may have lost it. */
export function isStale(col, row, now, staleAfter) {
  const checked = row[col.last_checked];
  return row[col.state] === "running" && typeof checked === "number" && now - checked > staleAfter;
}

/** The value a column sorts by; null sorts last in both directions. */
function sortValue(col, row, key) {
  switch (key) {
    case "state":
      return STATES.indexOf(row[col.state]);
    case "age":
      return -row[col.created]; // youngest first
    case "last_checked":
      return row[col.last_checked] === null ? null : -row[col.last_checked];
    default:
      return row[col[key]];
  }
}

/** Order of rows sorted by `key`; ties: newest first, then by id. */
export function comparator(col, key, descending) {
  const sign = descending ? -1 : 1;
  return (a, b) => {
    const x = sortValue(col, a, key);
    const y = sortValue(col, b, key);
    if (x !== y) {
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      if (x < y) return -sign;
      if (x > y) return sign;
    }
    return b[col.created] - a[col.created] || (a[col.id] < b[col.id] ? -1 : 1);
  };
}

/**
 * The scrolling rows area of one view.
 * @param {object} view - the view's shared state (see index.js); paints `view.shown`
 * @returns {{scroller: HTMLElement, show: Function, paint: Function, showSortMarks: Function,
 *   cleanup: Function}}
 */
export function createRows(view) {
  const { model } = view;

  const headerCells = HEADERS.map(({ key, label, title, numeric }) => {
    const cell = el("div", {
      role: "columnheader",
      className: `cw-th${numeric ? " cw-num" : ""}`,
      dataset: key ? { key } : {},
    });
    if (key) {
      cell.append(
        el(
          "button",
          {
            type: "button",
            className: "cw-sort",
            title: title ? `${title}. Click to sort.` : "Click to sort",
            on: { click: () => sortBy(key) },
          },
          [label, el("span", { className: "cw-sort-mark", "aria-hidden": "true" })],
        ),
      );
    }
    return cell;
  });
  const header = el("div", { className: "cw-table-header", role: "row" }, headerCells);
  const body = el("div", { className: "cw-table-body", role: "rowgroup" });
  const empty = el("div", { className: "cw-table-empty" });
  const grid = el("div", { className: "cw-table-grid", role: "table", "aria-label": "jobs" }, [
    header,
    body,
    empty,
  ]);
  // max-height: a short table takes only the room its rows need
  const scroller = el("div", { className: "cw-table-scroller" }, [grid]);

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
  const pool = [];

  function makeRow() {
    const cells = HEADERS.map(({ numeric }) =>
      el("div", { role: "cell", className: numeric ? "cw-td cw-num" : "cw-td" }),
    );
    const badge = el("span", { className: "cw-badge" });
    cells[4].append(badge);
    const row = el("div", { className: "cw-tr", role: "row", tabindex: "0" }, cells);
    row.cw = { cells, badge, paintedId: null, actions: null };
    body.append(row);
    return row;
  }

  function paint() {
    if (!view.col) return;
    const { shown } = view;
    const top = scroller.scrollTop - body.offsetTop;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(
      shown.length,
      Math.ceil((top + scroller.clientHeight) / ROW_HEIGHT) + OVERSCAN,
    );
    const needed = Math.max(0, last - first);
    while (pool.length < needed) pool.push(makeRow());
    const now = view.now();
    const staleAfter = model.get("stale_after");
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
      paintRow(element, shown[index], now, staleAfter, detailsId);
    }
  }

  function paintRow(element, row, now, staleAfter, detailsId) {
    const { col } = view;
    const { cells, badge } = element.cw;
    const id = row[col.id];
    const state = row[col.state];
    const stale = isStale(col, row, now, staleAfter);
    element.dataset.id = id;
    element.dataset.state = state;
    element.classList.toggle("cw-selected", id === detailsId);
    element.classList.toggle("cw-stale", stale);
    setText(cells[0], id.slice(0, 8));
    cells[0].title = row[col.label] ? `${id}\nlabel: ${row[col.label]}` : id;
    setText(cells[1], row[col.recipe] ?? "");
    cells[1].title = row[col.recipe] ?? "";
    setText(cells[2], row[col.formula] ?? "");
    setText(cells[3], row[col.profile] ?? "");
    setText(badge, stale ? `${state} · stale` : state);
    badge.className = "cw-badge";
    if (STATES.includes(state)) badge.classList.add(`cw-state-${state}`);
    badge.classList.toggle("cw-badge-stale", stale);
    const checked = row[col.last_checked];
    cells[4].title = stale
      ? `No runner has confirmed this job for ${duration(now - checked)} ` +
        `(more than ${duration(staleAfter)}): its runner may have lost it.`
      : "";
    const error = row[col.error];
    const showError = Boolean(error) && (state === "failed" || state === "orphaned");
    cells[5].classList.toggle("cw-error", showError);
    cells[5].classList.toggle("cw-num", !showError);
    cells[5].style.gridColumn = showError ? "span 2" : "";
    cells[6].hidden = showError;
    setText(cells[5], showError ? error : number(row[col.energy_ev], 4));
    cells[5].title = showError ? error : "";
    setText(cells[6], number(row[col.max_force_ev_ang], 3));
    setText(cells[7], duration(now - row[col.created]));
    setText(cells[8], typeof checked === "number" ? `${duration(now - checked)} ago` : "");
    paintActions(element, cells[9], id, state);
  }

  function paintActions(element, cell, id, state) {
    const mode = !ACTIVE.has(state)
      ? "none"
      : view.cancelling.has(id)
        ? "cancelling"
        : view.confirming === id
          ? "confirm"
          : "cancel";
    const key = `${id}:${mode}`;
    if (element.cw.actions === key) return;
    element.cw.actions = key;
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
    } else if (mode === "cancelling") {
      cell.replaceChildren(el("span", { className: "cw-label", text: "cancelling…" }));
    } else {
      cell.replaceChildren();
    }
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
    } else {
      send(model, "details_id", model.get("details_id") === id ? "" : id);
    }
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
    show,
    paint,
    showSortMarks,
    waiting,
    cleanup: () => resizeObserver.disconnect(),
  };
}
