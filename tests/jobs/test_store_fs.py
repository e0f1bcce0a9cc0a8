"""The store on a shared filesystem: the journal mode follows the filesystem type.

The type is injected (``JobStore(path, mount=...)``): NFS, Lustre or GPFS cannot be
mounted here. The mountinfo parser runs on real lines (from NFS, Lustre and GPFS
clients, and this machine's own file), and one store is really opened on the local disk.
"""

from __future__ import annotations

import sqlite3

import pytest

from crystalwidgets.errors import StoreError
from crystalwidgets.jobs.filesystem import Mount, journal_for, mount_of, parse_mountinfo
from crystalwidgets.jobs.store import JobStore

# lines as Linux clients write them (proc(5)): optional fields, then " - type source super-options"
MOUNTINFO = r"""
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
95 27 0:47 / /home rw,relatime shared:45 - nfs4 nfs01:/export/home rw,vers=4.2,rsize=1048576,hard,proto=tcp,sec=sys,local_lock=none,addr=10.0.0.1
96 27 0:48 / /home/old rw,relatime shared:46 - nfs nfs02:/old rw,vers=3,nolock,proto=tcp,addr=10.0.0.2
120 27 0:51 / /lustre/scratch rw,relatime shared:60 - lustre 10.0.0.2@o2ib:/scratch rw,flock,lazystatfs
121 27 0:52 / /lustre/project rw,relatime shared:61 - lustre 10.0.0.3@o2ib:/project rw,localflock
130 27 0:53 / /gpfs/work rw,relatime shared:70 - gpfs work rw
131 27 0:54 / /mnt/my\040share rw,relatime - cifs //fs/share rw,vers=3.1.1,sec=ntlmssp,nobrl
132 27 0:55 / /mnt/remote rw,nosuid,nodev,relatime - fuse.sshfs me@login1:/home/me rw,user_id=1000
133 27 0:56 / /beegfs rw,relatime - beegfs beegfs_nodev rw,cfgFile=/etc/beegfs/beegfs-client.conf
134 27 0:57 / /cephfs rw,relatime - ceph 10.0.0.9:6789:/ rw,name=me
garbage line without separator
"""


@pytest.fixture(scope="module")
def mounts():
    return parse_mountinfo(MOUNTINFO)


def test_mountinfo_parser_on_real_lines(mounts):
    by_point = {m.mount_point: m for m in mounts}
    assert len(mounts) == 11  # the garbage line is skipped
    assert by_point["/home"].fstype == "nfs4" and by_point["/home"].source == "nfs01:/export/home"
    assert "local_lock=none" in by_point["/home"].options and "shared:45" not in by_point["/home"].options
    assert "/mnt/my share" in by_point  # \040 is a space
    assert by_point["/gpfs/work"].is_network and not by_point["/"].is_network


def test_longest_prefix_wins(mounts, tmp_path):
    assert mount_of("/home/me/.local/share/crystalwidgets/jobs.sqlite", mounts).mount_point == "/home"
    assert mount_of("/home/old/me/jobs.sqlite", mounts).fstype == "nfs"
    assert mount_of("/home2/x", mounts).mount_point == "/"  # a prefix of the name is not a parent
    assert mount_of("/lustre/scratch", mounts).fstype == "lustre"
    # this machine's own mountinfo: the test's tmp dir is on a local filesystem
    here = mount_of(tmp_path / "not" / "yet" / "made")
    assert here is not None and not here.is_network


@pytest.mark.parametrize(
    ("point", "mode"),
    [("/", "WAL"), ("/home", "DELETE"), ("/lustre/scratch", "DELETE"), ("/gpfs/work", "DELETE"),
     ("/beegfs", "DELETE"), ("/cephfs", "DELETE")],
)
def test_journal_mode_by_filesystem(mounts, point, mode):
    mount = next(m for m in mounts if m.mount_point == point)
    choice = journal_for(mount, point)
    assert choice.journal_mode == mode
    assert choice.synchronous == ("NORMAL" if mode == "WAL" else "FULL")


@pytest.mark.parametrize(
    ("point", "said"),
    [("/home/old", "nolock"), ("/lustre/project", "localflock"), ("/mnt/my share", "nobrl"),
     ("/mnt/remote", "never leave this host")],
)
def test_host_local_locks_are_refused_before_anything_is_created(mounts, tmp_path, point, said):
    mount = next(m for m in mounts if m.mount_point == point)
    home = tmp_path / "home"
    with pytest.raises(StoreError) as err:
        JobStore(home / "jobs.sqlite", mount=mount)
    msg = str(err.value)
    assert said in msg and "CRYSTALWIDGETS_HOME" in msg and mount.fstype in msg
    assert not home.exists()  # not even the directory


def test_refused_existing_store_is_left_byte_for_byte(mounts, tmp_path):
    path = tmp_path / "jobs.sqlite"
    JobStore(path).close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(StoreError, match="nolock"):
        JobStore(path, mount=next(m for m in mounts if m.mount_point == "/home/old"))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_network_store_uses_rollback_journal_and_upgrades_a_wal_store(mounts, tmp_path):
    path = tmp_path / "jobs.sqlite"
    JobStore(path).close()  # made on a local disk: WAL
    nfs = next(m for m in mounts if m.mount_point == "/home")
    store = JobStore(path, mount=nfs)  # the same file, now "on NFS"
    try:
        assert store.journal.journal_mode == "DELETE" and "nfs4" in store.journal.reason
        assert store._read("PRAGMA journal_mode")[0][0] == "delete"
        assert store._read("PRAGMA synchronous")[0][0] == 2  # FULL
    finally:
        store.close()
    assert not (tmp_path / "jobs.sqlite-wal").exists() and not (tmp_path / "jobs.sqlite-shm").exists()


def test_real_open_on_the_local_disk(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    try:
        assert store.journal.journal_mode == "WAL"
        assert store._read("PRAGMA journal_mode")[0][0] == "wal"
    finally:
        store.close()
    assert sqlite3.connect(tmp_path / "jobs.sqlite").execute("PRAGMA user_version").fetchone()[0] >= 2


def test_unknown_filesystem_is_treated_as_local():
    assert journal_for(None, "/x").journal_mode == "WAL"
    assert journal_for(Mount("/", "zfs"), "/x").journal_mode == "WAL"


def test_wal_store_open_elsewhere_is_not_switched(mounts, tmp_path):
    path = tmp_path / "jobs.sqlite"
    local = JobStore(path)  # a kernel that opened it from a local mount keeps it in WAL
    try:
        with pytest.raises(StoreError, match="another kernel has it open: close the other kernels"):
            JobStore(path, mount=next(m for m in mounts if m.mount_point == "/home"))
        assert local._read("PRAGMA journal_mode")[0][0] == "wal" and local.count() == 0
    finally:
        local.close()
