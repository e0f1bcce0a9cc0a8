"""Where crystalwidgets keeps its files, and how it writes them: private and atomic.

One home for every file the package writes: directories 0700, files 0600, each
written through a temporary file and a rename so no reader sees half of it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .errors import CrystalWidgetsError

__all__ = [
    "config_dir",
    "home_dir",
    "jsanitized",
    "private_append",
    "private_dir",
    "private_tree",
    "read_json",
    "tail_text",
    "write_json",
    "write_private",
]


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

    Every directory created here is 0700 whatever the umask, the parents it had to
    create included; parents that existed already are left as they are.

    Raises
    ------
    CrystalWidgetsError
        When the directory cannot be created or is not writable, naming it.
    """
    try:
        missing = [p for p in (path, *path.parents) if not p.exists()]
        for parent in reversed(missing):  # the ones created here: each 0700, not the umask's
            try:
                os.mkdir(parent, 0o700)
            except FileExistsError:  # made meanwhile by someone else: theirs
                continue
            os.chmod(parent, 0o700)
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


def private_tree(root: str | os.PathLike) -> None:
    """Make what another program wrote under ``root`` private: directories 0700, files 0600.

    For trees made with the process's umask (Parsl's run dirs, quacc's job dirs in the
    kernel's own threads). Symlinks are left alone (never followed); paths that vanish
    meanwhile, or cannot be changed, are skipped.
    """
    for base, dirs, files in os.walk(root):
        for name, mode in [*((d, 0o700) for d in dirs), *((f, 0o600) for f in files)]:
            path = os.path.join(base, name)
            try:
                if not os.path.islink(path):
                    os.chmod(path, mode)
            except OSError:
                pass
    try:
        os.chmod(root, 0o700)
    except OSError:
        pass


def private_append(path: str | os.PathLike, mode: str = "ab", **kwargs: Any) -> Any:
    """``path`` opened to append (``mode`` "ab" or "a"), created 0600 whatever the umask.

    ``kwargs`` go to :func:`os.fdopen` (``buffering``, ``encoding``, ``errors``).
    """
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), mode, **kwargs)


def write_private(path: Path, text: str, *, durable: bool = True, atomic: bool = True) -> None:
    """Write ``text`` to ``path``, the file readable by the user only (0600).

    ``atomic``: through a temporary file and a rename, so no reader ever sees half
    of it; ``durable``: fsync'ed before the rename (survives a power cut).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp") if atomic else path
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        if atomic:
            os.replace(tmp, path)
    except BaseException:
        if atomic:
            tmp.unlink(missing_ok=True)
        raise


def _plain(obj: Any) -> Any:
    # numpy scalars and arrays that slipped into a summary; anything else as text
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def jsanitized(value: Any, *, as_dict_first: bool = False) -> Any:
    """``value`` as JSON types with monty's ``jsanitize`` (enums as their values).

    Objects that JSON cannot carry become their text; with ``as_dict_first``, objects
    with ``as_dict()`` (pymatgen's, emmet's) are written as their dicts when every
    object in ``value`` has one, so they can be decoded again.
    """
    from monty.json import jsanitize

    if as_dict_first:
        try:
            return jsanitize(value, strict=True, enum_values=True)
        except Exception:  # a user's object without as_dict: keep its text
            pass
    return jsanitize(value, strict=False, enum_values=True)


def write_json(path: Path, data: Any, *, durable: bool = False, atomic: bool = True) -> str:
    """Write ``data`` as JSON with :func:`write_private`; returns the text written.

    numpy values become lists and numbers; any other non-JSON object its ``str``.
    """
    text = json.dumps(data, default=_plain)
    write_private(path, text, durable=durable, atomic=atomic)
    return text


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file's content, or None when missing, unreadable or half-written."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def tail_text(path: str | os.PathLike | None, n_chars: int) -> str:
    """The last ``n_chars`` bytes of a text file, decoded ('' when it is missing)."""
    if not path:
        return ""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - n_chars))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
