"""Messages with a technical tail: what a user should do, in their words, and for whoever runs the app the
technical details (an environment variable, a file to copy). The CLI prints the whole message; the app shows
the first part and keeps the rest under "Technical details".

Two forms are understood: ``with_details(user, technical)`` (joined by ``DETAILS``), and the size limits'
common wording (``limits.exceeded``: "..., or raise the limit with the environment variable X (now n)").
"""
from __future__ import annotations

import re

DETAILS = " Technical details: "
_LIMIT = re.compile(r", or raise the limit with the environment variable (\w+) \(now ([^)]*)\)")


def with_details(user: str, technical: str) -> str:
    return f"{user}{DETAILS}{technical}"


def split_details(message: str) -> tuple[str, str | None]:
    """(what the user reads, the technical details or None) of an engine message."""
    text = str(message)
    if DETAILS in text:
        user, technical = text.split(DETAILS, 1)
        return user, technical
    found = _LIMIT.search(text)
    if found is None:
        return text, None
    user = text[:found.start()] + " (a limit of this app, set where it is started)" + text[found.end():]
    return user, f"the limit is the environment variable {found.group(1)} (now {found.group(2)})"
