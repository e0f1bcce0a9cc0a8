"""The one line a job table shows for a failure: the innermost cause, not the wrapper.

A recipe's failure is stored as Python's whole traceback text (the details keep it). quacc
wraps every calculator error in ``quacc.JobFailure: Calculation failed! Files stored at
...``, raised *from* the real error, and Python prints a chain innermost first. So the
headline is the exception line ending the first traceback of the chain
(``NotImplementedError: No EMT-potential for Na``). A runner's own sentence (``its process
... was killed by SIGKILL ...``), which may be followed by a stderr tail, is headlined by
its first line.
"""

from __future__ import annotations

import re

__all__ = ["error_headline"]

_TRACEBACK = "Traceback (most recent call last):"
_CHAIN = re.compile(
    r"^(The above exception was the direct cause of the following exception:"
    r"|During handling of the above exception, another exception occurred:)$",
    re.M,
)
#: A traceback's frame and source lines are indented; its exception line is not.
_INDENTED = ("  ", "\t")


def error_headline(text: str | None, limit: int = 200) -> str | None:
    """The innermost cause of a failure's text, on one line of at most ``limit`` characters.

    Parameters
    ----------
    text
        An error as stored with a job (a traceback, or a runner's message).
    limit
        Longest headline; longer ones are cut with an ellipsis.
    """
    if not text or not text.strip():
        return None
    head = text.lstrip()
    cut = head.startswith("…")  # stored errors keep the end of long ones
    if head.startswith("Traceback") or (cut and (_TRACEBACK in head or _CHAIN.search(head))):
        first = _CHAIN.split(head, maxsplit=1)[0].splitlines()
        if cut:
            first = first[1:]  # a line cut in the middle
        # the exception line: the unindented lines after the frames (a message may span lines)
        lines = [ln.strip() for ln in first if ln.strip() and not ln.startswith(_INDENTED)]
        lines = [ln for ln in lines if not ln.startswith("Traceback")]
        line = " ".join(lines) if lines else head.splitlines()[-1].strip()
    else:
        line = next(ln.strip() for ln in head.splitlines() if ln.strip())
    return line if len(line) <= limit else line[: limit - 1] + "…"
