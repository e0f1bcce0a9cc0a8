"""Where crystalwidgets keeps its files, and how it keeps them private."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["home_dir", "private_dir", "write_private", "CrystalWidgetsError"]


class CrystalWidgetsError(Exception):
    """Base class of the errors crystalwidgets raises on purpose.

    The message always names what was wrong and what to do about it.
    """


def home_dir(home: str | os.PathLike | None = None) -> Path:
    """The data directory: ``home``, else ``$CRYSTALWIDGETS_HOME``, else the user data dir."""
    if home is None:
        home = os.environ.get("CRYSTALWIDGETS_HOME")
    if home is None:
        from platformdirs import user_data_dir

        home = user_data_dir("crystalwidgets", appauthor=False)
    return Path(home).expanduser().absolute()


def config_dir() -> Path:
    """The config directory (profiles): ``$CRYSTALWIDGETS_CONFIG``, else the user config dir."""
    path = os.environ.get("CRYSTALWIDGETS_CONFIG")
    if path is None:
        from platformdirs import user_config_dir

        path = user_config_dir("crystalwidgets", appauthor=False)
    return Path(path).expanduser().absolute()


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed, readable by the user only (0700).

    Raises
    ------
    CrystalWidgetsError
        When the directory cannot be created or is not writable, naming it.
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    except OSError as exc:
        raise CrystalWidgetsError(
            f"cannot create the directory {path} ({exc.strerror}); "
            "set CRYSTALWIDGETS_HOME to a writable directory"
        ) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise CrystalWidgetsError(
            f"the directory {path} is not writable; "
            "set CRYSTALWIDGETS_HOME to a writable directory"
        )
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, the file readable by the user only (0600)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
