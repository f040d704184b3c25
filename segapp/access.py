"""Who is using the app, and what they may do in a project: the one place every page and every action asks.

Three ways the app runs (``mode``):

- **local**: no sign-in configured and the server answers on this machine only (``server.address`` is
  127.0.0.1, localhost or ::1, as ``.streamlit/config.toml`` sets it): one person, this machine's user
  (``getpass.getuser``), owner of every project: the app works as it always did.
- **sign-in**: ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's ``st.login``, OpenID Connect):
  nothing of any project is shown before signing in; then each project's members (``members.json``,
  ``seg_core.workspace.members``) say who sees it and what they may do. The people who may create projects are
  listed in the same file (``[studio] project_creators``); they are also the owners of a project that has no
  members yet (one made before sign-in was switched on), until they add some.
- **closed**: no sign-in configured, yet the server answers on the network: no project is shown, and the page
  says how to switch sign-in on (docs/lab-server.md).

``require`` raises ``NotAllowed`` (naming the person, their role and the action) and ``allowed`` says it on the
page; both run in the server when the action is asked for, whatever the browser showed. ``did`` writes the
action to the project's activity record (``seg_core.workspace.activity``) with who did it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from seg_core.workspace import activity
from seg_core.workspace.members import OWNER, MemberError, Members, NotAllowed, allows, local_user
from segapp.words import escaped

LOOPBACK = ("127.0.0.1", "localhost", "::1")
DOCS = "docs/lab-server.md"
_SAME_ENTRY_S = 300  # the same person doing the same thing to the same image again within this: recorded once


@dataclass(frozen=True)
class Person:
    who: str  # the e-mail address signed in with, or this machine's user
    signed_in: bool
    creator: bool  # may create (and restore) projects


def _secrets() -> dict:
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets.toml (StreamlitSecretNotFoundError, a FileNotFoundError), or a damaged one
        return {}


def sign_in_configured() -> bool:
    """Whether ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's sign-in)."""
    return bool(_secrets().get("auth"))


def creators() -> set[str]:
    """The people who may create projects (``[studio] project_creators`` in secrets.toml), in lower case."""
    listed = _secrets().get("studio", {}).get("project_creators", [])
    return {str(e).strip().lower() for e in (listed if isinstance(listed, list) else [listed])}


def on_loopback() -> bool:
    """Whether the server answers on this machine only."""
    return str(st.get_option("server.address") or "") in LOOPBACK


def mode() -> str:
    """"sign-in", "local" or "closed" (see the module's docstring)."""
    if sign_in_configured():
        return "sign-in"
    return "local" if on_loopback() else "closed"


def _user():
    """``st.user`` (a mapping: ``is_logged_in``, ``email`` and the provider's other claims)."""
    return st.user


def person() -> Person | None:
    """Who is using this tab (None: nobody signed in, or the app is closed)."""
    m = mode()
    if m == "local":
        return Person(local_user(), False, True)
    if m == "closed":
        return None
    user = _user()
    email = str(user.get("email") or "").strip().lower()
    if not user.get("is_logged_in") or not email:
        return None
    return Person(email, True, email in creators())


def gate() -> Person:
    """First in app.py, after the navigation: who is using this tab; else (not signed in, or the app closed) the
    sign-in page, or how to switch sign-in on, and the run stops. The sidebar names who is signed in, with
    Sign out."""
    m = mode()
    someone = person()
    if someone is None:
        st.title("Segmentation studio")
        if m == "closed":
            st.error("This studio answers on the network but sign-in is not set up, so no project is shown. "
                     "Either serve it on this computer only (start it from its folder, whose "
                     ".streamlit/config.toml sets server.address = \"127.0.0.1\", or add --server.address "
                     "127.0.0.1), or switch sign-in on: an [auth] section in .streamlit/secrets.toml "
                     f"(see {DOCS}).")
        elif _user().get("is_logged_in"):
            st.error("Your sign-in did not say your e-mail address, which this studio needs to know your "
                     "projects. Ask whoever runs the sign-in service to include it (the 'email' scope).")
            st.button("Sign out", on_click=st.logout, key="access_sign_out")
        else:
            st.write("Sign in to see your projects.")
            st.button("Sign in", type="primary", on_click=st.login, key="access_sign_in")
        st.stop()
    if someone.signed_in:
        st.sidebar.caption(f"Signed in as **{escaped(someone.who)}**")
        st.sidebar.button("Sign out", on_click=st.logout, key="access_sign_out")
    return someone




def role(root: Path) -> str | None:
    """This tab's person's role in the project folder ``root`` (None: none, or nobody signed in)."""
    someone = person()
    if someone is None:
        return None
    if not someone.signed_in:
        return OWNER  # on one's own machine: the owner of everything
    try:
        team = Members(root).all()
    except MemberError as err:  # a damaged members.json: said, and nobody has a role until it is fixed
        st.error(str(err))
        return None
    if not team:  # a project from before sign-in: its owners are the people who may create projects
        return OWNER if someone.creator else None
    return team.get(someone.who)


def can(root: Path, action: str) -> bool:
    """Whether this tab's person may do ``action`` (``seg_core.workspace.members.ACTIONS``) in ``root``."""
    return allows(role(root), action)


def require(root: Path, action: str) -> str:
    """This tab's person's role in ``root``; ``NotAllowed`` naming them, the role and ``action`` when it does not
    allow it."""
    someone, held = person(), role(root)
    if not allows(held, action):
        raise NotAllowed(someone.who if someone else "nobody signed in", held, action, Path(root).name)
    return held


def allowed(root: Path, action: str) -> bool:
    """``require``, with a refusal said on the page (``st.error``) and False returned."""
    try:
        require(root, action)
    except NotAllowed as err:
        st.error(str(err))
        return False
    return True


def did(root: Path, action: str, what: str = "") -> None:
    """Record that this tab's person did ``action`` (on ``what``) in ``root``'s activity record. The same again
    by the same tab within five minutes (strokes on one image) is recorded once."""
    someone = person()
    last = st.session_state.get("_access_last")
    now = time.monotonic()
    if last is not None and last[:3] == (str(root), action, what) and now - last[3] < _SAME_ENTRY_S:
        return
    st.session_state["_access_last"] = (str(root), action, what, now)
    activity.record(root, someone.who if someone else local_user(), action, what)


def may_create() -> bool:
    someone = person()
    return someone is not None and someone.creator


def visible(projects: list) -> list:
    """The projects (each with ``.root``) this tab's person may look at."""
    if mode() == "local":
        return list(projects)
    return [p for p in projects if can(p.root, "view")]
