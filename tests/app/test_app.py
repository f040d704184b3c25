"""The entry file app.py: the app's own navigation in the sidebar, declared before anything slow."""
import subprocess
import sys

from streamlit.testing.v1 import AppTest

from page_helpers import ROOT, elements


def test_app_opens_on_data_with_its_navigation_in_the_sidebar(fresh_ws):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Data"]
    links = elements(at.sidebar, "page_link")
    assert [(link.proto.label, link.proto.icon) for link in links] == [
        ("Data", ":material/folder:"), ("Annotate", ":material/brush:"), ("Train", ":material/model_training:"),
        ("Review", ":material/search:"), ("Runs & export", ":material/inventory_2:")]
    assert any(str(fresh_ws) in c.value for c in at.sidebar.caption)
    at.switch_page("pages/review.py").run()
    assert not at.exception and [t.value for t in at.title] == ["Review"]
    assert len(elements(at.sidebar, "page_link")) == 5  # still inside the app's navigation


def test_first_page_shows_without_loading_torch(fresh_ws):
    """The navigation and the Data page need no torch (it takes seconds to import on a fresh server)."""
    code = ("import sys; from streamlit.testing.v1 import AppTest; "
            "at = AppTest.from_file('app.py', default_timeout=120).run(); "
            "assert not at.exception, at.exception; print([t.value for t in at.title], 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "['Data'] False"
