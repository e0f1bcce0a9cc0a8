"""Who follows a job: each manager's owner id, and whether that manager still lives."""

from __future__ import annotations

import socket
import uuid

import psutil

__all__ = ["owner_id", "owner_alive"]


def owner_id() -> str:
    """host:pid:process start:instance, so two managers in one process are told apart."""
    me = psutil.Process()
    return f"{socket.gethostname()}:{me.pid}:{me.create_time():.3f}:{uuid.uuid4().hex[:8]}"


def owner_alive(owner: str | None) -> bool:
    """True when ``owner`` is a live manager process (or on another host: cannot tell)."""
    if not owner:
        return False
    host, pid, created, *_ = (owner.split(":") + ["", ""])[:4]
    if host != socket.gethostname():
        return True
    from .runners.local import process_alive

    try:
        return process_alive(int(pid), float(created))
    except ValueError:
        return False
