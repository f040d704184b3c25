"""Who may do what, checked in the server (segapp.access): pages run with a signed-in identity (AppTest's
``user`` and ``secrets``, as st.login leaves them) against a project's members. A viewer's forged click on a
button the page showed disabled is refused naming them, their role and the action, and nothing changes; a
member sees only their projects; nothing shows before signing in, nor when served openly without sign-in.
The same with a real sign-in service in Chromium: test_e2e_sign_in.py."""
import json

import pytest
import streamlit as st
from streamlit import config
from streamlit.testing.v1 import AppTest

from seg_core.workspace.activity import recent
from seg_core.workspace.layout import Layout
from seg_core.workspace.members import ACTIONS, ROLES, Members
from seg_core.workspace.projects import Projects
from page_helpers import ROOT, page

AUTH = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                 "client_id": "studio", "client_secret": "s",
                 "server_metadata_url": "http://localhost:9400/.well-known/openid-configuration"},
        "studio": {"project_creators": ["ana@lab.org"]}}


def _as(at: AppTest, email: str | None) -> AppTest:
    at.secrets = json.loads(json.dumps(AUTH))
    at.user = {"is_logged_in": True, "email": email} if email else {"is_logged_in": False}
    return at


@pytest.fixture
def team(fresh_ws):
    """The sample project with an owner, an annotator and a viewer."""
    page("data.py").run()  # seeds the sample
    members = Members(fresh_ws)
    members.set("ana@lab.org", "owner")
    members.set("cy@lab.org", "annotator")
    members.set("bo@lab.org", "viewer")
    return fresh_ws


def test_a_viewer_sees_the_buttons_disabled(team):
    at = _as(page("data.py"), "bo@lab.org").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.button(key="remove_btn").disabled and at.button(key="class_apply").disabled
    assert not [b for b in at.button if b.key == "member_add"]  # only owners change the members
    at = _as(page("train.py"), "bo@lab.org").run()
    assert at.button(key="start_training").disabled


def test_a_click_from_someone_demoted_to_viewer_changes_nothing(team):
    """The page showed the buttons (an annotator), then an owner made them a viewer: the clicks that arrive
    change nothing (the server finds the buttons disabled for them now and the guards refuse them)."""
    layout = Layout(team)
    classes = layout.classes_file.read_text()
    data, data2, train = (_as(page(p), "cy@lab.org").run() for p in ("data.py", "data.py", "train.py"))
    assert not data.button(key="remove_btn").disabled and not train.button(key="start_training").disabled
    Members(team).set("cy@lab.org", "viewer")
    data.selectbox(key="remove_stem").set_value("tissue_11")
    data.button(key="remove_btn").click().run()
    data2.button(key="class_apply").click().run()
    train.button(key="start_training").click().run()
    assert data.button(key="remove_btn").disabled and train.button(key="start_training").disabled
    assert "tissue_11" in layout.stems() and layout.classes_file.read_text() == classes and recent(team) == []
    assert not (team / "runs").is_dir() or not any((team / "runs").iterdir())


GUARDS = """
import streamlit as st
from segapp import access
from seg_core.workspace.members import ACTIONS, NotAllowed
out = {}
for action in ACTIONS:
    try:
        out[action] = access.require(st.session_state["root"], action)
    except NotAllowed as err:
        out[action] = str(err)
st.session_state["out"] = out
"""


@pytest.mark.parametrize("who, may", [
    ("ana@lab.org", set(ROLES["owner"])), ("cy@lab.org", set(ROLES["annotator"])), ("bo@lab.org", {"view", "download"}),
    ("eve@else.org", set())])
def test_the_guards_allow_each_role_its_actions_only(team, who, may):
    at = _as(AppTest.from_string(GUARDS), who)
    at.session_state["root"] = str(team)
    out = at.run().session_state["out"]
    assert {a for a, r in out.items() if not r.endswith(".")} == may  # a role where allowed, a refusal else
    for action in set(ACTIONS) - may:
        assert out[action].startswith(f"{who} (") and ACTIONS[action] in out[action]


