"""The open project of a browser tab, and the sidebar's project picker (open, create, rename, remove, restore).

The open project is in the page URL (``?project=NAME``) and in the session, so each tab keeps its own and the
sidebar's page links carry it (app.py). Opening another project from the sidebar loads the page afresh on its
URL (``follow_switch``, ``reload.js``), as a new tab would: nothing of the project before stays in the page's
widgets. ``$SEGAPP_WORKSPACE`` pins the app to one folder: then there are no
projects and the sidebar names that folder. The projects themselves are the engine's
(``seg_core.workspace.projects``).
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from seg_core.workspace.members import OWNER, Members, NotAllowed
from seg_core.workspace.projects import Project, ProjectError, Projects, pinned_workspace
from segapp import access
from segapp.words import escaped

PARAM = "project"  # the URL's query parameter naming the open project
OPEN = "project"  # session state: the open project's name
WANTED = "project_wanted"  # session state: the project a sidebar action opens next
MSG = "project_msg"  # session state: what the last project action did, said once
KEEP = ("project", "run_no")  # session state kept when the tab opens another project (prefixes)
REMOVED = "removed"  # the URL's query parameter naming the project this tab just removed (said once)
# loads the page afresh (a new session) with other query parameters: the widgets of the project before are not
# carried over (a widget keeps the value its browser side holds unless the page is loaded anew)
_reload = st.components.v2.component("segmentation_studio.open_url",
                                     js=(Path(__file__).with_name("reload.js")).read_text(encoding="utf-8"))


@st.cache_resource(show_spinner="Preparing the projects folder…")
def _prepared(home: str) -> list[str]:
    """The home prepared once per server (``Projects.ensure``: the sample project of a new home, the
    workspace of earlier versions adopted); its notes for the user."""
    return Projects(home).ensure()


def home() -> Projects | None:
    """The projects (their home prepared), or None when ``$SEGAPP_WORKSPACE`` pins one folder."""
    if pinned_workspace() is not None:
        return None
    projects = Projects()
    notes = _prepared(str(projects.home))
    if notes and not st.session_state.get("project_notes_shown"):
        st.session_state["project_notes_shown"] = True
        st.session_state[MSG] = " ".join(notes)
    return projects


def _forget_other_project() -> None:
    """This tab opens another project: what its pages kept in the session (the selected image, a job, widget
    values) belonged to the one before."""
    for key in list(st.session_state.keys()):
        if not str(key).startswith(KEEP):
            del st.session_state[key]


def current() -> Project | None:
    """This tab's project: the URL's, else the session's, else the one opened last (None: there is none). A
    project removed or renamed meanwhile (another tab) is said once and another one opened."""
    projects = home()
    if projects is None:
        return None
    listed = {p.name: p for p in access.visible(projects.list())}  # a member sees only their projects
    removed = st.query_params.pop(REMOVED, None)
    if removed:
        st.session_state[MSG] = f"Removed the project '{removed}': restore it under the project settings."
    # the URL's project, else the session's (renamed in this tab: the URL follows below)
    wanted = [n for n in (st.query_params.get(PARAM), st.session_state.get(OPEN)) if n]
    project = next((listed[n] for n in wanted if n in listed), None)
    if project is None:
        if wanted:
            st.session_state[MSG] = f"There is no project '{wanted[0]}' any more (renamed or removed?)."
        project = listed.get(projects.last_opened() or "") or next(iter(listed.values()), None)
    if project is None:
        st.query_params.pop(PARAM, None)
        return None
    if st.session_state.get(OPEN) not in (None, project.name):
        _forget_other_project()
    if st.session_state.get(OPEN) != project.name:
        projects.opened(project.name)
    st.session_state[OPEN] = project.name
    if st.query_params.get(PARAM) != project.name:
        st.query_params[PARAM] = project.name
    return project


def follow_switch() -> None:
    """After a sidebar action that opens another project: load the page afresh on it (and stop this run)."""
    params = st.session_state.pop(WANTED, None)
    if params is not None:
        _reload(data={"params": params}, key="project_reload")
        st.stop()


def link_params(project: Project | None) -> dict | None:
    """The query parameters the sidebar's page links carry: the open project (None: none to carry)."""
    return {PARAM: project.name} if project is not None else None


def _open(name: str) -> None:
    """Open project ``name`` in this tab: the page is loaded afresh on it (``follow_switch``)."""
    st.session_state[WANTED] = {PARAM: name}


def _create(projects: Projects) -> None:
    name = st.session_state.get("project_new_name", "")
    someone = access.person()
    if someone is None or not someone.creator:
        who = someone.who if someone else "nobody signed in"
        st.session_state[MSG] = ("error", f"{who} may not create projects: the studio's configuration lists who may "
                                          f"({access.DOCS}).")
        return
    try:
        made = projects.create(name, sample=st.session_state.get("project_new_sample", False))
    except ProjectError as err:
        st.session_state[MSG] = ("error", str(err))
        return
    if someone.signed_in:  # the one who made it is its owner (on one's own machine: the owner of everything)
        Members(made.root).set(someone.who, OWNER)
    access.did(made.root, "members", f"project created; {someone.who} is owner")
    _open(made.name)


