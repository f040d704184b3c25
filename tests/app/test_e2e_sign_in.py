"""Sign-in with a real OpenID Connect provider (oidc-provider-mock, on a free port) and the real app (streamlit
run, its secrets.toml's [auth] pointing at the provider) in headless Chromium: before signing in nothing of any
project shows; the owner signs in and sees the project, its members and who did what; a viewer sees the project
but no canvas to paint on, Start training, Remove this project or member editing; signing out works; a session
cookie that expired or was signed with another secret is refused. One project of one 16x16 image: quick."""
import io
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seg_core.workspace.activity import record
from seg_core.workspace.members import Members
from seg_core.workspace.projects import Projects
from segapp.harness import free_port, launch_chromium, streamlit_app
from tests.app.page_helpers import app_settled

WAIT = 180_000  # ms: a ceiling for a hang
SECRET = "test-cookie-secret-0123456789abcdef"
COOKIE = "_streamlit_user"  # Streamlit's signed session cookie (itsdangerous, salted with its name)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def served(tmp_path_factory, chromium):
    """The provider and the app signed in against it (its HOME holds .streamlit/secrets.toml), one project."""
    from oidc_provider_mock import run_server_in_thread

    tmp = tmp_path_factory.mktemp("signin")
    home = Projects(tmp / "projects")
    ws = home.create("Cells").open()
    ws.add_image("cells_1.png", _png())
    Members(ws.root).set("ana@lab.org", "owner")
    Members(ws.root).set("bo@lab.org", "viewer")
    record(ws.root, "ana@lab.org", "import", "cells_1.png")
    port = free_port()
    with run_server_in_thread(port=0) as provider:
        (tmp / "home" / ".streamlit").mkdir(parents=True)
        (tmp / "home" / ".streamlit" / "secrets.toml").write_text(f"""
[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{SECRET}"
client_id = "segmentation-studio"
client_secret = "any"
server_metadata_url = "http://localhost:{provider.server_port}/.well-known/openid-configuration"

[studio]
project_creators = ["ana@lab.org"]
""")
        with streamlit_app(None, tmp / "app.log", home=home.home, port=port,
                           env={"HOME": str(tmp / "home")}) as url:
            yield url, ws.root


def _main_text(page) -> str:
    return page.locator("[data-testid='stApp']").inner_text()


def _wait_text(page, *texts: str) -> str:
    """Wait until the app shows each of ``texts``; the app's text then."""
    for text in texts:
        page.wait_for_function("t => document.querySelector(\"[data-testid='stApp']\").innerText.includes(t)", arg=text,
                               timeout=WAIT)
    return _main_text(page)


def _sign_in(page, url: str, email: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Sign in").click(timeout=WAIT)
    page.locator("input[name=sub]").fill(email, timeout=WAIT)  # the provider's form: who signs in
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text(f"Signed in as {email}").wait_for(timeout=WAIT)
    app_settled(page, WAIT)


def _new_page(browser, cookie: str | None = None, url: str = ""):
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    if cookie is not None:
        context.add_cookies([{"name": COOKIE, "value": cookie, "url": url}])
    page = context.new_page()
    page.set_default_timeout(60_000)
    return page


def _shows_sign_in_only(page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Sign in").wait_for(timeout=WAIT)
    app_settled(page, WAIT)
    text = _main_text(page)
    assert "Sign in to see your projects" in text
    assert "Cells" not in text and "cells_1" not in text and "Signed in as" not in text


def _dumps_at(secret: str, payload, then: int) -> str:
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return then

    return URLSafeTimedSerializer(secret, salt=COOKIE, signer=Then).dumps(payload)


def test_sign_in_roles_sign_out_and_refused_sessions(served, chromium):
    from playwright.sync_api import sync_playwright

    url, root = served
    shots = Path(os.environ.get("SHOTS_DIR", "/tmp/shots"))  # the sign-in page, the Data page as owner and viewer
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = _new_page(browser)
            _shows_sign_in_only(page, url)  # before signing in: nothing of any project
            page.screenshot(path=str(shots / "sign_in_page.png"))

            _sign_in(page, url, "ana@lab.org")  # the owner: the project, its members, who did what
            _wait_text(page, "Who may work on this project", "bo@lab.org: viewer", "ana@lab.org added cells_1.png")
            assert page.get_by_role("combobox", name="Project", exact=True).input_value() == "Cells"
            assert page.get_by_role("button", name="Add member").is_visible()
            page.get_by_text("Recent activity").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "data_owner.png"))
            cookie = next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE)
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_timeout(1000)
            _shows_sign_in_only(page, url)
            page.context.close()

            page = _new_page(browser)  # the viewer: looks, nothing to change with
            _sign_in(page, url, "bo@lab.org")
            _wait_text(page, "Only the project's owners change who may work on it", "ana@lab.org added cells_1.png")
            assert page.get_by_role("button", name="Remove", exact=True).is_disabled()
            assert not page.get_by_role("button", name="Add member").count()
            assert not page.get_by_text("Remove this project…").count()
            page.get_by_text("Recent activity").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "data_viewer.png"))
            page.goto(f"{url}/annotate?project=Cells")
            page.get_by_text("changing them needs the annotator's or owner's role").wait_for(timeout=WAIT)
            assert not page.locator(".lc-view").count()  # no canvas to paint with
            page.goto(f"{url}/train?project=Cells")
            start = page.get_by_role("button", name="Start training")
            start.wait_for(timeout=WAIT)
            assert start.is_disabled()
            page.context.close()

            # the owner's session cookie: accepted as signed now; refused signed with another secret, or too old
            for value, accepted in ((_dumps_at(SECRET, _payload(cookie), int(time.time())), True),
                                    (_dumps_at("a-forged-secret-of-the-same-length!", _payload(cookie),
                                               int(time.time())), False),
                                    (_dumps_at(SECRET, _payload(cookie), int(time.time() - 40 * 86400)), False)):
                page = _new_page(browser, value, url)
                if accepted:
                    page.goto(url)
                    page.get_by_text("Signed in as ana@lab.org").wait_for(timeout=WAIT)
                else:
                    _shows_sign_in_only(page, url)
                page.context.close()
        finally:
            browser.close()


def _payload(cookie: str):
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(SECRET, salt=COOKIE).loads(cookie)
