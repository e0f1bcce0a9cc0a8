// Form fields generated from a parameter spec (RecipeSpec.to_json() / profile schemas).
// A field reports what the user entered as an "entry" and never validates: the kernel
// turns entries into values, validates them once, and sends back per-field errors.
//
// Entries: {checked: bool} | {choice: index} | {text: string} | {rows: [[key, text], ...]},
// plus {use_default: true} when an optional field is left at its default.
import { el } from "./dom.js";

/** The kinds in a type tree (a union is flattened). */
export function kinds(node) {
  if (!node) return ["any"];
  if (node.kind === "union") return node.args.flatMap(kinds);
  return [node.kind];
}

function literalValues(node) {
  if (!node) return [];
  if (node.kind === "literal") return node.values || [];
  return (node.args || []).flatMap(literalValues);
}

function typedKeys(node) {
  if (!node) return [];
  if (node.kind === "typeddict") return node.fields || [];
  return (node.args || []).flatMap(typedKeys);
}

const BOUND_SIGNS = { gt: ">", ge: "≥", lt: "<", le: "≤" };

/** The bounds of the numbers in a type tree as text ("> 0", "≥ 1"), or "" when it has none. */
export function boundsText(node) {
  if (!node) return "";
  if (node.kind === "union") return node.args.map(boundsText).filter(Boolean).join(", ");
  return Object.entries(node.bounds || {}).map(([name, v]) => `${BOUND_SIGNS[name] || name} ${v}`).join(", ");
}