def test_a_viewer_gets_no_canvas(team):
    at = _as(page("annotate.py"), "bo@lab.org").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [e for e in at.main if getattr(e, "type", None) == "bidi_component"]  # no canvas to send edits
    assert any("changing them needs the annotator's or owner's role" in c.value for c in at.caption)



def test_an_annotator_paints_and_the_owner_changes_the_members(team):
    at = _as(page("annotate.py"), "cy@lab.org").run()
    assert [e for e in at.main if getattr(e, "type", None) == "bidi_component"]  # the canvas
    at = _as(page("data.py"), "cy@lab.org").run()
    assert not at.button(key="class_apply").disabled
    assert not [b for b in at.button if b.key == "member_add"]

    at = _as(page("data.py"), "ana@lab.org").run()
    at.text_input(key="member_email").set_value("Dee@Lab.org")
    at.selectbox(key="member_role").set_value("annotator")
    at.button(key="member_add").click().run()
    assert Members(team).all()["dee@lab.org"] == "annotator"
    at.selectbox(key="member_gone").set_value("ana@lab.org")
    at.button(key="member_remove").click().run()  # the last owner stays
    assert any("ana@lab.org is the project's last owner" in e.value for e in at.error)
    [entry] = recent(team)
    assert (entry.who, entry.action, entry.what) == ("ana@lab.org", "members", "dee@lab.org is annotator")
    text = " ".join(m.value for m in at.markdown)
    assert "**ana\\@lab\\.org** changed who may work here: dee\\@lab\\.org is annotator" in text


def test_someone_who_is_no_member_sees_nothing_of_the_project(team):
    at = _as(page("data.py"), "eve@else.org").run()
    assert [e.value for e in at.error] == ["eve@else.org (not a member) may not look at this project in 'ws'."]
    assert not at.dataframe and "tissue" not in " ".join(m.value for m in at.markdown)


@pytest.fixture
def home(tmp_path, monkeypatch):
    projects = Projects(tmp_path / "home")
    for name, who in (("Alpha", "bo@lab.org"), ("Beta", "ana@lab.org")):
        Members(projects.create(name).root).set(who, "owner")
    projects.create("Old")  # from before sign-in: no members
    monkeypatch.delenv("SEGAPP_WORKSPACE", raising=False)
    monkeypatch.setenv("SEGAPP_HOME", str(projects.home))
    st.cache_resource.clear()
    yield projects
    st.cache_resource.clear()


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


def test_a_member_sees_only_their_projects_and_creators_the_unclaimed_ones(home):
    at = _as(_app(), "bo@lab.org").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.sidebar.selectbox(key="project_pick").options == ["Alpha"]
    assert "Signed in as **bo\\@lab\\.org**" in [c.value for c in at.sidebar.caption]
    assert not [t for t in at.sidebar.text_input if t.key == "project_new_name"]  # bo may not create projects
    at = _as(_app(), "ana@lab.org").run()
    assert at.sidebar.selectbox(key="project_pick").options == ["Beta", "Old"]


def test_nothing_is_shown_before_signing_in(home):
    at = _as(_app(), None).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.sidebar.selectbox and not at.dataframe
    shown = " ".join(e.value for e in (*at.markdown, *at.title, *at.caption, *at.info))
    assert "Alpha" not in shown and "Beta" not in shown


def test_served_openly_without_sign_in_no_project_is_shown(home):
    config.set_option("server.address", "0.0.0.0")
    try:
        at = _app().run()
    finally:
        config.set_option("server.address", "127.0.0.1")
    assert not at.exception, [e.value for e in at.exception]
    [error] = at.error
    assert "sign-in is not set up, so no project is shown" in error.value and "[auth]" in error.value
    assert not at.sidebar.selectbox and not at.dataframe
