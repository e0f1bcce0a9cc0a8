"""What the JobTable does to jobs beyond showing them: bulk cancel and resubmit of the
selected rows, "Use as template", and a job's files (list, view as text, download, zip).

The logic is the core's (:meth:`JobManager.cancel_many`, ``resubmit_many``, ``template``,
``files``: :mod:`crystalwidgets.jobs.workdir`); this mixin answers the browser's messages
(:mod:`._messages`) with it. Reading files runs in a worker thread, its answer sent from the
kernel's loop; bytes of a download travel as the message's buffer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from .._loop import call_in_kernel, running_loop
from ..errors import CrystalWidgetsError
from ..jobs.actions import BulkReport
from ..jobs.workdir import TAIL_BYTES, VIEW_MAX_BYTES, human_size
from ._messages import BulkDone, Download, Files, FileText, Status

__all__ = ["BULK_MAX", "TableActions"]

log = logging.getLogger(__name__)

#: Most jobs one bulk request may act on.
BULK_MAX = 5_000
#: Jobs acted on between two turns of the kernel's loop.
BULK_SLICE = 25


class TableActions:
    """Mixin of :class:`~._table.JobTable`: the handlers of its row and file messages."""

    manager: Any
    details_id: str
    can_template: bool

    def _init_actions(self) -> None:
        self._template_callback: Callable[[Any], Any] | None = None
        self._file_work: set[str] = set()  # kinds of file requests being answered

    # -- public API ----------------------------------------------------------

    def on_template(self, callback: Callable[[Any], Any] | None) -> None:
        """Offer "Use as template" in the details: it calls ``callback(template)`` with the
        job's :class:`~crystalwidgets.jobs.actions.JobTemplate` (structure, recipe,
        parameters, profile). The App wires its form here; ``None`` takes the offer back.
        Without a callback the table shows no such button and :meth:`use_as_template` refuses.
        """
        self._template_callback = callback
        self.set_trait("can_template", callback is not None)  # type: ignore[attr-defined]

    def use_as_template(self, job_id: str) -> Any:
        """Send a job's structure, recipe and parameters to the form wired by :meth:`on_template`
        (in an App: its form, to edit and submit); returns what the callback returns.

        Raises
        ------
        CrystalWidgetsError
            When no form is wired, or the job's inputs cannot be read.
        """
        if self._template_callback is None:
            raise CrystalWidgetsError(
                "this JobTable sends templates to no form: use the App (App(mgr).use_as_template(job_id)), "
                "or wire one with table.on_template(callback); from code, mgr.template(job_id) gives "
                "the structure, recipe and parameters"
            )
        return self._template_callback(self.manager.template(job_id))

    # -- messages ------------------------------------------------------------

    def _action_handlers(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        return {
            "bulk": self._bulk,
            "template": self._template,
            "files": lambda m: self._file_request("files", m, self._list_files),
            "file_text": lambda m: self._file_request("file_text", m, self._file_text),
            "download": lambda m: self._file_request("download", m, self._download),
        }

    def _bulk(self, content: dict[str, Any]) -> None:
        action = content.get("action")
        ids = content.get("ids")
        if action not in ("cancel", "resubmit") or not isinstance(ids, list):
            self._send_error(f"cannot act on jobs: unknown action {action!r} or ids not a list; use cancel or resubmit")
            return
        if len(ids) > BULK_MAX:
            self._send_error(f"cannot {action} {len(ids):,} jobs at once: at most {BULK_MAX:,}; select fewer")
            return
        ids = [str(i) for i in ids]
        act = self.manager.cancel_many if action == "cancel" else self.manager.resubmit_many
        loop = running_loop()
        if loop is None:  # a script: at once
            self._bulk_done(action, act, ids)
        else:  # in slices, so the kernel answers between them (a resubmit takes ms per job)
            loop.create_task(self._bulk_sliced(action, act, ids))

    async def _bulk_sliced(self, action: str, act: Callable[[list[str]], Any], ids: list[str]) -> None:
        reports = []
        for start in range(0, len(ids), BULK_SLICE):
            reports.append(self._bulk_done(action, act, ids[start : start + BULK_SLICE], send=False))
            if reports[-1] is None:
                return
            await asyncio.sleep(0)
        self._send_bulk(action, BulkReport.merged(action, reports))

    def _bulk_done(self, action: str, act: Callable[[list[str]], Any], ids: list[str], send: bool = True) -> Any:
        try:
            report = act(ids)
        except CrystalWidgetsError as exc:  # the manager is closed
            self._send_error(f"cannot {action}: {exc}")
            return None
        if send:
            self._send_bulk(action, report)
        return report

    def _send_bulk(self, action: str, report: Any) -> None:
        if self.comm is None:  # type: ignore[attr-defined] - closed meanwhile
            return
        message: BulkDone = {
            "kind": "bulk",
            "action": action,
            "message": str(report),
            "outcomes": report.outcomes,
            "new_ids": report.new_ids,
        }
        self.send(message)  # type: ignore[attr-defined]

    def _template(self, content: dict[str, Any]) -> None:
        job_id = str(content.get("id", ""))
        try:
            said = self.use_as_template(job_id)
        except (KeyError, CrystalWidgetsError) as exc:
            self._send_error(f"cannot use as template: {exc.args[0] if isinstance(exc, KeyError) else exc}", job_id)
            return
        status: Status = {"kind": "status", "message": str(said) if isinstance(said, str) else f"job {job_id[:8]} is in the form"}
        self.send(status)

    def _file_request(self, kind: str, content: dict[str, Any], work: Callable[[Any, dict[str, Any]], Any]) -> None:
        """Answer a file request in a worker thread (one of each kind at a time)."""
        job_id = str(content.get("id", ""))
        if kind in self._file_work:
            self._send_error(f"cannot {kind.replace('_', ' ')}: the previous request is still being answered; wait for it", job_id)
            return
        try:
            files = self.manager.files(job_id)
        except KeyError as exc:
            self._send_error(f"cannot read files: {exc.args[0]}", job_id)
            return
        self._file_work.add(kind)
        loop = running_loop()

        def run() -> None:
            try:
                answer = work(files, content)
            except CrystalWidgetsError as exc:
                call_in_kernel(loop, self._file_answer, kind, job_id, None, str(exc))
            except Exception as exc:  # noqa: BLE001 - an unreadable file: say so
                log.exception("reading the files of job %s failed", job_id)
                call_in_kernel(loop, self._file_answer, kind, job_id, None, f"{type(exc).__name__}: {exc}")
            else:
                call_in_kernel(loop, self._file_answer, kind, job_id, answer, None)

        threading.Thread(target=run, name=f"cw-table-{kind}", daemon=True).start()

    def _file_answer(self, kind: str, job_id: str, answer: Any, error: str | None) -> None:
        self._file_work.discard(kind)
        if self.comm is None:  # type: ignore[attr-defined] - closed meanwhile
            return
        if error is not None:
            self._send_error(error, job_id)
            return
        message, buffers = answer
        self.send(message, buffers)  # type: ignore[attr-defined]

    # -- the work (worker threads) ----------------------------------------------

    @staticmethod
    def _list_files(files: Any, content: dict[str, Any]) -> tuple[Files, None]:
        entries, cut = files.list()
        message: Files = {
            "kind": "files",
            "id": str(content["id"]),
            "entries": [[e.path, e.size, round(e.modified, 3), e.kind] for e in entries],
            "truncated": cut,
        }
        return message, None

    @staticmethod
    def _file_text(files: Any, content: dict[str, Any]) -> tuple[FileText, None]:
        tail = content.get("tail_bytes", TAIL_BYTES)
        if not isinstance(tail, int) or isinstance(tail, bool) or not 1 <= tail <= VIEW_MAX_BYTES:
            raise CrystalWidgetsError(
                f"tail_bytes: {tail!r} is not a number of bytes from 1 to {human_size(VIEW_MAX_BYTES)}; "
                "download the file to read more of it"
            )
        view = files.text(str(content.get("path", "")), tail_bytes=tail)
        message: FileText = {
            "kind": "file_text",
            "id": str(content["id"]),
            "path": view.path,
            "size": view.size,
            "start": view.start,
            "text": view.text,
            "note": view.note,
            "more": view.more,
        }
        return message, None

    @staticmethod
    def _download(files: Any, content: dict[str, Any]) -> tuple[Download, list[bytes]]:
        path = str(content.get("path", ""))
        job = str(content["id"])
        if content.get("zip"):
            data = files.zip(under=path)
            name = f"job-{job[:8]}{'-' + path.strip('/').replace('/', '-') if path else ''}.zip"
            mime, note = "application/zip", f"{name}: {human_size(len(data))} zipped"
        else:
            data = files.read_bytes(path)
            name = os.path.basename(path)
            mime, note = "application/octet-stream", f"{name}: {human_size(len(data))}"
        message: Download = {"kind": "download", "id": job, "filename": name, "mime": mime, "size": len(data), "note": note}
        return message, [data]
