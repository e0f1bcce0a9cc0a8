"""A job's files: listed, read as text (the tail of a big file), zipped; never outside its work
dir (``..``, absolute paths, symbolic links), binary files refused as text. Real EMT jobs
through the manager and the local runner."""

from __future__ import annotations

import gzip
import io
import os
import resource
import stat
import zipfile

import pytest
from ase.build import bulk

from crystalwidgets import CrystalWidgetsError, JobState
from crystalwidgets.jobs.workdir import JobFiles


@pytest.fixture
def relaxed(manager):
    job = manager.submit(bulk("Cu", a=3.7), "emt.relax_job", relax_cell=False)
    [job] = manager.wait([job.id], timeout=180)
    assert job.state is JobState.COMPLETED, job.error
    return manager, job


def test_the_list_has_the_jobs_files_with_sizes_and_times_and_quaccs_nested_dir(relaxed):
    manager, job = relaxed
    entries, cut = manager.files(job.id).list()
    assert not cut
    by_path = {e.path: e for e in entries}
    for name in ("cw-input.pkl", "cw-outcome.json", "cw-result.json", "cw-stdout.txt"):
        assert by_path[name].kind == "file"
        info = os.stat(os.path.join(job.work_dir, name))
        assert (by_path[name].size, by_path[name].modified) == (info.st_size, info.st_mtime)
    quacc_dirs = [e for e in entries if e.kind == "dir" and e.path.startswith("quacc-")]
    assert len(quacc_dirs) == 1
    logs = [e.path for e in entries if e.path.startswith(quacc_dirs[0].path + "/") and e.path.endswith("opt.log.gz")]
    assert logs, [e.path for e in entries]
    # each dir is followed by what it holds
    paths = [e.path for e in entries]
    assert paths.index(quacc_dirs[0].path) < paths.index(logs[0])


def test_text_of_the_gzipped_log_and_of_the_stderr(relaxed):
    manager, job = relaxed
    files = manager.files(job.id)
    entries, _ = files.list()
    log = next(e for e in entries if e.path.endswith("/opt.log.gz"))
    view = files.text(log.path)
    with gzip.open(os.path.join(job.work_dir, log.path), "rt", encoding="utf-8") as fh:
        text = fh.read()
    assert view.text == text and "fmax" in text.splitlines()[0].lower()
    assert view.start == 0 and view.note == f"{log.size} B gzipped, {len(text)} B of text"
    tail = files.text(log.path, tail_bytes=100)
    assert text.endswith(tail.text) and 0 < len(tail.text) <= 100 and text[tail.start - 1] == "\n"
    assert tail.more == 400 and view.more is None  # the whole text shown: no more to ask for
    assert files.text(log.path, tail_bytes=10_000).text == text
    with open(os.path.join(job.work_dir, "cw-stderr.txt"), encoding="utf-8") as fh:
        assert files.text("cw-stderr.txt").text == fh.read()
    with pytest.raises(CrystalWidgetsError, match="tail_bytes: expected a positive number"):
        files.text("cw-stderr.txt", tail_bytes=0)


