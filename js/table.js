// JobTable front end: a virtualised, sortable, filterable table of jobs.
//
// The kernel sends every job once (a "snapshot" answer to our request) and afterwards only
// the rows that changed ("rows" messages, one per batch of manager events). Rows are kept
// here in a Map; only the rows in view are in the DOM (a fixed pool of row elements moved
// and refilled on scroll). Ages are computed here from the kernel's clock, on a 1 s timer.
// Every string from jobs and users is set with textContent or as an attribute value,
// never parsed as HTML.
import "./lib/base.css";
import "./table.css";
import { el, onChange, send } from "./lib/dom.js";
import { linePlot } from "./lib/plot.js";

/** Row height in px (fixed: the scroller computes which rows are in view from it). */
const ROW_HEIGHT = 28;
/** Extra rows drawn above and below the visible ones, so fast scrolling shows no gap. */
const OVERSCAN = 6;
const STATES = ["pending", "running", "completed", "failed", "cancelled", "orphaned"];
const ACTIVE = new Set(["pending", "running"]);
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
const TEXT_FIELDS = ["id", "recipe", "formula", "profile", "state", "label"];

const count = new Intl.NumberFormat("en-US");

/** "42 s", "5 min", "3.2 h", "4 d" for a number of seconds. */
function duration(seconds) {
  const s = Math.max(0, seconds);
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 48 * 3600) return `${(s / 3600).toFixed(1)} h`;
  return `${Math.floor(s / 86400)} d`;
}

function number(value, digits) {
  return typeof value === "number" ? value.toFixed(digits) : "";
}

function localTime(epoch) {
  return typeof epoch === "number" ? new Date(epoch * 1000).toLocaleString() : "—";
}

