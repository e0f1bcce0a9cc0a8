// RecipeForm front end: a searchable recipe list grouped by code, and fields generated
// from the selected recipe's spec. Entries go to the kernel, which validates them once.
import "./lib/base.css";
import "./form.css";
import { el, onChange, send } from "./lib/dom.js";
import { commitTyping, errorsByField, focusPath, refocus, renderField } from "./lib/fields.js";

function recipeList(model, query) {
  const q = query.trim().toLowerCase();
  const current = model.get("recipe");
  const groups = new Map();
  for (const r of model.get("catalogue")) {
    const text = `${r.name} ${r.summary || ""}`.toLowerCase();
    if (q && !text.includes(q) && r.name !== current) continue;
    if (!groups.has(r.code)) groups.set(r.code, []);
    groups.get(r.code).push(r);
  }
  const select = el("select", { className: "cw-recipe-list", size: 8, "aria-label": "recipe" });
  for (const [code, items] of [...groups.entries()].sort()) {
    const group = el("optgroup", { label: code });
    for (const r of items) {
      const unavailable = r.available === false;
      const elsewhere = !unavailable && !!r.needs; // its program is on a cluster, not here
      const label = unavailable ? `${r.name}  (unavailable)` : elsewhere ? `${r.name}  (needs ${r.program})` : r.name;
      group.append(el("option", {
        value: r.name, text: label, selected: r.name === current, disabled: unavailable,
        title: unavailable ? `cannot run here: ${r.unavailable_reason}`
          : elsewhere ? `on a cluster profile only: ${r.needs}` : r.summary || r.name,
        className: unavailable ? "cw-unavailable" : elsewhere ? "cw-elsewhere" : null,
      }));
    }
    select.append(group);
  }
  select.addEventListener("change", () => send(model, "recipe", select.value));
  return select;
}

