"""The first-run guide: on top of the app's first page in a new workspace, what to do on each page in order;
put away with one click, it stays away for that workspace (a reload, another tab), and the sidebar brings it
back."""
from streamlit.testing.v1 import AppTest

from page_helpers import ROOT, elements
from test_page_words import engineering_words


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


def _guide(at) -> str:
    return " ".join(m.value for m in at.markdown if m.value.startswith("**Welcome!"))


def test_the_guide_shows_each_page_in_order_until_put_away(fresh_ws):
    at = _app().run()
    assert not at.exception, [e.value for e in at.exception]
    guide = _guide(at)
    order = [guide.find(f"**{page}**") for page in ("Data", "Annotate", "Train", "Review", "Runs & export")]
    assert -1 not in order and order == sorted(order), guide
    assert not engineering_words(at), engineering_words(at)
    assert [t.value for t in at.title] == ["Data"]  # the page is there under it

    at.button(key="guide_hide").click().run()
    assert not _guide(at) and (fresh_ws / "guide_dismissed").exists()
    again = _app().run()  # a reload, another tab: remembered in the workspace
    assert not _guide(again)
    assert any(b.proto.label == "Show the guide" for b in elements(again.sidebar, "button"))
    again.button(key="guide_show").click().run()
    assert _guide(again) and not (fresh_ws / "guide_dismissed").exists()
