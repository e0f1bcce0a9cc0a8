// ClusterPicker front end: the saved profiles (pick one), an editor whose fields are generated
// from the profile kind's model, the pre-flight check's result and the block health of the
// selected profile. The kernel validates and saves; this module only renders and reports.
// Every profile, check and Slurm string is set as text, never parsed as HTML.
import "./lib/base.css";
import "./form.css"; // the field styles of renderField
import "./picker.css";
import { el, onChange } from "./lib/dom.js";
import { commitTyping, errorsByField, focusPath, refocus, renderField } from "./lib/fields.js";

const secondsText = (s) => `${Math.max(0, Math.round(s))} s`;

/** Swap a generated text input for a text area (shell lines), keeping its entry protocol. */
function asTextArea(row, onEntry) {
  const input = row.querySelector("input.cw-input");
  if (!input) return row;
  const area = el("textarea", {
    className: "cw-input cw-textarea", rows: 3, spellcheck: "false", disabled: input.disabled,
    on: { change: (e) => onEntry({ text: e.target.value }) },
  });
  area.defaultValue = input.value; // what it was drawn with (commitTyping tells typing by it)
  input.replaceWith(area);
  return row;
}

function render({ model, el: root }) {
  root.classList.add("cw-widget", "cw-picker");
  const list = el("div", { className: "cw-profiles", role: "radiogroup", "aria-label": "cluster profiles" });
  const kindSelect = el("select", { className: "cw-new-kind", "aria-label": "kind of the new profile" });
  const newButton = el("button", {
    className: "cw-new", text: "New profile", "data-action": "new",
    on: { click: () => model.send({ kind: "new", profile_kind: kindSelect.value }) },
  });
  const checkButton = el("button", {
    className: "cw-check-button", "data-action": "check", text: "Check",
    on: { click: () => model.send({ kind: "check", deep: false, draft: false }) },
  });
  const deepButton = el("button", {
    className: "cw-check-button", "data-action": "deep-check", text: "Deep check",
    title: "Also run a tiny job on the target (for Slurm: a 1-node job that tests the workers' "
      + "environment on a compute node); slower",
    on: { click: () => model.send({ kind: "check", deep: true, draft: false }) },
  });
  const actionButtons = el("span", { className: "cw-profile-extra" });
  const actionBox = el("div", { className: "cw-action", "aria-live": "polite" });
  const checkBox = el("div", { className: "cw-check", "aria-live": "polite" });
  const healthBox = el("div", { className: "cw-health" });
  const editorBox = el("div", { className: "cw-editor" });
  const status = el("div", { className: "cw-status", "aria-live": "polite" });
  // inside a Slurm job: which, where, how many cores, until when (text from Python, shown as text)
  const allocBox = el("div", { className: "cw-allocation", role: "note" });
  // batch jobs that engines of kernels that ended left in Slurm, and a button to cancel them
  const leftoversBox = el("div", { className: "cw-leftovers", role: "note", hidden: true });
  root.append(
    el("div", { className: "cw-picker-head" }, [
      el("span", { className: "cw-picker-title", text: "Cluster" }),
      el("span", { className: "cw-picker-new" }, [kindSelect, newButton]),
    ]),
    allocBox,
    leftoversBox,
    list,
    el("div", { className: "cw-toolbar cw-picker-actions" }, [checkButton, deepButton, actionButtons]),
    actionBox, checkBox, healthBox, editorBox, status,
  );

  let confirming = null; // name of the profile whose Delete asks "sure?"

  const drawKinds = () => {
    const current = kindSelect.value;
    kindSelect.replaceChildren(...model.get("kinds").map((k) =>
      el("option", { value: k.kind, text: k.kind, title: k.summary, selected: k.kind === current })));
  };

  const drawList = () => {
    const value = model.get("value");
    const rows = model.get("profiles").map((p) => {
      const selected = p.name === value;
      const builtin = p.name === "local" && !p.saved;
      const actions = confirming === p.name
        ? el("span", { className: "cw-confirm-box", role: "alertdialog", "aria-label": "confirm delete" }, [
          el("span", { className: "cw-confirm", text: `Delete profile “${p.name}”?` }),
          el("button", { text: "Yes, delete", "data-action": "confirm-delete", className: "cw-danger" }),
          el("button", { text: "Keep", "data-action": "keep" }),
        ])
        : el("span", { className: "cw-profile-actions" }, [
          el("button", {
            text: "Edit", "data-action": "edit", disabled: !!p.problem && p.kind === "?",
            title: builtin ? "Edit the built-in local profile (saving it keeps your settings)" : `Edit “${p.name}”`,
          }),
          el("button", {
            text: "Delete", "data-action": "delete", disabled: builtin,
            title: builtin ? "The built-in local profile cannot be deleted" : `Delete “${p.name}”`,
          }),
        ]);
      return el("div", {
        className: `cw-profile${selected ? " cw-selected" : ""}${p.problem ? " cw-broken" : ""}`,
        role: "radio", "aria-checked": selected ? "true" : "false", tabindex: selected ? "0" : "-1",
        dataset: { name: p.name },
      }, [
        el("span", { className: "cw-profile-mark", text: selected ? "●" : "○" }),
        el("span", { className: "cw-profile-name", text: p.name }),
        el("span", { className: "cw-profile-kind", text: builtin ? "local · built-in" : p.kind }),
        el("span", { className: "cw-profile-desc", text: p.problem || p.description }),
        actions,
      ]);
    });
    list.replaceChildren(...rows);
    checkButton.textContent = `Check “${value}”`;
    drawCheckButtons();
  };

  const drawCheckButtons = () => {
    const value = model.get("value");
    const picked = model.get("profiles").find((p) => p.name === value);
    const r = model.get("check_result");
    const busy = r && r.state === "running" && r.profile === value;
    checkButton.disabled = deepButton.disabled = busy || !picked || (!!picked.problem && picked.kind === "?");
    checkButton.title = busy ? "a check of this profile is running" : `Run the pre-flight check of “${value}”`;
  };

  list.addEventListener("click", (event) => {
    const row = event.target.closest(".cw-profile");
    if (!row) return;
    const name = row.dataset.name;
    const action = event.target.closest("button")?.dataset.action;
    if (action === "edit") model.send({ kind: "edit", name });
    else if (action === "delete") { confirming = name; drawList(); }
    else if (action === "confirm-delete") { confirming = null; model.send({ kind: "delete", name }); drawList(); }
    else if (action === "keep") { confirming = null; drawList(); }
    else if (!action && name !== model.get("value")) { model.set("value", name); model.save_changes(); }
  });
  list.addEventListener("keydown", (event) => {
    if (!["ArrowDown", "ArrowUp"].includes(event.key) || event.target.closest("button")) return;
    const names = model.get("profiles").map((p) => p.name);
    const i = names.indexOf(model.get("value")) + (event.key === "ArrowDown" ? 1 : -1);
    if (i < 0 || i >= names.length) return;
    event.preventDefault();
    model.set("value", names[i]);
    model.save_changes();
    list.querySelector(`[data-name="${CSS.escape(names[i])}"]`)?.focus();
  });

  // -- check --------------------------------------------------------------
  let ticker = null;
  let running = { id: null, since: 0 }; // browser clock: the kernel's may differ (JupyterHub)
  const drawCheck = () => {
    const r = model.get("check_result");
    clearInterval(ticker);
    ticker = null;
    if (!r || !r.state) { checkBox.replaceChildren(); checkBox.dataset.state = ""; return; }
    checkBox.dataset.state = r.state;
    const what = `${r.deep ? "Deep check" : "Check"} of “${r.profile}”`;
    if (r.state === "running") {
      if (running.id !== r.id) running = { id: r.id, since: performance.now() };
      const line = el("span", { className: "cw-check-running" });
      const tick = () => {
        line.textContent = `${what}: checking… ${secondsText((performance.now() - running.since) / 1000)}`;
      };
      tick();
      ticker = setInterval(tick, 1000);
      checkBox.replaceChildren(el("span", { className: "cw-spinner", "aria-hidden": "true" }), line);
      return;
    }
    const took = r.finished && r.started ? ` (${secondsText(r.finished - r.started)})` : "";
    const warned = (r.warnings || []).length
      ? el("ul", { className: "cw-warnings" }, r.warnings.map((w) => el("li", { className: "cw-warning", text: `warning: ${w}` })))
      : null;
    if (r.state === "done" && !r.problems.length) {
      checkBox.replaceChildren(...[
        el("div", { className: "cw-check-ok", text: `${what}: no problems found${took}` }), warned,
      ].filter(Boolean));
      return;
    }
    const head = r.state === "done"
      ? `${what}: ${r.problems.length} problem${r.problems.length > 1 ? "s" : ""}${took}`
      : `${what}: ${r.state === "timeout" ? "unfinished" : "failed"}${took}`;
    const lines = r.state === "done" ? r.problems : [r.message];
    checkBox.replaceChildren(
      el("div", { className: "cw-check-head", text: head }),
      el("ul", { className: "cw-problems" }, lines.map((p) => el("li", { className: "cw-problem", text: p }))),
      ...(warned ? [warned] : []),
    );
  };

  // -- actions (e.g. start a local server) ----------------------------------
  let actionTicker = null;
  const drawActions = () => {
    const r = model.get("action_result");
    const busy = !!r && r.state === "running";
    actionButtons.replaceChildren(...model.get("actions").map((a) => el("button", {
      className: "cw-action-button", text: a.label, title: a.help, disabled: busy,
      dataset: { action: "profile-action", name: a.name },
      on: { click: () => model.send({ kind: "action", name: a.name }) },
    })));
    clearInterval(actionTicker);
    actionTicker = null;
    if (!r || !r.state) { actionBox.replaceChildren(); actionBox.dataset.state = ""; return; }
    actionBox.dataset.state = r.state;
    const what = `${r.label} (“${r.profile}”)`;
    if (busy) {
      const since = performance.now();
      const line = el("span", { className: "cw-check-running" });
      const tick = () => { line.textContent = `${what}: working… ${secondsText((performance.now() - since) / 1000)}`; };
      tick();
      actionTicker = setInterval(tick, 1000);
      actionBox.replaceChildren(el("span", { className: "cw-spinner", "aria-hidden": "true" }), line);
      return;
    }
    const took = r.finished && r.started ? ` (${secondsText(r.finished - r.started)})` : "";
    const head = r.state === "done" ? `${what}: done${took}` : `${what}: ${r.state === "timeout" ? "unfinished" : "failed"}${took}`;
    actionBox.replaceChildren(
      el("div", { className: r.state === "done" ? "cw-check-ok" : "cw-check-head", text: head }),
      el("div", { className: r.state === "done" ? "cw-action-message" : "cw-problem", text: r.message }),
    );
  };

  // -- block health --------------------------------------------------------
  const drawHealth = () => {
    const h = model.get("health");
    if (!h || !Object.keys(h).length) { healthBox.replaceChildren(); healthBox.hidden = true; return; }
    healthBox.hidden = false;
    const slurm = h.kind === "parsl-slurm";
    const facts = [
      h.engine ? `engine ${h.engine}` : null,
      typeof h.jobs_waiting === "number" ? `${h.jobs_waiting} waiting` : null,
      typeof h.jobs_running === "number" ? `${h.jobs_running} running` : null,
      typeof h.age_s === "number" ? `blocks checked ${secondsText(h.age_s)} ago` : null,
    ].filter(Boolean);
    const blocks = h.blocks || [];
    const header = ["block", slurm ? "Slurm job" : "job id", "state", "reason", "nodes"];
    const table = blocks.length
      ? el("table", { className: "cw-blocks" }, [
        el("thead", {}, [el("tr", {}, header.map((t) => el("th", { text: t })))]),
        el("tbody", {}, blocks.map((b) => el("tr", {
          className: `cw-block cw-block-${String(b.state || "").toLowerCase()}`,
          dataset: { jobId: String(b.job_id ?? "") },
        }, [b.block, b.job_id ?? "—", b.never_starts ? `${b.state} (never starts)` : b.state, b.reason, b.nodes]
          .map((v) => el("td", { text: v === null || v === undefined ? "" : String(v) }))))),
      ])
      : el("div", {
        className: "cw-help",
        text: h.kind === "parsl-threads"
          ? "Jobs run in threads of this kernel: no blocks."
          : "No blocks now (they are requested when jobs wait).",
      });
    healthBox.replaceChildren(...[
      el("div", { className: "cw-health-head" }, [
        el("span", { className: "cw-health-title", text: `Blocks of “${h.profile ?? model.get("value")}”` }),
        el("span", { className: "cw-health-facts", text: facts.join(" · ") }),
      ]),
      h.problem ? el("div", { className: "cw-error cw-health-problem", text: h.problem }) : null,
      table,
    ].filter(Boolean));
  };

  // -- leftovers of kernels that ended -------------------------------------
  const drawLeftovers = () => {
    const blocks = model.get("leftovers") || [];
    const result = model.get("leftovers_result") || {};
    const running = result.state === "running";
    if (!blocks.length && !result.message) { leftoversBox.replaceChildren(); leftoversBox.hidden = true; return; }
    leftoversBox.hidden = false;
    const items = blocks.map((b) => el("li", {
      className: "cw-leftover", dataset: { jobId: String(b.job_id ?? "") },
      text: `Slurm job ${b.job_id} (${[b.state, b.reason && b.reason !== "None" ? b.reason : null,
        b.profile ? `profile “${b.profile}”` : null, b.engine].filter(Boolean).join(", ")})`,
    }));
    leftoversBox.replaceChildren(...[
      blocks.length ? el("div", {
        className: "cw-leftovers-title",
        text: `${blocks.length === 1 ? "1 Slurm block" : `${blocks.length} Slurm blocks`} left by `
          + "kernels that ended: they hold their nodes until their walltime, and cancelling them "
          + "stops what still runs in them:",
      }) : null,
      blocks.length ? el("ul", { className: "cw-leftovers-list" }, items) : null,
      blocks.length ? el("button", {
        className: "cw-danger cw-leftovers-cleanup", "data-action": "cleanup-leftovers",
        text: running ? "Cancelling…" : "Cancel them", disabled: running,
        title: "scancel these blocks (and stop what their dead kernels' engines left)",
        on: { click: () => model.send({ kind: "cleanup_leftovers" }) },
      }) : null,
      result.message ? el("div", {
        className: result.state === "failed" || result.state === "timeout" ? "cw-problem" : "cw-action-message",
        text: result.message,
      }) : null,
    ].filter(Boolean));
  };

  // -- editor --------------------------------------------------------------
  const setEntry = (name, entry) => {
    const entries = { ...model.get("entries") };
    if (entry === undefined) delete entries[name];
    else entries[name] = entry;
    model.set("entries", entries);
    model.save_changes();
  };

  const drawEditor = () => {
    const ed = model.get("editor");
    if (!ed || !ed.kind) { editorBox.replaceChildren(); editorBox.hidden = true; return; }
    if (commitTyping(editorBox)) return; // its change redrew the editor, with the text in it
    editorBox.hidden = false;
    const entries = model.get("entries");
    const errors = model.get("errors");
    const byField = errorsByField(errors);
    const names = new Set(ed.fields.map((f) => f.name));
    const general = Object.entries(errors).filter(([key]) => !names.has(key.split(/[[.]/)[0]));
    const warned = model.get("warnings") || {};
    const fields = ed.fields.map((f) => {
      const errs = byField.get(f.name) || { messages: [], keys: new Set() };
      const onEntry = (e) => setEntry(f.name, e);
      const row = renderField(f, entries[f.name], errs.messages, errs.keys, onEntry);
      const shown = f.multiline ? asTextArea(row, onEntry) : row;
      if (warned[f.name]) shown.append(el("div", { className: "cw-warning", text: `warning: ${warned[f.name]}` }));
      return shown;
    });
    const n = Object.keys(errors).length;
    const save = el("button", {
      className: "cw-save", "data-action": "save", text: "Save", disabled: n > 0,
      title: n ? `fix ${n} field${n > 1 ? "s" : ""} first` : "validate and save this profile",
      on: { click: () => model.send({ kind: "save" }) },
    });
    const check = el("button", {
      "data-action": "check-draft", text: "Check these settings", disabled: n > 0,
      title: "run the pre-flight check on the settings as typed, before saving",
      on: { click: () => model.send({ kind: "check", deep: false, draft: true }) },
    });
    const cancel = el("button", {
      "data-action": "close", text: "Cancel", title: "close the editor; nothing is saved",
      on: { click: () => model.send({ kind: "close" }) },
    });
    const title = ed.mode === "new" ? `New ${ed.kind} profile` : `Edit “${ed.original}” (${ed.kind})`;
    // keep focus (and the caret) while re-rendering after each validation round trip
    const at = focusPath(editorBox);
    editorBox.replaceChildren(...[
      el("div", { className: "cw-editor-title", text: title }),
      el("div", { className: "cw-help", text: ed.summary }),
      general.length
        ? el("ul", { className: "cw-problems cw-editor-errors" }, general.map(([key, m]) =>
          el("li", { className: "cw-error", text: key === "profile" ? m : `${key}: ${m}` })))
        : null,
      el("div", { className: "cw-fields" }, fields),
      el("div", { className: "cw-toolbar cw-editor-buttons" }, [save, check, cancel]),
    ].filter(Boolean));
    refocus(editorBox, at);
  };

  const drawStatus = () => { status.textContent = model.get("status"); };
  const drawAllocation = () => {
    allocBox.textContent = model.get("allocation") || "";
    allocBox.hidden = !allocBox.textContent;
  };

  drawKinds();
  drawList();
  drawCheck();
  drawActions();
  drawHealth();
  drawEditor();
  drawStatus();
  drawAllocation();
  drawLeftovers();

  // profiles saved elsewhere and the block health come in on a timer, only while shown
  let refresher = null;
  const schedule = () => {
    clearInterval(refresher);
    refresher = setInterval(() => {
      if (root.isConnected && document.visibilityState !== "hidden") model.send({ kind: "refresh" });
    }, Math.max(1, model.get("refresh_interval")) * 1000);
  };
  schedule();

  const offs = [
    onChange(model, "kinds", drawKinds),
    onChange(model, "profiles", drawList),
    onChange(model, "value", () => { confirming = null; drawList(); }),
    onChange(model, "check_result", () => { drawCheck(); drawCheckButtons(); }),
    onChange(model, "actions", drawActions),
    onChange(model, "action_result", drawActions),
    onChange(model, "health", drawHealth),
    onChange(model, "editor", drawEditor),
    onChange(model, "entries", drawEditor),
    onChange(model, "errors", drawEditor),
    onChange(model, "warnings", drawEditor),
    onChange(model, "status", drawStatus),
    onChange(model, "allocation", drawAllocation),
    onChange(model, "leftovers", drawLeftovers),
    onChange(model, "leftovers_result", drawLeftovers),
    onChange(model, "refresh_interval", schedule),
  ];
  return () => {
    offs.forEach((off) => off());
    clearInterval(refresher);
    clearInterval(ticker);
    clearInterval(actionTicker);
  };
}

export default { render };
