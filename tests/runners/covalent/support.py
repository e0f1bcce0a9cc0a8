"""Helpers of the Covalent tests: free ports, a server's processes, a server that never answers."""

from __future__ import annotations

import importlib.util
import socket
import threading

import psutil

#: Whether covalent is installed here. Found, not imported: importing covalent writes its config
#: file, which must land in the session's own HOME (the ``covalent_home`` fixture), not the user's.
HAVE_COVALENT = importlib.util.find_spec("covalent") is not None
#: Why the tests here skip in an interpreter without covalent (each module asks for it).
NO_COVALENT = (
    "covalent is not installed in this interpreter (it needs SQLAlchemy<2, so it has a venv "
    "of its own: bin/test runs these tests with .venv-covalent)"
)


def free_port() -> int:
    """A TCP port nobody listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_processes(server) -> list[psutil.Process]:
    """A :class:`LocalServer`'s process and everything under it (empty when it is not running)."""
    pid = server.pid()
    if pid is None:
        return []
    leader = psutil.Process(pid)
    return [leader, *leader.children(recursive=True)]


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers.

    ``answer`` requests (at most) first get a Covalent-like empty dispatch list, so a
    probe passes and the next call (the dispatch) is the one that hangs. Closing it
    closes every connection it holds.
    """

    def __init__(self, answer: int = 0) -> None:
        self.answer = answer
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.address = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.requests += 1
            if self.requests <= self.answer:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    body = b'{"dispatches": [], "metadata": {"count": 0}}'
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
                    )
                except OSError:
                    pass
                conn.close()
            else:
                self.held.append(conn)  # read nothing, say nothing

    def close(self) -> None:
        """Stop accepting and close every held connection (a client blocked on one is released)."""
        self._stop.set()
        self._thread.join(5)
        for conn in self.held:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        self.sock.close()
