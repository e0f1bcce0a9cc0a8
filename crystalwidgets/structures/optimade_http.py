"""One bounded HTTP GET of an OPTIMADE provider's JSON.

The request runs in a daemon thread and the caller waits at most ``timeout`` seconds for it,
so nothing can hold the caller longer: not a name look-up, not a server that accepts and
never answers, not one that trickles bytes. The thread's own socket timeouts and deadline end
it soon after. Every failure is an :class:`~crystalwidgets.errors.OptimadeError` that says what
happened and what to do.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

from ..errors import OptimadeError

__all__ = ["MAX_RESPONSE_BYTES", "NotFound", "get_json"]

#: An answer larger than this is refused (lower ``page_limit``).
MAX_RESPONSE_BYTES = 50_000_000

_CHUNK = 65536


class NotFound(OptimadeError):
    """The provider answered HTTP 404 (no such endpoint: a wrong base URL, or another OPTIMADE
    version) or OPTIMADE's 553 (Version Not Supported)."""

_HEADERS = {"Accept": "application/vnd.api+json, application/json", "User-Agent": "crystalwidgets"}


def _detail(body: bytes) -> str:
    """The first OPTIMADE error's detail (or title) of an error answer, as one line of text."""
    try:
        errors = json.loads(body).get("errors") or [{}]
        text = errors[0].get("detail") or errors[0].get("title") or ""
    except (ValueError, AttributeError, TypeError, IndexError):
        text = body[:300].decode("utf-8", "replace")
    return " ".join(str(text).split())[:300]


def _too_slow(label: str, url: str, timeout: float) -> OptimadeError:
    """The one message for a provider that took longer than ``timeout`` (whichever side saw it first)."""
    return OptimadeError(
        f"{label} did not answer within {timeout:g} s ({url}): it may be down or overloaded; "
        "try again later, or give it longer (timeout=...)"
    )


def _get(url: str, params: dict[str, Any], label: str, deadline: float, max_bytes: int, raw: bool, timeout: float) -> Any:
    import requests

    left = max(deadline - time.monotonic(), 0.01)
    try:
        response = requests.get(url, params=params, headers=_HEADERS, timeout=(left, left), stream=True)
    except requests.exceptions.Timeout:
        raise _too_slow(label, url, timeout) from None
    except requests.exceptions.RequestException as exc:
        found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
        reason = found.group(1).strip() if found else type(exc).__name__
        raise OptimadeError(
            f"cannot reach {label} at {url} ({reason}): check the provider's base URL "
            "and that this machine can reach it (a proxy, a firewall)"
        ) from None
    with response:
        body = bytearray()
        try:
            for chunk in response.iter_content(_CHUNK):
                body += chunk
                if len(body) > max_bytes:
                    raise OptimadeError(
                        f"{label} sent more than {max_bytes // 1_000_000} MB for one page: lower page_limit or narrow the search"
                    )
                if time.monotonic() > deadline:
                    raise _too_slow(label, url, timeout)
        except requests.exceptions.RequestException as exc:
            raise OptimadeError(f"{label} broke off its answer ({type(exc).__name__}): try again") from None
        status = response.status_code
    if status == 404:
        raise NotFound(
            f"{label} has no OPTIMADE structures at {url} (HTTP 404): check the base URL "
            "(without /v1/structures, e.g. https://optimade.materialsproject.org)"
        )
    if status == 553:  # OPTIMADE's "Version Not Supported"
        raise NotFound(
            f"{label} does not serve the OPTIMADE version asked for at {url} (HTTP 553 Version Not "
            f"Supported: {_detail(bytes(body))})"
        )
    if status >= 500:
        raise OptimadeError(f"{label} failed on its side (HTTP {status}: {_detail(bytes(body))}): try again later or narrow the search")
    if status >= 400:
        raise OptimadeError(f"{label} refused the search (HTTP {status}: {_detail(bytes(body))}): check the filter {params.get('filter')!r}")
    if raw:
        return bytes(body).decode("utf-8", "replace")
    try:
        return json.loads(bytes(body))
    except ValueError:
        raise OptimadeError(f"{label} answered with something that is not JSON ({url}): is it an OPTIMADE base URL?") from None


def get_json(
    url: str, params: dict[str, Any], label: str, timeout: float, max_bytes: int = MAX_RESPONSE_BYTES,
    *, raw: bool = False,
) -> Any:
    """GET ``url`` with ``params`` and decode its JSON, in at most ``timeout`` seconds.

    Parameters
    ----------
    url : str
        What to get, e.g. ``https://optimade.materialsproject.org/v1/structures``.
    params : dict
        Its query parameters (``filter``, ``page_limit``).
    label : str
        The provider, as messages name it.
    timeout : float
        Seconds the whole request may take, from the name look-up to the last byte.
    max_bytes : int, default :data:`MAX_RESPONSE_BYTES`
        The largest answer taken.
    raw : bool, default False
        Return the answer as text instead (e.g. the CSV of ``/versions``).

    Returns
    -------
    object
        The decoded JSON (or the text).

    Raises
    ------
    OptimadeError
        Unreachable, no answer within ``timeout``, an HTTP error (with the provider's detail;
        :class:`NotFound` for HTTP 404 and 553), too large, or not JSON.
    """
    deadline = time.monotonic() + timeout
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["value"] = _get(url, params, label, deadline, max_bytes, raw, timeout)
        except OptimadeError as exc:
            box["error"] = exc
        except Exception as exc:  # noqa: BLE001 - handed to the caller, never lost in the thread
            box["error"] = OptimadeError(f"the search of {label} failed ({type(exc).__name__}: {exc})")
        finally:
            done.set()

    threading.Thread(target=work, name="cw-optimade-get", daemon=True).start()
    if not done.wait(timeout):
        raise _too_slow(label, url, timeout)
    if "error" in box:
        raise box["error"]
    return box["value"]
