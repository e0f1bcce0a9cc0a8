"""A job's work dir as files to look at: list, read as text (the tail of a big file), bytes, zip.

Every path is relative to the work dir and must stay inside it: absolute paths, ``..`` and
symbolic links that lead outside are refused (:class:`~crystalwidgets.errors.CrystalWidgetsError`
naming the path). Reads are bounded: a text view reads at most ``tail_bytes`` from the end
of a file (a 1 GB OUTCAR costs 64 KB), a download and a zip at most :data:`SEND_MAX_BYTES`,
so nothing here holds a whole big file in memory. What jobs wrote is untrusted: it is
returned as text (decoded with replacement characters) for callers to show as text.

Works for the work dir of any runner that is readable from this kernel (the local runner's,
a cluster's on a shared filesystem); otherwise the error says it is not readable here.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import CrystalWidgetsError

__all__ = [
    "FileEntry",
    "FileText",
    "GZ_MAX_BYTES",
    "JobFiles",
    "LIST_MAX_ENTRIES",
    "SEND_MAX_BYTES",
    "TAIL_BYTES",
    "VIEW_MAX_BYTES",
]

#: The end of a file a text view shows (bytes).
TAIL_BYTES = 64 * 1024
#: The most of a file's end a text view shows after "Show more" (each asks 4x the last).
VIEW_MAX_BYTES = 4 * 1024 * 1024
#: Largest file (or sum of the files of a zip) sent at once: a download or a zip over it is refused.
SEND_MAX_BYTES = 50 * 1024 * 1024
#: At most this many entries are listed (a dir with more says so).
LIST_MAX_ENTRIES = 5_000
#: At most this much of a gzipped file's text is read (decompressed, streamed) for a text view.
GZ_MAX_BYTES = 512 * 1024 * 1024
#: Bytes read from the start of a file to tell text from binary.
_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class FileEntry:
    """One entry of a work dir.

    Attributes
    ----------
    path : str
        Relative to the work dir, with ``/`` (``quacc-2026-.../opt.log``).
    size : int
        Bytes (0 for a directory).
    modified : float
        Modification time, epoch seconds.
    kind : str
        ``"file"``, ``"dir"`` or ``"link"`` (a symbolic link, not followed).
    """

    path: str
    size: int
    modified: float
    kind: str


@dataclass(frozen=True)
class FileText:
    """Text of a file, or of its end.

    Attributes
    ----------
    path : str
        Relative to the work dir.
    size : int
        The file's size in bytes.
    start : int
        Offset of the first byte shown (0: from the start).
    text : str or None
        The text (None for a binary file).
    note : str
        What is shown ("the last 64 KB of 1.2 GB", "binary file: not shown") or "".
    more : int or None
        The ``tail_bytes`` that shows more of the file's end (4x this one's, at most
        :data:`VIEW_MAX_BYTES`); None when the whole text is shown or a view shows no more.
    """

    path: str
    size: int
    start: int
    text: str | None
    note: str
    more: int | None = None


def _partial(view: FileText, tail_bytes: int) -> FileText:
    """``view`` with how to show more of the file, or, at the most a view shows, where the rest is."""
    if not view.start:
        return view
    if tail_bytes < VIEW_MAX_BYTES:
        return replace(view, more=min(4 * tail_bytes, VIEW_MAX_BYTES))
    return replace(view, note=f"{view.note}; download the file for the rest")


def human_size(n: float) -> str:
    """``n`` bytes as ``"812 B"``, ``"64 KB"``, ``"1.2 GB"``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" or n >= 10 else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # unreachable


def _tree_order(entry: FileEntry) -> list[str]:
    """Each dir followed by what it holds, by name."""
    return entry.path.split("/")


def _from_line_start(data: bytes, start: int) -> tuple[bytes, int]:
    """The end of a file read from offset ``start``, from its first whole line (when not 0)."""
    if start:
        newline = data.find(b"\n")
        if 0 <= newline < len(data) - 1:
            return data[newline + 1 :], start + newline + 1
    return data, start


def _is_binary(chunk: bytes) -> bool:
    if b"\0" in chunk:
        return True
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the chunk is still text
        return exc.start < len(chunk) - 4
    return False


