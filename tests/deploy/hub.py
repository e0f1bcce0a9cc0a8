"""A real JupyterHub on the local Slurm, as HPC centres run it: ``batchspawner.SlurmSpawner``
starts each user's Jupyter server as a Slurm job under that user's own uid.

- :class:`HubUser`: a local unix user made for the test (``useradd``) and removed after
  (its processes and Slurm jobs first, then ``userdel -r``). Needs root, as a hub does.
- :class:`KernelEnv`: the Python the user's Slurm job runs. At a centre that is a shared,
  world-readable install; here it is this test run's own environment when the user can run
  it, else a thin venv of the system's Python of the same minor version that reads this
  environment's packages (this machine's interpreter may live in root's private home).
- :class:`JupyterHub`: the hub on 127.0.0.1 (proxy: npm ``configurable-http-proxy`` from
  ``js/node_modules``; authenticator: JupyterHub's ``DummyAuthenticator``, test only; a
  service token that may drive the user's server through the REST API).
- :class:`UserServer`: the user's single-user server seen as a :class:`_lab.JupyterServer`
  (REST API, kernel probes), so :class:`_lab.NotebookPage` drives notebooks in it.

Every wait is bounded; a timeout raises with what was being waited for and the log's tail.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import textwrap
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from _lab import LAB_SETTINGS, REPO, JupyterServer

from tests.helpers import die_with_parent, free_port, stop_process_group, wait_until
from tests.runners.slurm import squeue

PROXY = REPO / "js" / "node_modules" / ".bin" / "configurable-http-proxy"
RUNUSER = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "runuser"


def _run(*args: str, timeout: float = 30, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=check, **kwargs)


def hub_problem() -> str | None:
    """Why a hub cannot run here, or None."""
    if os.geteuid() != 0:
        return "a JupyterHub that starts servers as other users runs as root (useradd, runuser)"
    if not PROXY.exists():
        return f"no configurable-http-proxy at {PROXY}: run bin/setup (npm installs js/'s devDependencies)"
    for tool in ("useradd", "userdel", "runuser"):
        if not shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin:/bin"):
            return f"{tool} is not installed"
    return None


class HubUser:
    """A local unix user for one test session (``cw-hub-<hex>``), with a home under /home."""

    def __init__(self) -> None:
        self.name = f"cwhub{uuid.uuid4().hex[:6]}"
        _run("useradd", "--create-home", "--shell", "/bin/bash", self.name)
        entry = pwd.getpwnam(self.name)
        self.uid, self.gid, self.home = entry.pw_uid, entry.pw_gid, Path(entry.pw_dir)
        for plugin, values in LAB_SETTINGS.items():  # the tests' Lab settings: no news, no toasts
            self.write(f".jupyter/lab/user-settings/{plugin}.jupyterlab-settings", json.dumps(values))

    def run(self, *args: str, timeout: float = 60, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess:
        """Run a command as this user (``runuser``)."""
        return _run(RUNUSER, "-u", self.name, "--", *args, timeout=timeout, check=check, **kwargs)

    def write(self, name: str, data: bytes | str) -> Path:
        """Write ``data`` to ``name`` under the user's home, folders and file owned by the user."""
        target = self.home / name
        for folder in reversed(target.relative_to(self.home).parents[:-1]):
            (self.home / folder).mkdir(exist_ok=True)
            os.chown(self.home / folder, self.uid, self.gid)
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        os.chown(target, self.uid, self.gid)
        return target

    def jobs(self) -> list[dict[str, str]]:
        """The user's Slurm jobs, as squeue says."""
        return squeue("-u", self.name)

    def remove(self) -> None:
        """Cancel the user's Slurm jobs, end its processes, delete the user and its home."""
        _run("scancel", "-u", self.name, check=False)
        try:
            wait_until(lambda: not self.jobs(), 60, f"Slurm jobs of {self.name} to end", interval=0.5)
        finally:
            _run("pkill", "-KILL", "-u", self.name, check=False)
            wait_until(
                lambda: _run("pgrep", "-u", self.name, check=False).returncode != 0,
                15, f"processes of {self.name} to end", interval=0.2,
            )
            _run("userdel", "--remove", self.name, check=False)


class Unreadable(RuntimeError):
    """The test environment cannot be run by another user (an install in a private home)."""


