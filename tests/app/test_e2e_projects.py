"""Projects in a real browser (streamlit server on a projects home + headless Chromium): two tabs on two
projects at once, each keeping its own through the sidebar's page links; create, rename, remove (confirmed, to
the trash) and restore from the sidebar."""
import io
from pathlib import Path

import numpy as np
from PIL import Image

from seg_core.workspace.projects import Projects
from segapp.harness import launch_chromium, streamlit_app
from tests.app.page_helpers import app_settled

WAIT = 180_000  # ms: a ceiling for a hang, the waits end as soon as the page shows what is expected


def _png(value: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), value, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _home(root: Path) -> Projects:
    home = Projects(root)
    alpha, beta = home.create("Alpha").open(), home.create("Beta").open()
    alpha.add_image("alpha_1.png", _png(10))
    for i in (1, 2):
        beta.add_image(f"beta_{i}.png", _png(200 + i))
    return home


# the main area's text with the values its choice boxes show (an <input> each)
MAIN_TEXT = """() => { const m = document.querySelector("[data-testid='stMain']"); if (!m) return "";
  return m.innerText + " " + [...m.querySelectorAll("input[role=combobox]")].map(i => i.value).join(" "); }"""


def _picked(page) -> str:
    """The project the sidebar's picker shows."""
    return page.get_by_role("combobox", name="Project").input_value()


def _shows(page, image: str, not_image: str) -> None:
    """The page names ``image`` (its image boxes and notes) and nothing of the other project's ``not_image``."""
    page.wait_for_function(f"() => ({MAIN_TEXT})().includes({image!r})", timeout=WAIT)
    assert not_image not in page.evaluate(MAIN_TEXT)


def _manage(page) -> None:
    """Open the sidebar's project settings (unless open already), once the app has finished its run (a run
    still going when the fields are filled may redraw the sidebar and lose what was typed)."""
    app_settled(page, WAIT)
    if not page.get_by_label("New project's name").is_visible():
        page.get_by_text("New project, rename, remove").click()
    page.get_by_label("New project's name").wait_for(timeout=WAIT)


def _click_until(page, button, shown) -> None:
    """Click ``button`` once the app has settled, until ``shown`` is visible: a click that lands while the
    sidebar is being redrawn (the removal's reruns) can be dropped by the browser, and a user clicks again.
    Three tries at most; the last waits the full ceiling."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(3):
        app_settled(page, WAIT)
        if attempt and not button.is_visible():
            break
        button.click()
        try:
            shown.wait_for(timeout=20_000 if attempt < 2 else WAIT)
            return
        except PlaywrightTimeout:
            continue
    shown.wait_for(timeout=WAIT)


def _open(page, url: str, project: str, images: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{url}/?project={project}")
    expect(page.get_by_role("heading", name=images)).to_be_visible(timeout=WAIT)


def _on_page(page, link: str, project: str, image: str, not_image: str) -> None:
    """Follow the sidebar's ``link``: the URL and the sidebar still name ``project``, the page its ``image``."""
    from playwright.sync_api import expect

    page.locator("[data-testid='stSidebar']").get_by_role("link", name=link).click()
    expect(page.get_by_role("heading", name=link)).to_be_visible(timeout=WAIT)
    _shows(page, image, not_image)
    assert f"project={project}" in page.url and _picked(page) == project


def test_two_tabs_work_on_two_projects_and_the_sidebar_manages_them(chromium, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    home = _home(tmp_path / "home")
    with streamlit_app(None, tmp_path / "streamlit.log", home=home.home) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab_a, tab_b = context.new_page(), context.new_page()
        errors: list[str] = []
        for tab in (tab_a, tab_b):
            tab.on("pageerror", lambda e: errors.append(str(e)))
        _open(tab_a, url, "Alpha", "1 image")
        _open(tab_b, url, "Beta", "2 images")
        _shows(tab_a, "alpha_1", "beta_")
        _shows(tab_b, "beta_1", "alpha_")

        _on_page(tab_a, "Annotate", "Alpha", "alpha_1", "beta_")
        _on_page(tab_b, "Annotate", "Beta", "beta_1", "alpha_")
        _on_page(tab_a, "Data", "Alpha", "alpha_1", "beta_")  # after tab B's runs, tab A is still on its project
        expect(tab_a.get_by_role("heading", name="1 image")).to_be_visible(timeout=WAIT)

        # create, rename, remove and restore in tab A; tab B stays on Beta
        _manage(tab_a)
        tab_a.get_by_label("New project's name").fill("Gamma")
        tab_a.get_by_role("button", name="Create project").click()
        expect(tab_a.get_by_role("heading", name="0 images")).to_be_visible(timeout=WAIT)  # opened, empty
        assert "project=Gamma" in tab_a.url and _picked(tab_a) == "Gamma" and (home.home / "Gamma" / "data" / "images").is_dir()

        _manage(tab_a)
        tab_a.get_by_label("New project's name").fill("Alpha")  # taken: refused, said in the sidebar
        tab_a.get_by_role("button", name="Create project").click()
        expect(tab_a.get_by_text("There is a project 'Alpha' already")).to_be_visible(timeout=WAIT)

        _manage(tab_a)
        tab_a.get_by_label("Rename this project to").fill("Gamma rays")
        tab_a.get_by_role("button", name="Rename").click()
        expect(tab_a.get_by_text("Renamed 'Gamma' to 'Gamma rays'.")).to_be_visible(timeout=WAIT)
        assert "project=Gamma+rays" in tab_a.url and (home.home / "Gamma rays").is_dir()
        assert not (home.home / "Gamma").exists()

        _manage(tab_a)
        tab_a.get_by_role("button", name="Remove this project…").click()
        dialog = tab_a.get_by_role("dialog")
        expect(dialog).to_contain_text("Gamma rays", timeout=WAIT)
        dialog.get_by_role("button", name="Remove").click()
        expect(tab_a.get_by_text("Removed the project 'Gamma rays'")).to_be_visible(timeout=WAIT)
        assert not (home.home / "Gamma rays").exists()
        assert [r.name for r in home.removed()] == ["Gamma rays"]  # in the trash, not deleted
        expect(tab_a.get_by_role("heading", name="1 image")).to_be_visible(timeout=WAIT)  # another project opened
        assert "project=Alpha" in tab_a.url

        _manage(tab_a)
        expect(tab_a.get_by_role("combobox", name="Removed projects")).to_have_value(
            __import__("re").compile("^Gamma rays"), timeout=WAIT)
        _click_until(tab_a, tab_a.get_by_role("button", name="Restore"),
                     tab_a.get_by_role("heading", name="0 images"))  # opened again
        assert "project=Gamma+rays" in tab_a.url and _picked(tab_a) == "Gamma rays"
        assert (home.home / "Gamma rays" / "data").is_dir() and home.removed() == []

        tab_b.reload()
        expect(tab_b.get_by_role("heading", name="Annotate")).to_be_visible(timeout=WAIT)
        _shows(tab_b, "beta_1", "alpha_")
        assert "project=Beta" in tab_b.url

        tab_b.get_by_role("combobox", name="Project").click()  # the picker opens another project in this tab
        tab_b.get_by_role("option", name="Alpha").click()
        _shows(tab_b, "alpha_1", "beta_")
        assert "project=Alpha" in tab_b.url and _picked(tab_b) == "Alpha"
        browser.close()
        assert not errors, errors
