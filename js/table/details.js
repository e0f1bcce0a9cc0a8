// The details panel of the job table, under the rows: facts, the error text, the energy per
// optimiser step, the parameters, and the job's structure in a StructureViewer (a widget of
// its own, the JobTable's `viewer` trait, drawn inside the panel). Filled from the kernel's
// "details" message (Details in crystalwidgets/widgets/_messages.py). Its buttons: Resubmit
// (the same job again, as a new one), Use as template (only when the table's `can_template`
// says a form takes it: in the App), and the Files section (files.js).
import { el, send } from "../lib/dom.js";
import { createFiles } from "./files.js";
import { frameOfStep } from "../lib/frames.js";
import { linePlot } from "../lib/plot.js";
import { localTime, setText } from "./format.js";

function section(title, ...children) {
  return el("section", { className: "cw-details-section" }, [
    el("h4", { text: title }),
    ...children,
  ]);
}

/**
 * The details panel of one view.
 * @param {object} view - the view's shared state (see index.js)
 * @param {object} options - `host`: anywidget's host (for the viewer widget); `paint()`:
 *   redraw the rows (the open job's row is marked); `say(text)`: a line in the status
 * @returns {{panel: HTMLElement, open: Function, show: Function, onViewer: Function,
 *   files: object, redraw: Function, cleanup: Function}}
 */
export function createDetails(view, { host, paint, say }) {
  const { model } = view;
  const files = createFiles(view, { say });
  let last = null; // the last details message shown
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
  const panel = el("div", { className: "cw-details", hidden: true }, [
    el("div", { className: "cw-details-head" }, [detailsTitle, detailsClose]),
    el("div", { className: "cw-details-columns" }, [detailsInfo, viewerPane]),
  ]);

  let viewerRef = null;
  let viewerAbort = null;

  /** Show or hide the panel for `details_id`; "Loading details…" until its message comes. */
  function open() {
    const id = model.get("details_id");
    panel.hidden = !id;
    paint();
    if (!id) return;
    files.reset(id);
    if (detailsInfo.dataset.id !== id) {
      const row = view.rows.get(id);
      const recipe = row ? ` · ${row[view.spec.fields.recipe]}` : "";
      setText(detailsTitle, `Job ${id.slice(0, 8)}${recipe}`);
      detailsInfo.dataset.id = id;
      detailsInfo.replaceChildren(el("div", { className: "cw-label", text: "Loading details…" }));
      viewerPane.hidden = true;
    }
  }

  const num = (x, digits) => (typeof x === "number" ? x.toFixed(digits) : null);

  /** Fill the panel from a "details" message (ignored when another job is open by now). */
  function show(d) {
    if (d.id !== model.get("details_id")) return;
    last = d;
    view.skewMs = d.now * 1000 - Date.now();
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
      [
        summary.progress ? "Steps so far" : summary.kind === "md" ? "MD steps" : "Optimiser steps",
        summary.n_steps,
      ],
      ["Temperature (K)", num(summary.temperature_k, 1)],
      ["Band gap (eV)", num(summary.band_gap_ev, 4)],
      ["Fermi level (eV)", num(summary.efermi_ev, 4)],
      ["Magnetisation (μB)", num(summary.total_magnetization, 4)],
      ["Custodian restarts", summary.custodian_restarts],
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
    const corrections = summary.custodian_corrections;
    if (Array.isArray(corrections) && corrections.length) {
      parts.push(
        section(
          "Custodian corrections",
          el("ol", { className: "cw-details-corrections" },
            corrections.map((c) => el("li", { className: "cw-mono", text: String(c.text ?? "") }))),
        ),
      );
    }
    const energies = summary.energies_ev;
    if (Array.isArray(energies) && energies.length >= 2) {
      parts.push(
        section(
          summary.progress ? "Energy per step (so far: the job is running)" : "Energy per step",
          linePlot(energies, {
            width: 380,
            height: 210,
            xLabel: summary.kind === "md" ? "MD step" : "optimiser step",
            yLabel: "energy (eV)",
            digits: 4,
            title: `energy per optimiser step of job ${d.id.slice(0, 8)}` +
              " (click a step to show it in the structure view)",
            onPick: showStep,
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
    const button = (text, className, title, onClick) =>
      el("button", { type: "button", text, className, title, on: { click: onClick } });
    const actions = [
      button("Resubmit", "cw-resubmit", "Submit this job again (same structure, recipe, parameters, profile) as a new job", () => {
        say(`Resubmitting ${d.id.slice(0, 8)}…`);
        model.send({ kind: "bulk", action: "resubmit", ids: [d.id] });
      }),
    ];
    if (model.get("can_template")) {
      actions.unshift(
        button("Use as template", "cw-template", "Put this job's structure, recipe and parameters into the form, to edit and submit a variant", () =>
          model.send({ kind: "template", id: d.id }),
        ),
      );
    }
    parts.unshift(el("div", { className: "cw-details-actions cw-job-actions" }, actions));
    parts.push(files.section);
    if (summary.unconverged) {
      // a relaxation that stopped before converging: its steps are kept; go on from the last
      parts.unshift(
        el("div", { className: "cw-details-actions" }, [
          el("span", {
            className: "cw-label",
            text: `Not converged after ${summary.n_steps} steps: its steps and last structure are kept.`,
          }),
          el("button", {
            type: "button",
            className: "cw-continue",
            text: "Continue from the last structure",
            title: "Submit a new job with the same recipe and parameters, starting from this job's last step",
            on: { click: () => model.send({ kind: "continue", id: d.id }) },
          }),
        ]),
      );
    }
    detailsInfo.dataset.id = d.id;
    detailsInfo.replaceChildren(...parts);
    const label =
      { final: "Final structure", input: "Input structure" }[d.structure] ?? "Structure";
    setText(viewerNote, d.structure_note ? `${label}: ${d.structure_note}` : label);
    viewerPane.hidden = !d.structure && !d.structure_note;
    viewerBox.hidden = !d.structure;
    if (d.structure) showViewer();
  }

  /** Show optimiser/MD step `step` in the viewer: its nearest frame (a click on the plot). */
  async function showStep(step) {
    const ref = model.get("viewer");
    if (!ref || !host?.getModel) return;
    const viewerModel = await host.getModel(ref);
    const steps = viewerModel.get("_frames_meta")?.steps ?? [];
    if (!steps.length) return;
    viewerModel.set("frame", frameOfStep(steps, step));
    viewerModel.save_changes();
  }

  /** Draw the `viewer` widget in the panel (once per widget; again when it is replaced). */
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

  /** The `viewer` trait changed: draw the new one if the structure is on show. */
  function onViewer() {
    if (!viewerBox.hidden) showViewer();
  }

  /** Draw the last details again (the table's `can_template` changed). */
  function redraw() {
    if (last && last.id === model.get("details_id")) show(last);
  }

  return { panel, open, show, onViewer, files, redraw, cleanup: () => viewerAbort?.abort() };
}