def test_a_big_file_shows_only_its_tail_read_without_the_whole_file(manager, tmp_path):
    job = manager.submit(bulk("Cu"), "emt.static_job")
    [job] = manager.wait([job.id], timeout=120)
    big = os.path.join(job.work_dir, "OUTCAR")
    line = "  free  energy   TOTEN  =      -3.7000 eV\n"
    with open(big, "w") as fh:  # 200 MB, sparse-free but written in blocks
        block = line * 25_000
        for _ in range(200 * 1024 * 1024 // len(block)):
            fh.write(block)
        fh.write("the very last line\n")
    size = os.path.getsize(big)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    view = manager.files(job.id).text("OUTCAR", tail_bytes=64 * 1024)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert view.size == size and view.text.endswith("the very last line\n")
    assert len(view.text) <= 64 * 1024 and view.text.startswith("  free")  # from a line start
    assert view.start == size - len(view.text.encode())
    assert view.note == f"the last 64 KB of {size // 1024**2} MB"
    assert grown_kb < 20_000  # never the 200 MB in memory
    # "Show more": each view says the tail that shows 4x more, up to 4 MB, then where the rest is
    assert view.more == 256 * 1024
    wider = manager.files(job.id).text("OUTCAR", tail_bytes=view.more)
    assert wider.text.endswith(view.text) and len(wider.text) > 3.9 * len(view.text) and wider.more == 1024**2
    widest = manager.files(job.id).text("OUTCAR", tail_bytes=4 * 1024**2)
    assert widest.more is None and widest.note == f"the last 4.0 MB of {size // 1024**2} MB; download the file for the rest"
    assert widest.text.startswith("  free") and widest.start == size - len(widest.text.encode())
    with pytest.raises(CrystalWidgetsError, match="too big to send"):
        manager.files(job.id).read_bytes("OUTCAR")
    with pytest.raises(CrystalWidgetsError, match="over the 50 MB a zip may hold"):
        manager.files(job.id).zip()


def test_a_binary_file_is_refused_as_text_with_a_note(relaxed):
    manager, job = relaxed
    files = manager.files(job.id)
    for binary in ("cw-input.pkl", next(e.path for e in files.list()[0] if e.path.endswith("opt.traj.gz"))):
        view = files.text(binary)
        assert view.text is None and view.note.startswith("binary file (") and "download it" in view.note
    assert manager.files(job.id).read_bytes("cw-input.pkl") == open(os.path.join(job.work_dir, "cw-input.pkl"), "rb").read()


def test_paths_outside_the_work_dir_are_refused(relaxed, tmp_path):
    manager, job = relaxed
    secret = tmp_path / "secret.txt"
    secret.write_text("not the job's\n")
    os.symlink(secret, os.path.join(job.work_dir, "escape"))
    os.symlink(tmp_path, os.path.join(job.work_dir, "escape-dir"))
    os.symlink("cw-stdout.txt", os.path.join(job.work_dir, "inside"))
    files = manager.files(job.id)
    for bad in ("../secret.txt", "quacc/../../secret.txt", str(secret), "/etc/passwd"):
        with pytest.raises(CrystalWidgetsError, match="leads outside the work dir"):
            files.text(bad)
        with pytest.raises(CrystalWidgetsError, match="leads outside the work dir"):
            files.read_bytes(bad)
    for bad in ("escape", "escape-dir/secret.txt"):
        with pytest.raises(CrystalWidgetsError, match="symbolic link .* outside"):
            files.text(bad)
    with pytest.raises(CrystalWidgetsError, match="symbolic link .* outside"):
        files.zip(under="escape-dir")
    with pytest.raises(CrystalWidgetsError, match="no such file"):
        files.text("nosuch.txt")
    with pytest.raises(CrystalWidgetsError, match="not a file"):
        files.text(next(e.path for e in files.list()[0] if e.kind == "dir"))
    # a link inside the work dir is followed; links are listed, never followed when listing
    assert files.text("inside").text == files.text("cw-stdout.txt").text
    kinds = {e.path: e.kind for e in files.list()[0]}
    assert kinds["escape"] == kinds["escape-dir"] == kinds["inside"] == "link"
    assert not any(p.startswith("escape-dir/") for p in kinds)
    names = zipfile.ZipFile(io.BytesIO(files.zip())).namelist()
    assert not any("secret" in n or n.endswith(("/escape", "/inside")) for n in names)


def test_the_zip_holds_every_file_and_is_written_private(relaxed, tmp_path):
    manager, job = relaxed
    files = manager.files(job.id)
    entries, _ = files.list()
    archive = zipfile.ZipFile(io.BytesIO(files.zip()))
    root = os.path.basename(job.work_dir)
    expected = {f"{root}/{e.path}" for e in entries if e.kind == "file"}
    assert set(archive.namelist()) == expected
    with open(os.path.join(job.work_dir, "cw-result.json"), "rb") as fh:
        assert archive.read(f"{root}/cw-result.json") == fh.read()
    quacc = next(e.path for e in entries if e.kind == "dir")
    sub = zipfile.ZipFile(io.BytesIO(files.zip(under=quacc))).namelist()
    assert sub and all(n.startswith(f"{root}/{quacc}/") for n in sub)

    dest = tmp_path / "job.zip"
    assert files.zip(dest) is None
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        files.zip(dest)


def test_an_unreadable_work_dir_says_so(tmp_path):
    with pytest.raises(CrystalWidgetsError, match="not readable from this kernel"):
        JobFiles(tmp_path / "gone", "abcd1234").list()
