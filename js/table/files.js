// The Files section of the job details: the job's work dir listed (names, sizes, modified
// times; nested quacc dirs indented under theirs), a file shown as text (the kernel sends a
// big file's end only, and refuses binary files with a note; "Show more" asks for 4x as much
// of the end, up to what the kernel's answer allows), a file or a dir downloaded
// (a zip, built by the kernel in a worker thread). Paths are the kernel's listing's, relative
// to the work dir; the kernel refuses any that leads outside it. What jobs wrote is shown
// with textContent only, never as HTML.
import { el } from "../lib/dom.js";
import { saveBlob } from "./export.js";
import { bytes, count, localTime, setText } from "./format.js";

/** At most this many entries are drawn (the rest are counted). */
const DRAWN_MAX = 2000;

/**
 * The Files section of one view (one job at a time: `reset(id)` when another opens).
 * @param {object} view - the view's shared state (see index.js)
 * @param {object} hooks - `say(text)`: a line in the table's status
 * @returns {{section: HTMLElement, reset: Function, receive: Function, failed: Function,
 *   download: Function}}
 */
export function createFiles(view, { say }) {
  const { model } = view;
  let jobId = null;
  let viewing = null; // path of the file shown as text
  let more = null; // the tail_bytes that shows more of it (the kernel's answer says)
  let keepFromEnd = null; // on "Show more": the scroll position, counted from the end

  const listButton = el("button", {
    type: "button",
    text: "Show files",
    className: "cw-files-list",
    title: "List the job's work dir",
    on: { click: () => list() },
  });
  const zipButton = el("button", {
    type: "button",
    text: "Download all (zip)",
    className: "cw-files-zip",
    title: "Download the whole work dir as a zip",
    on: { click: () => fetchFile("", true) },
  });
  const note = el("div", { className: "cw-label cw-files-note" });
  const listing = el("div", { className: "cw-files-entries", role: "list" });
  const textHead = el("div", { className: "cw-label cw-file-head" });
  const textMore = el("button", {
    type: "button",
    text: "Show more",
    className: "cw-file-more",
    hidden: true,
    on: { click: () => showMore() },
  });
  const textClose = el("button", {
    type: "button",
    text: "Close file",
    className: "cw-file-close",
    on: { click: () => showText(null) },
  });
  const text = el("pre", { className: "cw-mono cw-file-text" });
  const textBox = el("div", { className: "cw-file-view", hidden: true }, [
    el("div", { className: "cw-file-bar" }, [textHead, textMore, textClose]),
    text,
  ]);
  const section = el("section", { className: "cw-details-section cw-files" }, [
    el("h4", { text: "Files" }),
    el("div", { className: "cw-files-buttons" }, [listButton, zipButton]),
    note,
    listing,
    textBox,
  ]);

  /** Another job's details opened: forget the last one's files. */
  function reset(id) {
    if (id === jobId) return;
    jobId = id;
    listing.replaceChildren();
    setText(note, "");
    showText(null);
    listButton.disabled = false;
    setText(listButton, "Show files");
  }

  function list() {
    if (!jobId) return;
    setText(note, "Listing the work dir…");
    model.send({ kind: "files", id: jobId });
  }

  function fetchFile(path, zip) {
    if (!jobId) return;
    say(zip ? `Zipping ${path || "the work dir"}…` : `Downloading ${path}…`);
    model.send({ kind: "download", id: jobId, path, zip });
  }

  function showText(path) {
    viewing = path;
    more = null;
    textMore.hidden = true;
    textBox.hidden = path === null;
    if (path === null) return;
    setText(textHead, `${path}: loading…`);
    setText(text, "");
    model.send({ kind: "file_text", id: jobId, path });
  }

  /** More of the shown file's end; the lines being read stay where they are. */
  function showMore() {
    if (viewing === null || more === null) return;
    keepFromEnd = text.scrollHeight - text.scrollTop;
    textMore.disabled = true;
    setText(textHead, `${viewing}: loading the last ${bytes(more)}…`);
    model.send({ kind: "file_text", id: jobId, path: viewing, tail_bytes: more });
  }

  function entryRow([path, size, modified, kind]) {
    const parts = path.split("/");
    const name = parts[parts.length - 1] + (kind === "dir" ? "/" : "");
    const button = (label, title, onClick, className) =>
      el("button", { type: "button", text: label, title, className, on: { click: onClick } });
    const actions =
      kind === "file"
        ? [
            button("View", `Show ${path} as text`, () => showText(path), "cw-file-view-button"),
            button("Download", `Download ${path}`, () => fetchFile(path, false), "cw-file-download"),
          ]
        : kind === "dir"
          ? [button("Zip", `Download ${path} as a zip`, () => fetchFile(path, true), "cw-file-zip")]
          : [el("span", { className: "cw-label", text: "link, not followed" })];
    return el("div", { className: `cw-file cw-file-${kind}`, role: "listitem", dataset: { path } }, [
      el("span", {
        className: "cw-file-name cw-mono",
        text: name,
        title: path,
        style: { paddingLeft: `${(parts.length - 1) * 14}px` },
      }),
      el("span", { className: "cw-file-size", text: kind === "file" ? bytes(size) : "" }),
      el("span", { className: "cw-file-time", text: localTime(modified) }),
      el("span", { className: "cw-file-actions" }, actions),
    ]);
  }

  /** The kernel's answer: a "files" listing or a "file_text". */
  function receive(msg) {
    if (msg.id !== jobId) return;
    if (msg.kind === "files") {
      const drawn = msg.entries.slice(0, DRAWN_MAX);
      listing.replaceChildren(...drawn.map(entryRow));
      const n = msg.entries.filter((e) => e[3] === "file").length;
      const more = msg.entries.length - drawn.length;
      setText(
        note,
        `${count.format(n)} file${n === 1 ? "" : "s"}` +
          (more ? `; ${count.format(more)} more entries not drawn` : "") +
          (msg.truncated ? "; the list was cut: the work dir holds more" : ""),
      );
      setText(listButton, "Refresh files");
    } else if (msg.kind === "file_text" && msg.path === viewing) {
      setText(textHead, `${msg.path} (${bytes(msg.size)})${msg.note ? `: ${msg.note}` : ""}`);
      setText(text, msg.text ?? "");
      text.hidden = msg.text === null;
      textBox.dataset.path = msg.path;
      textBox.dataset.binary = String(msg.text === null);
      more = msg.more ?? null;
      textMore.hidden = more === null;
      textMore.disabled = false;
      if (more !== null) {
        setText(textMore, `Show more (the last ${bytes(more)})`);
        textMore.title = `Show the last ${bytes(more)} of ${msg.path}`;
      }
      // a log's end is what one looks for; after "Show more", the lines read before stay put
      text.scrollTop = text.scrollHeight - (keepFromEnd ?? 0);
      keepFromEnd = null;
    }
  }

  /** A refused request for this job: say it where the user looked. */
  function failed(msg) {
    if (msg.id !== jobId) return;
    if (!textBox.hidden && textHead.textContent.endsWith("…")) {
      setText(textHead, msg.message);
      textMore.disabled = false;
      keepFromEnd = null;
    }
    else if (note.textContent.startsWith("Listing")) setText(note, msg.message);
  }

  /** A file or zip from the kernel (a "download" message and its one buffer). */
  function download(msg, buffers) {
    const data = buffers?.[0];
    if (!data) {
      say(`${msg.filename}: no data came with it`);
      return;
    }
    saveBlob(new Blob([data], { type: msg.mime }), msg.filename);
    say(msg.note);
  }

  return { section, reset, receive, failed, download };
}
