"""Command line: ``crystalwidgets quickstart [--headless]`` and ``crystalwidgets jobs``."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

QUICKSTART = "01-quickstart.ipynb"


def _notebooks_dir() -> Path:
    """A clone's ``notebooks/``, else the copy of the quickstart installed with the package."""
    for here in (Path(__file__).resolve().parent.parent / "notebooks", Path(__file__).resolve().parent / "notebooks"):
        if (here / QUICKSTART).exists():
            return here
    raise SystemExit(
        f"crystalwidgets: cannot find {QUICKSTART} in a clone's notebooks/ or in the package; "
        "reinstall crystalwidgets from a wheel or a clone"
    )


def print_jobs(since: float | None = None, file=sys.stdout) -> None:
    """Print the job table (jobs created after ``since``, or all) as text."""
    from . import JobManager

    with JobManager() as mgr:
        recs = [r for r in mgr.jobs() if since is None or r.created >= since]
        header = f"{'id':8}  {'recipe':22} {'formula':8} {'profile':8} {'state':10} {'energy/eV':>12} {'fmax eV/Å':>10} {'steps':>5}"
        print(header, file=file)
        print("-" * len(header), file=file)
        for r in recs:
            s = r.summary or {}
            energy = f"{s['energy_ev']:.6f}" if s.get("energy_ev") is not None else ""
            fmax = f"{s['max_force_ev_ang']:.4f}" if s.get("max_force_ev_ang") is not None else ""
            steps = "" if s.get("n_steps") is None else str(s["n_steps"])
            formula = s.get("formula") or r.formula or ""
            print(
                f"{r.short_id:8}  {r.recipe[:22]:22} {formula[:8]:8} {r.profile[:8]:8} "
                f"{r.state.value:10} {energy:>12} {fmax:>10} {steps:>5}",
                file=file,
            )
            if r.error:
                print(f"          error: {r.error.strip().splitlines()[-1][:200]}", file=file)
        print(f"{len(recs)} job(s); store: {mgr.store.path}", file=file)


def quickstart(headless: bool) -> int:
    """Open the quickstart notebook in JupyterLab, or execute it and print the job table."""
    notebooks = _notebooks_dir()
    if notebooks.parent == Path(__file__).resolve().parent:  # installed: run a copy here
        target = Path.cwd() / QUICKSTART
        if not target.exists():
            shutil.copyfile(notebooks / QUICKSTART, target)
            target.chmod(0o600)
        notebooks = Path.cwd()
    if not headless:
        cmd = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={notebooks}", QUICKSTART]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        print("crystalwidgets: opening JupyterLab; run all cells of the quickstart (Ctrl+C to stop)")
        return subprocess.call(cmd)

    import nbformat
    from nbclient import NotebookClient

    started = time.time()
    nb = nbformat.read(notebooks / QUICKSTART, as_version=4)
    print(f"crystalwidgets: executing {notebooks / QUICKSTART} headless ...", flush=True)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(notebooks)}}
    )
    client.execute()
    for cell in nb.cells:  # show what the notebook printed
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                sys.stdout.write(out["text"])
    print(f"\nfinal job table (jobs run by the quickstart, {time.time() - started:.0f} s):")
    print_jobs(since=started)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crystalwidgets", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("quickstart", help="run the quickstart notebook (JupyterLab or --headless)")
    q.add_argument("--headless", action="store_true", help="execute without a browser; print the job table")
    sub.add_parser("jobs", help="print the job table of the store")
    args = parser.parse_args(argv)
    if args.cmd == "quickstart":
        return quickstart(args.headless)
    print_jobs()
    return 0


if __name__ == "__main__":
    sys.exit(main())