/** Set text only when it differs (avoids layout work for the 1 s age refresh). */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function render({ model, el: container, host }) {
  const started = performance.now();
  const cleanups = [];

  // ---- state ----
  let col = null; // column name -> index in a row array (from the snapshot)
  const rows = new Map(); // job id -> row array
  let shown = []; // rows passing the filter, sorted
  let skewMs = 0; // kernel clock minus browser clock
  let confirming = null; // id of the running job whose Cancel asks "sure?"
  const cancelling = new Set(); // ids whose cancel was sent and not yet seen terminal
  let firstRows = true;
  const serverNow = () => (Date.now() + skewMs) / 1000;

  // ---- DOM ----
  const stateSelect = el("select", {
    "aria-label": "filter by state",
    className: "cw-table-state",
  });
  const recipeSelect = el("select", {
    "aria-label": "filter by recipe",
    className: "cw-table-recipe",
  });
  const profileSelect = el("select", {
    "aria-label": "filter by profile",
    className: "cw-table-profile",
  });
  const search = el("input", {
    type: "search",
    placeholder: "Search id, recipe, formula, label…",
    "aria-label": "search jobs",
    className: "cw-table-search",
  });
  const counter = el("span", { className: "cw-label cw-table-count" });
  const toolbar = el("div", { className: "cw-toolbar" }, [
    el("label", { className: "cw-group" }, [
      el("span", { className: "cw-label", text: "State" }),
      stateSelect,
    ]),
    el("label", { className: "cw-group" }, [
      el("span", { className: "cw-label", text: "Recipe" }),
      recipeSelect,
    ]),
    el("label", { className: "cw-group" }, [
      el("span", { className: "cw-label", text: "Profile" }),
      profileSelect,
    ]),
    search,
    counter,
  ]);

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
  const status = el("div", { className: "cw-status", role: "status" });

  const detailsTitle = el("span", { className: "cw-details-title" });
  const detailsClose = el("button", {
    type: "button",
    className: "cw-details-close",
    text: "Close",
    on: { click: () => send(model, "details_id", "") },
  });
  const detailsInfo = el("div", { className: "cw-details-info" });
  const viewerNote = el("div", { className: "cw-label cw-details-structure-note" });
  const viewerBox = el("div", { className: "cw-details-viewer" });
  const viewerPane = el("div", { className: "cw-details-structure" }, [viewerNote, viewerBox]);
  const details = el("div", { className: "cw-details", hidden: true }, [
    el("div", { className: "cw-details-head" }, [detailsTitle, detailsClose]),
    el("div", { className: "cw-details-columns" }, [detailsInfo, viewerPane]),
  ]);

  const root = el("div", { className: "cw-widget cw-table" }, [toolbar, scroller, status, details]);
  container.append(root);

  // ---- filtering and sorting (filter rule kept in step with JobTable._matches) ----
  function textTerms() {
    return (model.get("filter_text") ?? "").toLowerCase().split(/\s+/).filter(Boolean);
  }

  function matches(row, state, recipe, profile, terms) {
    if (state && row[col.state] !== state) return false;
    if (recipe && row[col.recipe] !== recipe) return false;
    if (profile && row[col.profile] !== profile) return false;
    if (!terms.length) return true;
    const haystack = TEXT_FIELDS.map((name) => row[col[name]])
      .filter((value) => value !== null && value !== undefined)
      .join(" ")
      .toLowerCase();
    return terms.every((term) => haystack.includes(term));
  }

  /** The value a column sorts by; null sorts last in both directions. */
  function sortValue(row, key) {
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

  function comparator() {
    const key = model.get("sort_by");
    const sign = model.get("sort_descending") ? -1 : 1;
    return (a, b) => {
      const x = sortValue(a, key);
      const y = sortValue(b, key);
      if (x !== y) {
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        if (x < y) return -sign;
        if (x > y) return sign;
      }
      return b[col.created] - a[col.created] || (a[col.id] < b[col.id] ? -1 : 1);
    };
  }

  /** Recompute the shown rows, the dropdowns and the counter, then draw the rows in view. */
  function refresh() {
    if (!col) return;
    const state = model.get("filter_state");
    const recipe = model.get("filter_recipe");
    const profile = model.get("filter_profile");
    const terms = textTerms();
    const byState = new Map();
    const recipes = new Set();
    const profiles = new Set();
    const next = [];
    for (const row of rows.values()) {
      byState.set(row[col.state], (byState.get(row[col.state]) ?? 0) + 1);
      recipes.add(row[col.recipe]);
      profiles.add(row[col.profile]);
      if (matches(row, state, recipe, profile, terms)) next.push(row);
    }
    next.sort(comparator());
    shown = next;
    fillStates(byState);
    fillOptions(recipeSelect, recipes, "filter_recipe", "All recipes");
    fillOptions(profileSelect, profiles, "filter_profile", "All profiles");
    showCount();
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
    root.dataset.cwRows = String(rows.size);
    root.dataset.cwShown = String(shown.length);
    paint();
  }

  function fillStates(byState) {
    const current = model.get("filter_state");
    if (!stateSelect.options.length) {
      stateSelect.append(el("option", { value: "", text: "All states" }));
      for (const state of STATES) stateSelect.append(el("option", { value: state }));
    }
    for (const option of stateSelect.options) {
      if (option.value)
        setText(option, `${option.value} (${count.format(byState.get(option.value) ?? 0)})`);
    }
    stateSelect.value = current;
  }

  function fillOptions(select, values, trait, allLabel) {
    const current = model.get(trait);
    if (current) values.add(current); // a filter set from Python on a value not (yet) present
    const sorted = [...values].sort();
    const have = [...select.options].slice(1).map((o) => o.value);
    if (have.length !== sorted.length || have.some((v, i) => v !== sorted[i])) {
      select.replaceChildren(
        el("option", { value: "", text: allLabel }),
        ...sorted.map((value) => el("option", { value, text: value })),
      );
    }
    select.value = current;
  }

  /** "12 of 10,000 jobs · 2 stale" (stale: running and not confirmed within stale_after). */
  function showCount() {
    const now = serverNow();
    const staleAfter = model.get("stale_after");
    let stale = 0;
    for (const row of rows.values()) if (isStale(row, now, staleAfter)) stale += 1;
    let text = `${count.format(shown.length)} of ${count.format(rows.size)} jobs`;
    if (stale) text += ` · ${count.format(stale)} stale`;
    setText(counter, text);
    root.dataset.cwStale = String(stale);
  }

  function isStale(row, now, staleAfter) {
    const checked = row[col.last_checked];
    return (
      row[col.state] === "running" && typeof checked === "number" && now - checked > staleAfter
    );
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
    if (!col) return;
    const top = scroller.scrollTop - body.offsetTop;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(
      shown.length,
      Math.ceil((top + scroller.clientHeight) / ROW_HEIGHT) + OVERSCAN,
    );
    const needed = Math.max(0, last - first);
    while (pool.length < needed) pool.push(makeRow());
    const now = serverNow();
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
    const { cells, badge } = element.cw;
    const id = row[col.id];
    const state = row[col.state];
    const stale = isStale(row, now, staleAfter);
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
      : cancelling.has(id)
        ? "cancelling"
        : confirming === id
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

  function cancel(id) {
    confirming = null;
    cancelling.add(id);
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
        confirming = id;
        paint();
      } else cancel(id);
    } else if (action === "confirm") cancel(id);
    else if (action === "keep") {
      confirming = null;
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

  stateSelect.addEventListener("change", () => send(model, "filter_state", stateSelect.value));
  recipeSelect.addEventListener("change", () => send(model, "filter_recipe", recipeSelect.value));
  profileSelect.addEventListener("change", () =>
    send(model, "filter_profile", profileSelect.value),
  );
  let searchTimer = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    clearTimeout(noAnswer);
    searchTimer = setTimeout(() => send(model, "filter_text", search.value), 150);
  });

  // ---- details panel ----
  let viewerRef = null;
  let viewerAbort = null;

  function openDetails() {
    const id = model.get("details_id");
    details.hidden = !id;
    paint();
    if (!id) return;
    if (detailsInfo.dataset.id !== id) {
      const row = rows.get(id);
      setText(detailsTitle, `Job ${id.slice(0, 8)}${row ? ` · ${row[col.recipe]}` : ""}`);
      detailsInfo.dataset.id = id;
      detailsInfo.replaceChildren(el("div", { className: "cw-label", text: "Loading details…" }));
      viewerPane.hidden = true;
    }
  }

  function section(title, ...children) {
    return el("section", { className: "cw-details-section" }, [
      el("h4", { text: title }),
      ...children,
    ]);
  }

  function showDetails(d) {
    if (d.id !== model.get("details_id")) return;
    skewMs = d.now * 1000 - Date.now();
    const summary = d.summary ?? {};
    setText(
      detailsTitle,
      `Job ${d.id.slice(0, 8)} · ${d.recipe} · ${d.formula ?? ""} · ${d.state}`,
    );
    const facts = [
      ["Job id", d.id],
      ["Label", d.label],
      ["Profile", `${d.profile} (${d.runner} runner)`],
      ["Submitted", localTime(d.created)],
      ["Started", localTime(d.started)],
      ["Finished", localTime(d.finished)],
      ["Energy (eV)", typeof summary.energy_ev === "number" ? summary.energy_ev.toFixed(6) : null],
      [
        "Max force (eV/Å)",
        typeof summary.max_force_ev_ang === "number" ? summary.max_force_ev_ang.toFixed(4) : null,
      ],
      [
        "Converged",
        typeof summary.converged === "boolean" ? (summary.converged ? "yes" : "no") : null,
      ],
      ["Optimiser steps", summary.n_steps],
      [
        "Wall time",
        typeof summary.wall_time_s === "number" ? `${summary.wall_time_s.toFixed(2)} s` : null,
      ],
      ["Work dir", d.work_dir],
    ].filter(([, value]) => value !== null && value !== undefined && value !== "");
    const list = el(
      "div",
      { className: "cw-details-facts" },
      facts.flatMap(([name, value]) => [
        el("div", { className: "cw-fact-name", text: name }),
        el("div", {
          className: name === "Work dir" || name === "Job id" ? "cw-fact cw-fact-path" : "cw-fact",
          text: value,
        }),
      ]),
    );
    const parts = [];
    if (d.error) {
      parts.push(
        section(
          "Error",
          el("pre", { className: "cw-mono cw-error cw-details-error", text: d.error }),
        ),
      );
    }
    parts.push(list);
    const energies = summary.energies_ev;
    if (Array.isArray(energies) && energies.length >= 2) {
      parts.push(
        section(
          "Energy per step",
          linePlot(energies, {
            width: 380,
            height: 210,
            xLabel: "optimiser step",
            yLabel: "energy (eV)",
            digits: 4,
            title: `energy per optimiser step of job ${d.id.slice(0, 8)}`,
          }),
        ),
      );
    }
    parts.push(
      section(
        "Parameters",
        el("pre", {
          className: "cw-mono cw-details-params",
          text: Object.keys(d.params ?? {}).length
            ? JSON.stringify(d.params, null, 2)
            : "(recipe defaults)",
        }),
      ),
    );
    detailsInfo.dataset.id = d.id;
    detailsInfo.replaceChildren(...parts);
    const label =
      { final: "Final structure", input: "Input structure" }[d.structure] ?? "Structure";
    setText(viewerNote, d.structure_note ? `${label}: ${d.structure_note}` : label);
    viewerPane.hidden = !d.structure && !d.structure_note;
    viewerBox.hidden = !d.structure;
    if (d.structure) showViewer();
  }

  async function showViewer() {
    const ref = model.get("viewer");
    if (!ref || ref === viewerRef) return;
    if (!host?.getWidget) {
      setText(viewerNote, "The structure view needs anywidget >= 0.11 in this front end.");
      return;
    }
    viewerRef = ref;
    viewerAbort?.abort();
    viewerAbort = new AbortController();
    viewerBox.replaceChildren();
    try {
      const child = await host.getWidget(ref);
      await child.render({ el: viewerBox, signal: viewerAbort.signal });
    } catch (error) {
      viewerRef = null;
      setText(viewerNote, `Cannot show the structure: ${error.message}`);
    }
  }

  // ---- messages from the kernel ----
  function applySnapshot(msg) {
    const t0 = performance.now();
    col = Object.fromEntries(msg.columns.map((name, index) => [name, index]));
    rows.clear();
    for (const row of msg.rows) rows.set(row[col.id], row);
    skewMs = msg.now * 1000 - Date.now();
    refresh();
    openDetails();
    timed("Snapshot", t0);
    if (firstRows) {
      firstRows = false;
      root.dataset.cwFirstRowsMs = (performance.now() - started).toFixed(1);
    }
  }

  function applyRows(msg) {
    if (!col) return; // our snapshot is on its way and supersedes this
    const t0 = performance.now();
    for (const row of msg.rows) {
      const id = row[col.id];
      rows.set(id, row);
      if (!ACTIVE.has(row[col.state])) {
        cancelling.delete(id);
        if (confirming === id) confirming = null;
      }
    }
    skewMs = msg.now * 1000 - Date.now();
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

  const onMessage = (msg) => {
    if (msg?.kind === "snapshot") applySnapshot(msg);
    else if (msg?.kind === "rows") applyRows(msg);
    else if (msg?.kind === "details") showDetails(msg);
    else if (msg?.kind === "error") {
      if (msg.id) cancelling.delete(msg.id);
      status.classList.add("cw-error");
      setText(status, msg.message ?? "error");
      paint();
    }
  };
  model.on("msg:custom", onMessage);
  cleanups.push(() => model.off("msg:custom", onMessage));

  // ---- model changes (from Python or another view) ----
  const resort = () => {
    showSortMarks();
    refresh();
  };
  cleanups.push(
    onChange(model, "filter_state", refresh),
    onChange(model, "filter_recipe", refresh),
    onChange(model, "filter_profile", refresh),
    onChange(model, "filter_text", (value) => {
      if (document.activeElement !== search) search.value = value;
      refresh();
    }),
    onChange(model, "sort_by", resort),
    onChange(model, "sort_descending", resort),
    onChange(model, "stale_after", refresh),
    onChange(model, "details_id", openDetails),
    onChange(model, "viewer", () => {
      if (!viewerBox.hidden) showViewer();
    }),
    onChange(model, "height", (height) => {
      scroller.style.maxHeight = `${height}px`;
      paint();
    }),
  );

  const ticker = setInterval(() => {
    if (!col) return;
    paint(); // ages, "checked … ago" and stale markers move with the clock
    showCount();
  }, 1000);
  const resizeObserver = new ResizeObserver(() => paint());
  resizeObserver.observe(scroller);

  scroller.style.maxHeight = `${model.get("height")}px`;
  search.value = model.get("filter_text");
  showSortMarks();
  setText(empty, "Loading jobs…");
  model.send({ kind: "snapshot" });
  const noAnswer = setTimeout(() => {
    if (!col)
      setText(empty, "No answer from the kernel: is it running? Run the cell again to reconnect.");
  }, 15000);

  return () => {
    for (const cleanup of cleanups) cleanup();
    clearInterval(ticker);
    clearTimeout(searchTimer);
    clearTimeout(noAnswer);
    resizeObserver.disconnect();
    viewerAbort?.abort();
    root.remove();
  };
}

export default { render };