class KernelEnv:
    """The Python (with JupyterLab, batchspawner and crystalwidgets) the user's job runs.

    Parameters
    ----------
    user : HubUser
    scratch : Path
        A directory for the thin venv, made readable by everyone.
    """

    def __init__(self, user: HubUser, scratch: Path) -> None:
        self.prefix = Path(sys.prefix)
        self.environment: dict[str, str] = {}
        if self._usable(user, Path(sys.executable)):
            self.bin = self.prefix / "bin"
            return
        site = Path(next(p for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix)))
        python = self._system_python(user)
        scratch.mkdir(mode=0o755, parents=True, exist_ok=True)
        os.chmod(scratch, 0o755)
        venv = scratch / "kernel-env"
        _run(str(python), "-m", "venv", "--without-pip", str(venv), timeout=60)
        (next(venv.glob("lib/python3*/site-packages")) / "cw-test-env.pth").write_text(
            f"import site; site.addsitedir({str(site)!r})\n"
        )
        self.bin = venv / "bin"
        # this environment's scripts (jupyterhub-singleuser, parsl's worker pool, ...) run by
        # the venv's Python
        shebang = f"#!{self.prefix / 'bin' / 'python'}".encode()
        for script in (self.prefix / "bin").iterdir():
            target = self.bin / script.name
            if target.exists() or not script.is_file():
                continue
            head, _, body = script.read_bytes().partition(b"\n")
            if head.startswith(shebang):
                target.write_bytes(f"#!{self.bin / 'python'}".encode() + head[len(shebang):] + b"\n" + body)
                target.chmod(0o755)
        # the venv's own prefix holds no Jupyter data: point Jupyter at this environment's
        share = self.prefix / "share" / "jupyter"
        self.environment = {
            "JUPYTER_PATH": str(share),
            "JUPYTERLAB_DIR": str(share / "lab"),
            "JUPYTER_CONFIG_PATH": str(self.prefix / "etc" / "jupyter"),
        }
        if not self._usable(user, self.bin / "python"):
            raise Unreadable(
                f"another user cannot import crystalwidgets from this test environment ({site} and this "
                "checkout must be readable by every user, as a centre's shared kernel environment is)"
            )

    @staticmethod
    def _usable(user: HubUser, python: Path) -> bool:
        code = "import crystalwidgets, jupyterlab, batchspawner"
        return user.run(str(python), "-c", code, check=False).returncode == 0

    def _system_python(self, user: HubUser) -> Path:
        name = f"python{sys.version_info.major}.{sys.version_info.minor}"
        for folder in ("/usr/bin", "/usr/local/bin"):
            python = Path(folder) / name
            if python.exists() and user.run(str(python), "-c", "pass", check=False).returncode == 0:
                return python
        raise Unreadable(
            f"the user {user.name} can run neither {sys.executable} (not readable by other users) "
            f"nor a system {name}: install the test environment where every user can read it"
        )