class JobFiles:
    """The files of one job's work dir (:meth:`JobManager.files`).

    Parameters
    ----------
    work_dir : str or os.PathLike
        The job's work dir.
    job : str
        How errors name the job (its short id).

    Examples
    --------
    >>> files = mgr.files(job.id)  # doctest: +SKIP
    >>> [e.path for e in files.list()]  # doctest: +SKIP
    >>> print(files.text("cw-stdout.txt").text)  # doctest: +SKIP
    >>> files.zip("job.zip")  # doctest: +SKIP
    """

    def __init__(self, work_dir: str | os.PathLike, job: str = "") -> None:
        self.root = Path(work_dir)
        self.job = job

    def __repr__(self) -> str:
        return f"JobFiles({self.job or str(self.root)!r})"

    # -- paths -----------------------------------------------------------------

    def _real_root(self) -> Path:
        try:
            real = self.root.resolve(strict=True)
        except OSError:
            real = None
        if real is None or not real.is_dir() or not os.access(real, os.R_OK | os.X_OK):
            raise CrystalWidgetsError(
                f"job {self.job}: its work dir {self.root} is not readable from this kernel (gone, or on "
                "a filesystem of the cluster that this machine does not mount); look at it where it ran"
            )
        return real

    def path(self, relative: str) -> Path:
        """The real path of ``relative`` inside the work dir.

        Raises
        ------
        CrystalWidgetsError
            When ``relative`` is absolute, has ``..``, or leads outside the work dir through a
            symbolic link, or does not exist.
        """
        if not isinstance(relative, str) or not relative or "\0" in relative:
            raise CrystalWidgetsError(f"path: expected a file's path inside the work dir of job {self.job}, got {relative!r}")
        parts = relative.replace("\\", "/").split("/")
        if relative.startswith("/") or os.path.isabs(relative) or ".." in parts:
            raise CrystalWidgetsError(
                f"path {relative!r}: refused, it leads outside the work dir of job {self.job}; give a "
                "path relative to it, without '..' (as files.list() names them)"
            )
        root = self._real_root()
        real = (root / relative).resolve()
        if real != root and root not in real.parents:
            raise CrystalWidgetsError(
                f"path {relative!r}: refused, it is a symbolic link (or inside one) that leads outside "
                f"the work dir of job {self.job}"
            )
        if not real.exists():
            raise CrystalWidgetsError(f"path {relative!r}: no such file in the work dir of job {self.job}; see files.list()")
        return real

    def _file(self, relative: str) -> tuple[Path, os.stat_result]:
        real = self.path(relative)
        info = real.stat()
        if not stat.S_ISREG(info.st_mode):
            raise CrystalWidgetsError(f"path {relative!r}: not a file (a directory?) in the work dir of job {self.job}")
        return real, info

    # -- reading ---------------------------------------------------------------

    def list(self, max_entries: int = LIST_MAX_ENTRIES) -> tuple[list[FileEntry], bool]:
        """Every file and directory under the work dir, depth first, by name.

        Symbolic links are listed as links, never followed. Returns the entries and whether
        the list was cut at ``max_entries``.
        """
        root = self._real_root()
        entries: list[FileEntry] = []
        stack: list[tuple[Path, str]] = [(root, "")]
        while stack:
            folder, prefix = stack.pop()
            try:
                with os.scandir(folder) as it:
                    found = sorted(it, key=lambda e: e.name)
            except OSError:
                continue  # unreadable subdir: what it holds is not listed
            subdirs = []
            for entry in found:
                if len(entries) >= max_entries:
                    entries.sort(key=_tree_order)
                    return entries, True
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                rel = f"{prefix}{entry.name}"
                if stat.S_ISLNK(info.st_mode):
                    kind = "link"
                elif stat.S_ISDIR(info.st_mode):
                    kind = "dir"
                    subdirs.append((Path(entry.path), f"{rel}/"))
                else:
                    kind = "file"
                entries.append(FileEntry(rel, info.st_size if kind == "file" else 0, info.st_mtime, kind))
            stack.extend(reversed(subdirs))
        entries.sort(key=_tree_order)
        return entries, False

    def text(self, relative: str, tail_bytes: int = TAIL_BYTES) -> FileText:
        """The text of a file, or its last ``tail_bytes`` bytes (from a line start) when bigger.

        A gzipped file (quacc compresses its logs when a job ends: ``opt.log.gz``) shows its
        decompressed text, streamed (at most :data:`GZ_MAX_BYTES` of it). A binary file (NUL
        bytes, not UTF-8) gives ``text=None`` and a note saying so.
        """
        if not isinstance(tail_bytes, int) or isinstance(tail_bytes, bool) or tail_bytes < 1:
            raise CrystalWidgetsError(f"tail_bytes: expected a positive number of bytes, got {tail_bytes!r}")
        real, info = self._file(relative)
        size = info.st_size
        binary = FileText(relative, size, 0, None, f"binary file ({human_size(size)}): not shown as text; download it")
        if real.name.endswith(".gz"):
            try:
                return self._gz_text(relative, real, size, tail_bytes) or binary
            except (OSError, EOFError, zlib.error):  # not gzip after all
                pass
        with open(real, "rb") as fh:
            if _is_binary(fh.read(_SNIFF_BYTES)):
                return binary
            start = max(0, size - tail_bytes)
            fh.seek(start)
            data = fh.read(tail_bytes)
        if b"\0" in data:
            return binary
        data, start = _from_line_start(data, start)
        note = f"the last {human_size(len(data))} of {human_size(size)}" if start else ""
        return _partial(FileText(relative, size, start, data.decode("utf-8", "replace"), note), tail_bytes)

    @staticmethod
    def _gz_text(relative: str, real: Path, size: int, tail_bytes: int) -> FileText | None:
        """A gzipped file's text (its end), or None when it is binary inside."""
        tail = bytearray()
        total = 0
        with gzip.open(real, "rb") as fh:
            if _is_binary(first := fh.read(_SNIFF_BYTES)):
                return None
            chunk = first
            while chunk:
                total += len(chunk)
                tail += chunk
                if len(tail) > tail_bytes:
                    del tail[: len(tail) - tail_bytes]
                if total >= GZ_MAX_BYTES:
                    break
                chunk = fh.read(1 << 20)
            longer = bool(chunk) and bool(fh.read(1))
        if b"\0" in tail:
            return None
        data, start = _from_line_start(bytes(tail), total - len(tail))
        note = f"{human_size(size)} gzipped, {human_size(total)}{' and more' if longer else ''} of text"
        if start:
            note = f"the last {human_size(len(data))} of {note}"
        return _partial(FileText(relative, size, start, data.decode("utf-8", "replace"), note), tail_bytes)

    def read_bytes(self, relative: str, max_bytes: int = SEND_MAX_BYTES) -> bytes:
        """A whole file's bytes, when it has at most ``max_bytes``."""
        real, info = self._file(relative)
        if info.st_size > max_bytes:
            raise CrystalWidgetsError(
                f"{relative}: {human_size(info.st_size)}, too big to send (more than {human_size(max_bytes)}); "
                f"copy it from the work dir instead: {self.root}"
            )
        with open(real, "rb") as fh:
            return fh.read(max_bytes + 1)[:max_bytes]

    def zip(self, destination: Any = None, *, under: str = "", max_bytes: int = SEND_MAX_BYTES) -> bytes | None:
        """A zip of the work dir (or of its subdir ``under``): written to ``destination`` (a
        path, created 0600 and never over an existing file) or returned as bytes.

        Symbolic links are left out. Refused, before anything is read, when the files add up
        to more than ``max_bytes``.
        """
        base = self.path(under) if under else self._real_root()
        if not base.is_dir():
            raise CrystalWidgetsError(f"under {under!r}: not a directory of the work dir of job {self.job}")
        entries, cut = self.list()
        prefix = f"{under.rstrip('/')}/" if under else ""
        files = [e for e in entries if e.kind == "file" and e.path.startswith(prefix)]
        total = sum(e.size for e in files)
        if cut or total > max_bytes:
            raise CrystalWidgetsError(
                f"job {self.job}: the work dir holds {human_size(total)}{' in more than ' + str(LIST_MAX_ENTRIES) + ' files' if cut else ''}, "
                f"over the {human_size(max_bytes)} a zip may hold; zip it where it is instead: {self.root}"
            )
        buffer = io.BytesIO()
        name = self.root.name + (f"/{under.rstrip('/')}" if under else "")
        left = max_bytes  # files that grew since they were listed are cut there
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for entry in files:
                real = self.path(entry.path)  # checked again: it may have changed since listed
                with open(real, "rb") as src, archive.open(f"{name}/{entry.path[len(prefix):]}", "w") as dst:
                    while left > 0 and (chunk := src.read(min(1 << 20, left))):
                        dst.write(chunk)
                        left -= len(chunk)
        data = buffer.getvalue()
        if destination is None:
            return data
        fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return None
