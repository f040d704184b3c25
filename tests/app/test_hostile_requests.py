"""Hostile or careless requests refused cheaply: the app answers only on this machine unless told otherwise, an
upload over the limit is refused naming the file and the limit, and the URL's ``?project=`` is shown as typed
(never as Markdown). The canvas's crafted patches: tests/app/test_label_canvas.py, test_label_patches.py."""
import tomllib
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from seg_core.base.limits import Limits
from seg_core.workspace.projects import Projects
from segapp.data.uploads import within_limit
from segapp.words import escaped

ROOT = Path(__file__).resolve().parents[2]


def test_the_checkout_serves_on_loopback_only_with_an_upload_limit():
    """``streamlit run app.py`` from the checkout reads .streamlit/config.toml: the loopback address, and
    Streamlit's upload limit the same as the engine's."""
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["address"] == "127.0.0.1"
    assert server["maxUploadSize"] == Limits().max_upload_mb


@dataclass
class _Upload:  # what st.file_uploader hands the page: a name and a size (and the bytes)
    name: str
    size: int


def test_an_upload_over_the_limit_is_refused_naming_the_file_and_the_limit(monkeypatch):
    monkeypatch.setenv("SEG_CORE_MAX_UPLOAD_MB", "1")
    small, big = _Upload("cells.png", 1000), _Upload("huge_scan.tif", 3 * 1024 * 1024)
    kept, refused = within_limit([small, big])
    assert kept == [small]
    assert len(refused) == 1 and refused[0].startswith("huge_scan.tif: the file is 3")
    assert "more than the limit of 1 MB" in refused[0] and "SEG_CORE_MAX_UPLOAD_MB" in refused[0]


def test_the_url_project_name_is_shown_as_plain_text(tmp_path, monkeypatch):
    """A link with ``?project=`` holding Markdown (a link, emphasis, a colour) is named as typed."""
    Projects(tmp_path / "home").create("Alpha")
    monkeypatch.delenv("SEGAPP_WORKSPACE", raising=False)
    monkeypatch.setenv("SEGAPP_HOME", str(tmp_path / "home"))
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    hostile = "**Pay here** [click](http://evil.example) :red[now]"
    at.query_params["project"] = hostile
    at.run()
    said = [e.value for e in at.sidebar.success]
    assert said == [escaped(f"There is no project '{hostile}' any more (renamed or removed?).")]
    assert "\\[click\\]\\(http\\://evil\\.example\\)" in said[0] and "\\*\\*Pay here\\*\\*" in said[0]
    st.cache_resource.clear()
