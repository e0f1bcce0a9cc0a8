// The selection of the job table: rows ticked by their checkbox (shift-click: the range from
// the last one ticked; ctrl/cmd-click on a row: toggle it), kept by job id in `view.selected`,
// so it survives live updates, sorting and filtering. Its toolbar, "3 selected: Cancel ·
// Resubmit", asks once ("Cancel 3 jobs?") and sends one "bulk" message; the kernel's report
// ("cancelled 2; 1 had already finished") is shown as text in the status line.
import { el } from "../lib/dom.js";
import { count, setText } from "./format.js";

/** [action, button text, question verb, what the status says while it runs]. */
const ACTIONS = [
  ["cancel", "Cancel", "Cancel", "Cancelling"],
  ["resubmit", "Resubmit", "Resubmit", "Resubmitting"],
];

/**
 * The selection of one view and its toolbar group.
 * @param {object} view - the view's shared state (see index.js); `view.selected` is a Set of ids
 * @param {object} hooks - `say(text)`: a line in the status; `paint()`: redraw the rows
 * @returns {{bar: HTMLElement, toggle: Function, setShown: Function, headerBox: HTMLElement,
 *   update: Function, receive: Function, failed: Function, clear: Function}}
 */
export function createSelection(view, { say, paint }) {
  const { model, selected } = view;
  let anchor = null; // the id ticked last: a shift-click selects from it
  let sent = null; // the action sent and not answered yet

  const label = el("span", { className: "cw-label cw-selection-count" });
  const buttons = ACTIONS.map(([action, text]) =>
    el("button", {
      type: "button",
      text,
      className: `cw-bulk-${action}`,
      title: `${text} the selected jobs (asks first)`,
      on: { click: () => ask(action) },
    }),
  );
  const clearButton = el("button", {
    type: "button",
    text: "Clear",
    className: "cw-selection-clear",
    title: "Unselect every job",
    on: { click: () => clear() },
  });
  const question = el("span", { className: "cw-confirm" });
  const yes = el("button", { type: "button", className: "cw-bulk-yes", on: { click: () => go() } });
  const no = el("button", {
    type: "button",
    text: "No",
    className: "cw-bulk-no",
    on: { click: () => ask(null) },
  });
  const confirmBox = el(
    "span",
    { className: "cw-confirm-box cw-bulk-confirm", role: "alertdialog", hidden: true },
    [question, yes, no],
  );
  const bar = el("span", { className: "cw-group cw-selection", hidden: true }, [
    label,
    buttons[0],
    el("span", { className: "cw-label", text: "·", "aria-hidden": "true" }),
    buttons[1],
    clearButton,
    confirmBox,
  ]);
  /** The header's checkbox: every shown row (on), none (off). */
  const headerBox = el("input", {
    type: "checkbox",
    className: "cw-select-all",
    "aria-label": "select every job shown",
    title: "Select every job shown (the filter's rows)",
    on: { change: (event) => setShown(event.target.checked) },
  });
  let asking = null; // the action whose question is open

  /** How many selected jobs the filter shows (0 when none is selected: nothing to count). */
  function selectedShown() {
    if (!selected.size) return 0;
    const id = view.spec.fields.id;
    let n = 0;
    for (const row of view.shown) if (selected.has(row[id])) n++;
    return n;
  }

  /** The toolbar and the header's checkbox for the selection now (after any change). */
  function update() {
    const n = selected.size;
    bar.hidden = n === 0;
    if (n === 0) ask(null);
    const shown = view.spec ? selectedShown() : 0;
    const hidden = n - shown;
    setText(label, `${count.format(n)} selected${hidden ? ` (${count.format(hidden)} not shown)` : ""}:`);
    headerBox.checked = n > 0 && shown === view.shown.length;
    headerBox.indeterminate = shown > 0 && shown < view.shown.length;
    for (const button of buttons) button.disabled = sent !== null;
    bar.dataset.count = String(n);
  }

  /** Tick or untick a row; with `range`, every row shown from the anchor to it, as it. */
  function toggle(id, range) {
    const on = !selected.has(id);
    if (range && anchor !== null && anchor !== id) {
      const ids = view.shown.map((row) => row[view.spec.fields.id]);
      const [a, b] = [ids.indexOf(anchor), ids.indexOf(id)].sort((x, y) => x - y);
      if (a >= 0) {
        const value = selected.has(anchor);
        for (const other of ids.slice(a, b + 1)) value ? selected.add(other) : selected.delete(other);
      } else on ? selected.add(id) : selected.delete(id);
    } else on ? selected.add(id) : selected.delete(id);
    anchor = id;
    update();
    paint();
  }

  /** Select (or unselect) every row the filter shows. */
  function setShown(on) {
    const id = view.spec.fields.id;
    for (const row of view.shown) on ? selected.add(row[id]) : selected.delete(row[id]);
    update();
    paint();
  }

  function clear() {
    selected.clear();
    anchor = null;
    update();
    paint();
  }

  /** Open (or, with null, close) the one question for `action` on every selected job. */
  function ask(action) {
    asking = action;
    confirmBox.hidden = action === null;
    if (action === null) return;
    const [, , verb] = ACTIONS.find(([a]) => a === action);
    const n = selected.size;
    setText(question, `${verb} ${count.format(n)} job${n === 1 ? "" : "s"}?`);
    setText(yes, `Yes, ${verb.toLowerCase()} ${n === 1 ? "it" : "them"}`);
    yes.focus?.();
  }

  function go() {
    const action = asking;
    if (!action || !selected.size) return;
    const ids = [...selected];
    const [, , , doing] = ACTIONS.find(([a]) => a === action);
    ask(null);
    sent = action;
    if (action === "cancel") {
      const { fields, active } = view.spec;
      for (const id of ids) if (active.has(view.rows.get(id)?.[fields.state])) view.cancelling.add(id);
    }
    model.send({ kind: "bulk", action, ids });
    say(`${doing} ${count.format(ids.length)} job${ids.length === 1 ? "" : "s"}…`);
    update();
    paint();
  }

  /** The kernel's report of a bulk action: shown; the selection it acted on is cleared. */
  function receive(msg) {
    say(msg.message);
    for (const [id, outcome] of Object.entries(msg.outcomes ?? {}))
      if (outcome !== "cancelled") view.cancelling.delete(id);
    if (sent === msg.action) {
      sent = null;
      selected.clear();
      anchor = null;
    }
    update();
    paint();
  }

  /** A refused request: the buttons work again. */
  function failed() {
    sent = null;
    update();
  }

  return { bar, headerBox, toggle, setShown, update, receive, failed, clear };
}