function render({ model, el: root }) {
  root.classList.add("cw-widget", "cw-form");
  const search = el("input", { type: "search", className: "cw-search", placeholder: "search recipes (e.g. relax, emt, slab)" });
  const listBox = el("div", { className: "cw-recipe-pick" });
  const about = el("div", { className: "cw-recipe-about" });
  const fields = el("div", { className: "cw-fields" });
  const status = el("div", { className: "cw-status" });
  const preview = el("div", { className: "cw-preview-box" });
  let previewOpen = false;
  const submit = el("button", { className: "cw-submit", text: model.get("submit_label") });
  submit.addEventListener("click", () => model.send({ kind: "submit" }));
  root.append(el("div", { className: "cw-form-top" }, [search, listBox]), about, fields, preview,
    el("div", { className: "cw-form-bottom" }, [submit, status]));

  const drawList = () => listBox.replaceChildren(recipeList(model, search.value));
  search.addEventListener("input", drawList);

  const setEntry = (name, entry) => {
    const entries = { ...model.get("entries") };
    if (entry === undefined) delete entries[name];
    else entries[name] = entry;
    send(model, "entries", entries);
  };

  const drawAbout = () => {
    const r = model.get("catalogue").find((x) => x.name === model.get("recipe"));
    const parts = [
      el("span", { className: "cw-recipe-name", text: model.get("recipe") }),
      el("span", { className: "cw-recipe-kind", text: r ? r.kind : "" }),
      el("div", { className: "cw-help", text: r ? r.summary : "" }),
    ];
    if (r && r.available === false) {
      parts.push(el("div", { className: "cw-error", text: `cannot run here: ${r.unavailable_reason}` }));
    } else if (r && r.needs) {
      parts.push(el("div", { className: "cw-note cw-needs", text: `on a cluster profile only: ${r.needs}` }));
    }
    about.replaceChildren(...parts);
  };

  const drawFields = () => {
    if (commitTyping(fields)) return; // its change redrew the fields, with the text in them
    const spec = model.get("spec");
    const entries = model.get("entries");
    const byField = errorsByField(model.get("errors"));
    // problems that are no field's (the structure the recipe cannot handle) come first
    const named = new Set([...(spec.fields || []).map((p) => p.name), spec.var_keyword]);
    const general = [...byField.entries()].filter(([name]) => !named.has(name)).map(([name, errs]) =>
      el("div", { className: "cw-error cw-form-problem", text: `${name}: ${errs.messages.join("; ")}` }));
    const nodes = general.concat((spec.fields || []).map((p) => {
      const errs = byField.get(p.name) || { messages: [], keys: new Set() };
      return renderField(p, entries[p.name], errs.messages, errs.keys, (e) => setEntry(p.name, e));
    }));
    if (spec.var_keyword) {
      const name = `**${spec.var_keyword}`;
      const unchecked = model.get("unchecked");
      const errs = byField.get(spec.var_keyword) || { messages: [], keys: new Set() };
      nodes.push(renderField(
        {
          name, annotation: "passed to the calculator unchecked", required: true, badge: "optional",
          type: { kind: "dict" },
          help: spec.var_keyword_help || "Extra keyword arguments for the calculator; not checked here.",
        },
        entries[name] || { rows: [] }, errs.messages, errs.keys, (e) => setEntry(name, e),
      ));
      if (unchecked.length) {
        nodes.push(el("div", { className: "cw-warning", text: `unchecked: ${unchecked.join(", ")}` }));
      }
    }
    for (const note of model.get("notes") || []) {
      nodes.push(el("div", { className: "cw-warning cw-note", text: note }));
    }
    // keep focus and scroll while re-rendering after each validation round trip
    const at = focusPath(fields);
    fields.replaceChildren(...nodes);
    refocus(fields, at);
  };

  // what quacc will write (computed in the kernel by quacc itself); all of it shown as text
  const drawPreview = () => {
    const p = model.get("preview") || {};
    if (!p.error && !Object.keys(p.files || {}).length) {
      preview.replaceChildren();
      return;
    }
    if (!Object.keys(p.files || {}).length) {  // no files: why, in plain sight
      preview.replaceChildren(el("div", { className: "cw-help cw-preview-none", text: `Input preview: ${p.error}` }));
      return;
    }
    const parts = [el("summary", { text: "Input preview (written by quacc for this structure)" })];
    if ((p.potcars || []).length) {
      const pots = p.potcars.map((x) => `${x.symbol} (${x.functional || x.lexch}: ${x.titel})`);
      parts.push(el("div", { className: "cw-help cw-preview-potcars", text: `POTCAR: ${pots.join(", ")}` }));
    }
    if ((p.unknown_tags || []).length) {
      parts.push(el("div", {
        className: "cw-warning",
        text: `INCAR tags pymatgen does not know (VASP ignores unknown tags): ${p.unknown_tags.join(", ")}`,
      }));
    }
    for (const [name, text] of Object.entries(p.files || {})) {
      parts.push(el("div", { className: "cw-label", text: name }));
      parts.push(el("pre", { className: "cw-mono cw-preview-file", dataset: { file: name }, text }));
    }
    const box = el("details", { className: "cw-preview", open: previewOpen }, parts);
    box.addEventListener("toggle", () => { previewOpen = box.open; });
    preview.replaceChildren(box);
  };

  const drawSubmit = () => {
    const ok = model.get("valid") && model.get("can_submit");
    submit.disabled = !ok;
    submit.textContent = model.get("submit_label");
    const n = Object.keys(model.get("errors")).length;
    submit.title = ok ? "submit this recipe" : n ? `fix ${n} field${n > 1 ? "s" : ""} first` : model.get("status");
    status.textContent = model.get("status");
  };

  drawList();
  drawAbout();
  drawFields();
  drawPreview();
  drawSubmit();
  const offs = [
    onChange(model, "catalogue", () => { drawList(); drawAbout(); }),
    onChange(model, "recipe", () => { drawList(); drawAbout(); }),
    onChange(model, "spec", drawFields),
    onChange(model, "entries", drawFields),
    onChange(model, "errors", () => { drawFields(); drawSubmit(); }),
    onChange(model, "unchecked", drawFields),
    onChange(model, "notes", drawFields),
    onChange(model, "preview", drawPreview),
    onChange(model, "valid", drawSubmit),
    onChange(model, "can_submit", drawSubmit),
    onChange(model, "status", drawSubmit),
    onChange(model, "submit_label", drawSubmit),
  ];
  return () => offs.forEach((off) => off());
}

export default { render };
