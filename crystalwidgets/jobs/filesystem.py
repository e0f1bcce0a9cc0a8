"""Which filesystem holds the job store, and which SQLite journal mode is safe there.

SQLite's WAL mode keeps its index in shared memory (the ``-shm`` file, mmap'ed), which
only works when every process using the database runs on one host: "WAL does not work
over a network filesystem" (sqlite.org/wal.html). At HPC centres ``$HOME``, and so the
default store, is on NFS, GPFS or Lustre, and a user may have kernels on two login
nodes and inside a Slurm job at once. So:

- local filesystem (ext4, xfs, btrfs, tmpfs, ...): ``WAL``, ``synchronous=NORMAL``;
- network filesystem whose locks reach the server (NFS with locking, Lustre mounted
  with ``flock``, GPFS, CephFS, BeeGFS, CIFS/SMB with byte-range locks):
  the rollback journal (``DELETE``) with SQLite's normal POSIX locking and
  ``synchronous=FULL``, what sqlite.org/useovernet.html names as the mode that can
  work over a network;
- network filesystem whose locks stay on this host (NFS ``nolock`` / ``local_lock``,
  Lustre ``localflock`` / ``noflock``, CIFS ``nobrl``, sshfs, 9p): refused, before
  anything is written, with a message naming ``CRYSTALWIDGETS_HOME``: without working
  locks two kernels on two hosts corrupt the file whatever the journal mode.

The type is read from ``/proc/self/mountinfo`` (the mount point that is the longest
prefix of the store's real path), not from ``statvfs``, which does not say it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "NETWORK_TYPES",
    "JournalChoice",
    "Mount",
    "UnsafeFilesystem",
    "journal_for",
    "mount_of",
    "parse_mountinfo",
]

#: Filesystem types (as mountinfo names them) on which other hosts may open the same file.
NETWORK_TYPES = frozenset(
    {
        "nfs", "nfs4", "lustre", "gpfs", "cifs", "smb3", "smbfs", "beegfs", "ceph",
        "fuse.ceph", "fuse.cephfs", "glusterfs", "fuse.glusterfs", "9p", "fuse.sshfs",
        "afs", "ocfs2", "gfs2", "panfs", "fuse.weka", "wekafs", "fuse.gcsfuse", "fuse.s3fs",
    }
)
#: Network types whose locks never leave this host, whatever the mount options.
_HOST_LOCAL_LOCKS = frozenset({"9p", "fuse.sshfs", "fuse.gcsfuse", "fuse.s3fs"})
#: Mount options that keep locks on this host (per type).
_LOCAL_LOCK_OPTIONS = {
    "nfs": ("nolock", "local_lock=all", "local_lock=posix"),
    "nfs4": ("nolock", "local_lock=all", "local_lock=posix"),
    "lustre": ("localflock", "noflock"),
    "cifs": ("nobrl",),
    "smb3": ("nobrl",),
}


class Mount(NamedTuple):
    """One line of ``/proc/self/mountinfo``: where, what type, from where, with which options."""

    mount_point: str
    fstype: str
    source: str = ""
    options: frozenset[str] = frozenset()

    @property
    def is_network(self) -> bool:
        """Whether processes on other hosts may open files here."""
        return self.fstype in NETWORK_TYPES or self.fstype.split(".")[0] in NETWORK_TYPES


class JournalChoice(NamedTuple):
    """The journal mode and ``synchronous`` level for a store, and why."""

    journal_mode: str
    synchronous: str
    reason: str


class UnsafeFilesystem(Exception):
    """The store's filesystem cannot lock across hosts: SQLite would corrupt it there."""


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as \040, \011, \012, \134
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and len(field[i + 1 : i + 4]) == 3 and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    """The mounts in ``text`` (the format of ``/proc/self/mountinfo``, see proc(5)).

    Each line: id, parent, major:minor, root, mount point, mount options, optional
    fields ended by ``-``, then type, source and super options. Lines that do not
    parse are skipped.
    """
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 6 or len(tail) < 2:
            continue
        options = set(fields[5].split(","))
        if len(tail) > 2:
            options.update(tail[2].split(","))
        mounts.append(Mount(_unescape(fields[4]), tail[0], _unescape(tail[1]), frozenset(options)))
    return mounts


def _real(path: Path) -> Path:
    """``path`` with symlinks resolved in the part that exists (the store may not exist yet)."""
    path = Path(os.path.abspath(path))
    head, tail = path, []
    while not head.exists() and head != head.parent:
        tail.append(head.name)
        head = head.parent
    return head.resolve().joinpath(*reversed(tail))


def mount_of(path: str | os.PathLike, mounts: list[Mount] | None = None) -> Mount | None:
    """The mount holding ``path``: the mount point that is its longest prefix.

    ``mounts`` defaults to this process's ``/proc/self/mountinfo``; None when it cannot
    be read (not Linux).
    """
    if mounts is None:
        try:
            mounts = parse_mountinfo(Path("/proc/self/mountinfo").read_text())
        except OSError:
            return None
    target = str(_real(Path(path)))
    best: Mount | None = None
    for mount in mounts:  # a later mount over the same point hides the earlier: keep the last
        point = mount.mount_point.rstrip("/") or "/"
        if target == point or target.startswith(point.rstrip("/") + "/"):
            if best is None or len(point) >= len(best.mount_point.rstrip("/") or "/"):
                best = mount
    return best


def journal_for(mount: Mount | None, where: str | os.PathLike) -> JournalChoice:
    """The journal mode that is safe for a store on ``mount``.

    Raises
    ------
    UnsafeFilesystem
        When locks on that filesystem stay on this host (see the module's docstring);
        the message names the type, the option and the way out (``CRYSTALWIDGETS_HOME``).
    """
    if mount is None or not mount.is_network:
        kind = mount.fstype if mount else "unknown (no /proc/self/mountinfo)"
        return JournalChoice("WAL", "NORMAL", f"local filesystem ({kind})")
    fix = (
        "set CRYSTALWIDGETS_HOME to a directory on a node-local disk (e.g. under /tmp or "
        "$TMPDIR; jobs are then seen only from this host), or on a filesystem with "
        "working locks (NFS with locking, Lustre mounted with -o flock, GPFS)"
    )
    local_opts = [o for o in _LOCAL_LOCK_OPTIONS.get(mount.fstype, ()) if o in mount.options]
    if mount.fstype in _HOST_LOCAL_LOCKS or local_opts:
        why = f"mounted with {', '.join(local_opts)}" if local_opts else "its locks never leave this host"
        raise UnsafeFilesystem(
            f"{where} is on {mount.fstype} ({mount.source} at {mount.mount_point}), {why}: "
            "kernels on two hosts would corrupt a SQLite store there; " + fix
        )
    return JournalChoice(
        "DELETE",
        "FULL",
        f"network filesystem ({mount.fstype} at {mount.mount_point}): WAL needs shared memory "
        "on one host, so the rollback journal with normal locking",
    )
