// The Columns menu of the job table's toolbar: a tick per column the table can hide (the
// spec's `choosable`, declared in crystalwidgets/widgets/_table.py), "Fit widths" (every
// shown column as wide as what it shows), and "Reset" (every column shown at its default
// width). It only sets the traits `hidden_columns` and `column_widths`; rows.js lays the
// columns out from them and the kernel saves them on the store.
import { el, send } from "../lib/dom.js";

/**
 * The Columns menu of one view.
 * @param {object} view - the view's shared state (see index.js)
 * @param {object} hooks - `fitAll()`: fit every shown column to its content (rows.js)
 * @returns {{group: HTMLElement, setSpec: Function, sync: Function, cleanup: Function}}
 */
export function createChooser(view, { fitAll }) {
  const { model } = view;
  const list = el("div", { className: "cw-columns-list" });
  const fitButton = el("button", {
    type: "button",
    text: "Fit widths",
    className: "cw-columns-fit",
    title: "Make every shown column as wide as its header and the rows in view need",
    on: { click: () => fitAll() },
  });
  const reset = el("button", {
    type: "button",
    text: "Reset",
    className: "cw-columns-reset",
    title: "Show every column at its default width",
    on: {
      click: () => {
        model.set("hidden_columns", []);
        model.set("column_widths", {});
        model.save_changes();
      },
    },
  });
  const menu = el(
    "div",
    { className: "cw-columns-menu", role: "dialog", "aria-label": "columns", hidden: true },
    [list, el("div", { className: "cw-columns-buttons" }, [fitButton, reset])],
  );
  const button = el("button", {
    type: "button",
    text: "Columns ▾",
    className: "cw-columns-button",
    title: "Choose the columns shown; drag a header's right edge to resize its column",
    "aria-haspopup": "dialog",
    "aria-expanded": "false",
    on: { click: () => open(menu.hidden) },
  });
  const group = el("span", { className: "cw-group cw-columns" }, [button, menu]);
  let boxes = new Map(); // column key -> its checkbox

  function open(on) {
    menu.hidden = !on;
    button.setAttribute("aria-expanded", String(on));
    if (on) sync();
  }

  /** One tick per column the spec lets the user hide, labelled by its header (or title). */
  function setSpec() {
    const { all, choosable } = view.spec;
    boxes = new Map();
    const rows = all
      .filter((column) => choosable.includes(column.key))
      .map((column) => {
        const box = el("input", {
          type: "checkbox",
          dataset: { key: column.key },
          on: { change: () => toggle(column.key, box.checked) },
        });
        boxes.set(column.key, box);
        return el("label", { className: "cw-columns-item", title: column.title || "" }, [
          box,
          column.label || column.title || column.key,
        ]);
      });
    list.replaceChildren(...rows);
    sync();
  }

  function toggle(key, shown) {
    const hidden = new Set(model.get("hidden_columns") ?? []);
    if (shown) hidden.delete(key);
    else hidden.add(key);
    send(model, "hidden_columns", [...hidden]);
  }

  /** The ticks as `hidden_columns` says (it changed from Python or another view). */
  function sync() {
    const hidden = new Set(model.get("hidden_columns") ?? []);
    for (const [key, box] of boxes) box.checked = !hidden.has(key);
  }

  const onDocument = (event) => {
    if (!menu.hidden && !group.contains(event.target)) open(false);
  };
  const onKey = (event) => {
    if (event.key === "Escape" && !menu.hidden) {
      open(false);
      button.focus();
    }
  };
  document.addEventListener("pointerdown", onDocument);
  group.addEventListener("keydown", onKey);

  return {
    group,
    setSpec,
    sync,
    cleanup: () => document.removeEventListener("pointerdown", onDocument),
  };
}
