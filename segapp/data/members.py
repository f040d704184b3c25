"""Who may work on the project, on the Data page: its members and their roles; its owner adds one, changes a
role or takes one off (``seg_core.workspace.members``, the same as ``python -m seg_core members``)."""
from __future__ import annotations

import streamlit as st

from seg_core.workspace.members import ROLES, MemberError, Members
from segapp import access
from segapp.words import escaped

ROLE_WORDS = {"owner": "owner: everything, also who may work here, renaming and removing the project",
              "annotator": "annotator: add images, paint, accept, change classes, train, export",
              "viewer": "viewer: look and download"}


def members_panel(ws) -> None:
    team = Members(ws.root)
    try:
        listed = team.all()
    except MemberError as err:
        st.error(str(err))
        return
    if access.mode() == "local":
        st.caption("On this computer only you use the studio, so these roles apply once it is served to your lab "
                   f"with sign-in ({access.DOCS}).")
    if listed:
        st.markdown("\n".join(f"- **{escaped(email)}**: {ROLE_WORDS[role]}" for email, role in listed.items()))
    else:
        st.caption("No members yet: the people who may create projects are its owners until some are added.")
    if not access.can(ws.root, "members"):
        st.caption("Only the project's owners change who may work on it.")
        return
    c1, c2, c3 = st.columns([3, 3, 1], vertical_alignment="bottom")
    email = c1.text_input("E-mail address", key="member_email", placeholder="name@example.org")
    role = c2.selectbox("Role", list(ROLES), key="member_role", format_func=ROLE_WORDS.get)
    if c3.button("Add member", key="member_add", help="Adds the person, or gives a member this role.") \
            and access.allowed(ws.root, "members"):
        _change(ws, lambda: team.set(email, role), f"{email.strip().lower()} is {role}")
    if listed:
        c1, _, c3 = st.columns([3, 3, 1], vertical_alignment="bottom")
        gone = c1.selectbox("Take off the project", list(listed), key="member_gone")
        if c3.button("Remove", key="member_remove") and access.allowed(ws.root, "members"):
            _change(ws, lambda: team.remove(gone), f"{gone} removed")


def _change(ws, change, what: str) -> None:
    try:
        change()
    except MemberError as err:
        st.error(str(err))
        return
    access.did(ws.root, "members", what)
    st.rerun()
