"""Messages with a technical tail: what a user should do, in their words, and for whoever runs the app the
technical details (an environment variable, a file to copy). The CLI prints the whole message; the app shows
the first part and keeps the rest under "Technical details".

Two forms are understood: ``with_details(user, technical)`` (joined by ``DETAILS``), and the size limits'
common wording (``limits.exceeded``: "..., or raise the limit with the environment variable X (now n)").

A message that tells which setting to give (how the masks read, the unlabelled value) names it with
``given(mask_values="binary")``: a mark, never a command-line flag or a page's label. Each front end words the
marks of what it shows with ``worded(text, word)``: the command line as its flags (``--mask-values binary``),
the app in plain words.
"""
from __future__ import annotations

import re
from typing import Callable

DETAILS = " Technical details: "
_GIVEN = re.compile(r"\{\{given ([^{}]*)\}\}")
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


def given(*names: str, **settings) -> str:
    """A mark naming settings the user can give, in a message: ``given("ignore_index")`` the setting itself,
    ``given(ignore_index=255, mask_values="index")`` settings with their values (in that order), ``given()``
    a setting in general. Worded by each front end (``worded``)."""
    return "{{given " + " ".join([*names, *(f"{k}={v}" for k, v in settings.items())]) + "}}"


def worded(text: str, word: Callable[[list[tuple[str, str | None]]], str]) -> str:
    """``text`` with each mark of ``given`` replaced by ``word(settings)``: its (setting, value or None) pairs in
    order (none for ``given()``: "the setting that settles it")."""
    def settings(inside: str) -> list[tuple[str, str | None]]:
        return [(k, v if sep else None) for k, sep, v in (part.partition("=") for part in inside.split())]
    return _GIVEN.sub(lambda m: word(settings(m.group(1))), str(text))


def setting_names(text: str) -> str:
    """``text`` with the settings it names as the settings' own names (``mask_values=index``, as in a run's
    config.json): for records kept in files, read by no front end in particular."""
    return worded(text, lambda settings: " ".join(k if v is None else f"{k}={v}" for k, v in settings) or "a setting")