def _rename(projects: Projects, old: str) -> None:
    if not _allowed(projects, old, "rename"):
        return
    try:
        renamed = projects.rename(old, st.session_state.get(f"project_rename:{old}", ""))
    except ProjectError as err:
        st.session_state[MSG] = ("error", str(err))
        return
    access.did(renamed.root, "rename", f"from {old} to {renamed.name}")
    st.session_state[OPEN] = renamed.name  # the same project: what the pages hold stays, the URL follows
    st.session_state[MSG] = f"Renamed '{old}' to '{renamed.name}'."


def _allowed(projects: Projects, name: str, action: str) -> bool:
    """Whether this tab's person may do ``action`` to project ``name``; a refusal said as the picker's message."""
    try:
        access.require(projects.get(name).root, action)
    except (NotAllowed, ProjectError) as err:
        st.session_state[MSG] = ("error", str(err))
        return False
    return True


def _restore(projects: Projects) -> None:
    if not access.may_create():
        st.session_state[MSG] = ("error", "Only the people who may create projects may restore one.")
        return
    removed = {f"{r.name} (removed {r.removed})": r for r in projects.removed()}
    chosen = removed.get(st.session_state.get("project_restore"))
    if chosen is None:
        return
    try:
        back = projects.restore(chosen)
    except ProjectError as err:
        st.session_state[MSG] = ("error", str(err))
        return
    _open(back.name)


@st.dialog("Remove this project?")
def _confirm_remove(projects: Projects, name: str) -> None:
    st.write(f"The project **{name}** (its images, masks and trained models) goes to the removed projects' "
             "folder; you can restore it from the sidebar's project settings.")
    st.caption(f"Technical details: moved to `{projects.home / 'trash'}`, nothing is deleted.")
    left, right = st.columns(2)
    if left.button("Remove", type="primary", key="project_remove_yes"):
        if not _allowed(projects, name, "remove"):
            st.rerun()
        access.did(projects.get(name).root, "remove", f"the project {name}")
        try:
            where = projects.remove(name)
        except (ProjectError, OSError) as err:
            st.error(str(err))
            return
        st.session_state[WANTED] = {REMOVED: where.name}  # afresh, on the project opened last or the first
        st.rerun()
    if right.button("Keep it", key="project_remove_no"):
        st.rerun()


def _say_message(where) -> None:
    """The last project action's message, as plain text: it may hold what the URL said (``?project=...``)."""
    msg = st.session_state.pop(MSG, None)
    if isinstance(msg, tuple):
        where.error(escaped(msg[1]))
    elif msg:
        where.success(escaped(msg))


def sidebar(project: Project | None, where) -> None:
    """The project picker for ``project`` (this tab's) in ``where`` (a sidebar container), or with a pinned
    folder just its name."""
    projects = home()
    if projects is None:
        where.caption(f"Project folder: `{pinned_workspace()}`", help="Set by the server (SEGAPP_WORKSPACE): this app "
                           "opens this one folder; without it, the app offers its projects.")
        return
    _say_message(where)
    names = [p.name for p in access.visible(projects.list())]
    if project is not None:
        st.session_state["project_pick"] = project.name
        where.selectbox("Project", names, key="project_pick", on_change=lambda: _open(
            st.session_state["project_pick"]), help=f"Each project is its own folder in {projects.home}: its "
            "images, masks, classes and trained models. The address of this page names the open project, "
            "so another browser tab can work on another one.")
    creator = access.may_create()
    manage = project is not None and access.can(project.root, "remove")  # its owner
    if not (creator or manage):
        return
    with where.expander(("New project, rename, remove" if creator else "Rename, remove") if manage else "New project",
                        expanded=project is None):
        if creator:
            st.text_input("New project's name", key="project_new_name", placeholder="e.g. Liver sections")
            st.checkbox("Start with the sample images", key="project_new_sample",
                        help="A small set of microscope images with cells and nuclei, some already labelled.")
            st.button("Create project", on_click=_create, args=(projects,), key="project_create")
        if manage:
            st.divider()
            st.text_input("Rename this project to", value=project.name, key=f"project_rename:{project.name}")
            st.button("Rename", on_click=_rename, args=(projects, project.name), key="project_rename_go")
            st.divider()
            if st.button("Remove this project…", key="project_remove"):
                _confirm_remove(projects, project.name)
        removed = projects.removed() if creator else []
        if removed:
            st.divider()
            st.selectbox("Removed projects", [f"{r.name} (removed {r.removed})" for r in removed],
                         key="project_restore")
            st.button("Restore", on_click=_restore, args=(projects,), key="project_restore_go")