class JupyterHub:
    """JupyterHub on 127.0.0.1 spawning servers as Slurm jobs (``batchspawner.SlurmSpawner``).

    Parameters
    ----------
    base : Path
        A private scratch directory (config, database, cookie secret, log).
    user : HubUser
        The one user allowed to log in (password :attr:`password`).
    env : KernelEnv
        What the user's Slurm job runs.
    """

    password = "cw-test-password"

    def __init__(self, base: Path, user: HubUser, env: KernelEnv) -> None:
        self.base, self.user, self.env = Path(base), user, env
        self.base.mkdir(parents=True, exist_ok=True)
        self.token = uuid.uuid4().hex  # the test's service: may drive the user's server
        self.port = 0
        self.log_path = self.base / "jupyterhub.log"
        self.process: subprocess.Popen | None = None
        #: where the user's server writes kernel connection files (root reads them: probes)
        self.runtime_dir = user.home / ".local" / "share" / "jupyter" / "runtime"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        """``jupyterhub_config.py`` for the current ports."""
        env = dict(self.env.environment, PATH=f"{self.env.bin}:/usr/local/bin:/usr/bin:/bin")
        env["JUPYTER_RUNTIME_DIR"] = str(self.runtime_dir)
        script = textwrap.dedent("""\
            #!/bin/bash
            #SBATCH --output={{homedir}}/jupyterhub_slurmspawner_%j.log
            #SBATCH --job-name=cw-hub-server
            #SBATCH --chdir={{homedir}}
            #SBATCH --export={{keepvars}}
            #SBATCH --partition={{partition}}
            #SBATCH --time={{runtime}}
            #SBATCH --cpus-per-task=1
            #SBATCH --mem-per-cpu=2G
            set -euo pipefail
            {{cmd}}
            """)
        return textwrap.dedent(f"""\
            from batchspawner import SlurmSpawner
            from traitlets import Unicode

            class LocalSlurmSpawner(SlurmSpawner):
                # batchspawner's start() resets ip to the trait's default (0.0.0.0): bind 127.0.0.1
                ip = Unicode("127.0.0.1")

            c = get_config()
            c.JupyterHub.ip = "127.0.0.1"
            c.JupyterHub.port = {self.port}
            c.JupyterHub.hub_ip = "127.0.0.1"
            c.JupyterHub.hub_port = {self.hub_port}
            c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.proxy_api_port}"
            c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]
            c.JupyterHub.db_url = "sqlite:///{self.base / 'jupyterhub.sqlite'}"
            c.JupyterHub.cookie_secret_file = {str(self.base / 'cookie_secret')!r}
            c.JupyterHub.pid_file = {str(self.base / 'jupyterhub.pid')!r}
            c.JupyterHub.authenticator_class = "dummy"
            c.DummyAuthenticator.password = {self.password!r}
            c.Authenticator.allowed_users = {{{self.user.name!r}}}
            c.JupyterHub.services = [{{"name": "cw-test", "api_token": {self.token!r}}}]
            c.JupyterHub.load_roles = [{{
                "name": "cw-test", "services": ["cw-test"],
                "scopes": ["admin:users", "admin:servers", "access:servers", "read:users"],
            }}]
            c.JupyterHub.spawner_class = LocalSlurmSpawner
            c.Spawner.default_url = "/lab"
            c.Spawner.cmd = [{str(self.env.bin / 'jupyterhub-singleuser')!r}]
            c.Spawner.environment = {env!r}
            c.LocalSlurmSpawner.batchspawner_singleuser_cmd = {str(self.env.bin / 'batchspawner-singleuser')!r}
            c.LocalSlurmSpawner.exec_prefix = "{RUNUSER} -u {{username}} --"
            c.LocalSlurmSpawner.req_partition = "debug"
            c.LocalSlurmSpawner.req_runtime = "00:30:00"
            c.LocalSlurmSpawner.batch_script = {script!r}
            # squeue names the node; the server listens on 127.0.0.1 of this one-node cluster
            c.LocalSlurmSpawner.state_exechost_exp = "127.0.0.1"
            c.LocalSlurmSpawner.startup_poll_interval = 0.5
            # notice soon that the server's job ended (default 30 s; squeue each time)
            c.LocalSlurmSpawner.poll_interval = 3
            c.LocalSlurmSpawner.start_timeout = 180
            c.LocalSlurmSpawner.http_timeout = 120
            """)

    def start(self, timeout: float = 60) -> None:
        """Start the hub and its proxy; wait (bounded) until the hub's API answers."""
        self.port, self.hub_port, self.proxy_api_port = free_port(), free_port(), free_port()
        config = self.base / "jupyterhub_config.py"
        config.write_text(self.config())
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(config)],
                cwd=self.base, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=die_with_parent,
            )
        wait_until(self._ready, timeout, f"JupyterHub on port {self.port} (log: {self.log_path})", interval=0.25)

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"JupyterHub exited with {self.process.returncode}:\n{self.log_tail()}")
        try:
            self.api("/hub/api/")
        except OSError:
            return False
        return True

    def api(self, path: str, method: str = "GET", timeout: float = 10) -> Any:
        """Call the hub's REST API with the test service's token; decoded JSON (or None)."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - local
            body = response.read()
        return json.loads(body) if body else None

    def server_ready(self) -> bool:
        """Does the hub say the user's server is up?"""
        server = self.api(f"/hub/api/users/{self.user.name}")["servers"].get("", {})
        return bool(server.get("ready"))

    def server_job(self) -> dict[str, str] | None:
        """The user's server's Slurm job as squeue says (None when there is none)."""
        return next((j for j in self.user.jobs() if j["name"] == "cw-hub-server"), None)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 60) -> None:
        """Stop the hub (it scancels the user's server job and stops its proxy), bounded."""
        process, self.process = self.process, None
        stop_process_group(process, timeout)  # then SIGKILL: the proxy, if the hub left it


class UserServer(JupyterServer):
    """The user's single-user server behind the hub, as a :class:`_lab.JupyterServer`.

    REST calls carry the test service's token; the browser, logged in, carries its cookie.
    """

    name = "the user's Jupyter server"

    def __init__(self, hub: JupyterHub) -> None:  # noqa: D107 - nothing to start: the hub spawns it
        self.hub = hub
        self.token = hub.token
        self.root = hub.user.home
        self.runtime_dir = hub.runtime_dir
        self.process = None

    @property
    def url(self) -> str:
        return f"{self.hub.url}/user/{self.hub.user.name}"

    def notebook_url(self, notebook: str) -> str:
        """A fresh workspace for ``notebook`` (no old tabs restored)."""
        return f"{self.url}/lab/workspaces/cw-{uuid.uuid4().hex[:12]}/tree/{notebook}?reset"

    def log_tail(self, lines: int = 40) -> str:
        """The server's own log (its Slurm job's output), then the hub's."""
        logs = sorted(self.hub.user.home.glob("jupyterhub_slurmspawner_*.log"), key=lambda p: p.stat().st_mtime)
        server = "\n".join(logs[-1].read_text(errors="replace").splitlines()[-lines:]) if logs else "(no log)"
        return f"{server}\n--- hub:\n{self.hub.log_tail(lines // 2)}"

    def start(self, timeout: float = 60) -> None:
        raise NotImplementedError("the hub spawns the user's server")

    def stop(self, timeout: float = 15) -> None:
        """Stop the user's server through the hub (which scancels its Slurm job)."""
        self.hub.api(f"/hub/api/users/{self.hub.user.name}/server", method="DELETE", timeout=timeout)
