// The Export buttons of the job table's toolbar. The kernel writes the file of the jobs the
// table shows, in its filter and order (JobTable._export in crystalwidgets/widgets/_table.py,
// the same code as JobTable.to_csv and to_extxyz), and sends it back as text in an "export"
// message; it is downloaded here as the viewer's PNG is (saveBlob, also used for a job's
// files: files.js). What the kernel says about the file
// (structures written, jobs skipped and why) is shown as text.
import { el } from "../lib/dom.js";
import { count } from "./format.js";

/** The formats offered: [format, button text, tooltip]. */
const FORMATS = [
  ["csv", "CSV", "Download the jobs shown (filter and order) as CSV, one row per job"],
  [
    "extxyz",
    "extxyz",
    "Download the final structures of the jobs shown, with energies and forces, as extended XYZ",
  ],
];
/** MIME type of each format's download. */
const TYPES = { csv: "text/csv", extxyz: "chemical/x-extxyz" };

/** Download `blob` as the file `filename` (a link clicked, its URL revoked after). */
export function saveBlob(blob, filename) {
  const link = el("a", { href: URL.createObjectURL(blob), download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/**
 * The Export group of one view.
 * @param {object} view - the view's shared state (see index.js)
 * @param {object} hooks - `say(text)`: show a line in the table's status
 * @returns {{group: HTMLElement, receive: Function, failed: Function}}
 */
export function createExport(view, { say }) {
  const { model } = view;
  const buttons = FORMATS.map(([format, text, title]) =>
    el("button", {
      type: "button",
      text,
      title,
      className: `cw-table-export-${format}`,
      on: { click: () => request(format) },
    }),
  );
  const group = el("span", { className: "cw-group cw-table-export" }, [
    el("span", { className: "cw-label", text: "Export" }),
    ...buttons,
  ]);
  let pending = false;

  function busy(value) {
    pending = value;
    for (const button of buttons) button.disabled = value;
  }

  function request(format) {
    if (pending || !view.spec) return;
    busy(true);
    say(`Exporting ${count.format(view.shown.length)} jobs as ${format}…`);
    model.send({ kind: "export", format });
  }

  /** The kernel's file (an "export" message): download it. */
  function receive(msg) {
    busy(false);
    saveBlob(new Blob([msg.text], { type: TYPES[msg.format] ?? "text/plain" }), msg.filename);
    say(`${msg.filename}: ${msg.note}`);
  }

  /** The kernel refused a request (its error is shown by the table): the buttons work again. */
  function failed() {
    busy(false);
  }

  return { group, receive, failed };
}