function show(value) {
  if (value === null || value === undefined) return "None";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** The entry a field shows for its default value. */
export function defaultEntry(param) {
  const k = kinds(param.type);
  const d = param.default;
  if (k.includes("bool") && typeof d === "boolean") return { checked: d };
  const lits = literalValues(param.type);
  if (lits.length && lits.some((v) => v === d)) return { choice: lits.indexOf(d) };
  if (d && typeof d === "object" && !Array.isArray(d)) {
    return { rows: Object.entries(d).map(([key, v]) => [key, show(v)]) };
  }
  return { text: param.default_is_repr ? String(d) : show(d) };
}

function rowsEditor(entry, keyChoices, disabled, onEntry, errorKeys) {
  const rows = (entry.rows || []).map((r) => [...r]);
  const box = el("div", { className: "cw-rows" });
  const emit = () => onEntry({ rows: rows.map((r) => [...r]) });
  rows.forEach((row, i) => {
    const key = keyChoices.length
      ? el(
          "select",
          { className: "cw-row-key", disabled, on: { change: (e) => { rows[i][0] = e.target.value; emit(); } } },
          [el("option", { value: "", text: "(key)" }), ...keyChoices.map((f) =>
            el("option", { value: f.name, text: f.name, selected: f.name === row[0] }))],
        )
      : el("input", {
          type: "text", className: "cw-row-key", value: row[0], placeholder: "key", disabled,
          on: { change: (e) => { rows[i][0] = e.target.value; emit(); } },
        });
    const bounds = boundsText(keyChoices.find((f) => f.name === row[0])?.type);
    const value = el("input", {
      type: "text", className: "cw-row-value", value: row[1], placeholder: bounds ? `value (${bounds})` : "value",
      title: bounds ? `${row[0]}: ${bounds}` : null, disabled,
      on: { change: (e) => { rows[i][1] = e.target.value; emit(); } },
    });
    const remove = el("button", {
      className: "cw-row-remove", text: "×", title: "remove this row", disabled,
      on: { click: () => { rows.splice(i, 1); emit(); } },
    });
    box.append(el("div", { className: `cw-row${errorKeys.has(row[0]) ? " cw-invalid" : ""}`, dataset: { key: row[0] } }, [key, value, remove]));
  });
  box.append(el("button", {
    className: "cw-row-add", text: "+ add", disabled,
    on: { click: () => { rows.push(["", ""]); emit(); } },
  }));
  return box;
}

/**
 * Render one parameter.
 * @param {object} param - one entry of spec.fields
 * @param {object|undefined} entry - what was entered (undefined: the default)
 * @param {string[]} errors - messages for this field (and its keys)
 * @param {Set<string>} errorKeys - keys of a dict field that have errors
 * @param {(entry: object|undefined) => void} onEntry - called with the new entry
 */
export function renderField(param, entry, errors, errorKeys, onEntry) {
  const optional = !param.required;
  const atDefault = entry === undefined || entry.use_default;
  const shown = atDefault ? defaultEntry(param) : entry;
  // An optional field at its default shows the default, greyed; editing it (one click on a
  // checkbox, typing, a choice) sets the value and unticks "default" at once. Only the dict
  // editor stays locked until "default" is unticked (its rows are not one value to edit).
  const atDefaultClass = optional && atDefault ? " cw-at-default" : "";
  const disabled = optional && atDefault;
  const k = kinds(param.type);
  const lits = literalValues(param.type);
  const set = (e) => onEntry(e);
  let input;
  if (k.every((x) => x === "bool" || x === "none") && k.includes("bool")) {
    input = el("input", {
      type: "checkbox", className: `cw-input${atDefaultClass}`, checked: !!shown.checked,
      on: { change: (e) => set({ checked: e.target.checked }) },
    });
  } else if (lits.length && k.every((x) => ["literal", "none", "class", "callable"].includes(x))) {
    // a class or callable cannot be typed into a form: offer the named choices
    input = el(
      "select",
      { className: `cw-input${atDefaultClass}`, on: { change: (e) => set({ choice: Number(e.target.value) }) } },
      lits.map((v, i) => el("option", { value: String(i), text: show(v), selected: shown.choice === i })),
    );
  } else if (k.some((x) => x === "dict" || x === "typeddict")) {
    input = rowsEditor(shown.rows ? shown : { rows: [] }, typedKeys(param.type), disabled, set, errorKeys);
  } else {
    const numeric = k.includes("int") || k.includes("float");
    input = el("input", {
      type: "text", className: `cw-input${numeric ? " cw-number" : ""}${atDefaultClass}`, value: shown.text ?? "",
      placeholder: boundsText(param.type) || null,
      inputmode: numeric ? "decimal" : null, spellcheck: "false",
      on: { change: (e) => set({ text: e.target.value }) },
    });
  }
  const head = el("div", { className: "cw-field-head" }, [
    el("label", { className: "cw-field-name", text: param.name, title: param.annotation }),
    el("span", { className: "cw-field-type", text: param.annotation || "" }),
    optional
      ? el("label", { className: "cw-default", title: "leave at the recipe's default" }, [
          el("input", {
            type: "checkbox", checked: atDefault,
            on: { change: (e) => set(e.target.checked ? undefined : { ...defaultEntry(param) }) },
          }),
          " default",
        ])
      : el("span", { className: "cw-required", text: param.badge ?? "required" }),
  ]);
  const row = el("div", {
    className: `cw-field${errors.length ? " cw-invalid" : ""}`, dataset: { field: param.name },
  }, [
    head,
    el("div", { className: "cw-field-body" }, [
      input,
      param.help ? el("div", { className: "cw-help", text: param.help }) : null,
    ]),
    ...errors.map((m) => el("div", { className: "cw-error", text: m })),
  ]);
  return row;
}

/**
 * Errors by top-level field: {"opt_params['fmax']": msg} -> {opt_params: [msg], keys: Set(fmax)}.
 */
export function errorsByField(errors) {
  const out = new Map();
  for (const [path, message] of Object.entries(errors || {})) {
    const m = /^([^[]+)(?:\['([^']*)'\])?/.exec(path);
    const name = m ? m[1] : path;
    if (!out.has(name)) out.set(name, { messages: [], keys: new Set() });
    const item = out.get(name);
    item.messages.push(m && m[2] ? `${m[2]}: ${message}` : message);
    if (m && m[2]) item.keys.add(m[2]);
  }
  return out;
}

// Text inputs send what was typed on "change" (Tab, Enter, leaving it); a redraw after a
// round trip (the kernel's errors for the last change) replaces them. Text typed since is
// sent first, so the redraw shows it instead of losing it (a value typed right after a dict
// row's key was chosen was lost while the key's validation came back).
let committing = false;

/**
 * Send what is typed in the focused text input of `container` and not sent yet (its
 * "change"). True when it did: that change redrew the fields already, so the caller's
 * redraw is not needed.
 */
export function commitTyping(container) {
  const a = document.activeElement;
  if (committing || !a || !container.contains(a) || !(a.tagName === "INPUT" || a.tagName === "TEXTAREA")) return false;
  if (a.type === "checkbox" || a.type === "radio" || a.value === a.defaultValue) return false;
  committing = true;
  try {
    a.dispatchEvent(new Event("change", { bubbles: true }));
  } finally {
    committing = false;
  }
  return true;
}

/** Where the focus is among the fields: the field, its dict row's key, the input's class. */
export function focusPath(fields) {
  const a = document.activeElement;
  const field = a && fields.contains(a) ? a.closest("[data-field]") : null;
  if (!field) return null;
  let caret = null;
  try {
    caret = a.selectionStart === null ? null : [a.selectionStart, a.selectionEnd];
  } catch {
    caret = null; // inputs without a text selection (number, checkbox)
  }
  return { field: field.dataset.field, row: a.closest(".cw-row")?.dataset.key, cls: a.classList[0], caret };
}

/** Focus the same input after a redraw (else the field's first input). */
export function refocus(fields, at) {
  if (!at) return;
  const field = fields.querySelector(`[data-field="${CSS.escape(at.field)}"]`);
  if (!field) return;
  const row = at.row === undefined ? field : field.querySelector(`.cw-row[data-key="${CSS.escape(at.row)}"]`);
  const same = at.cls && row ? row.querySelector(`.${CSS.escape(at.cls)}`) : null;
  const input = same ?? field.querySelector(".cw-input");
  if (!input) return;
  input.focus();
  if (same && at.caret) {
    try {
      input.setSelectionRange(...at.caret); // typing goes on where it was
    } catch {
      // not a text input any more
    }
  }
}
