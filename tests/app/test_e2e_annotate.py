"""The labelling loop in a real browser (the real app, headless Chromium): zoom in and paint on the Annotate
page and find the stroke in the saved mask at full resolution; propose a mask from a run, correct it, accept
it (the Data page says reviewed) and restore the old mask; continue training from a run."""
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.app.page_helpers import app_settled, read_png, wait_for_png
from segapp.harness import CanvasView, fill_train_form, streamlit_app, wait_for_work

STEM = "tissue_00"  # the Annotate page opens the first image
SHOTS = Path("/tmp/shots_annotate")


@pytest.fixture(scope="module")
def app(chromium, trained_ws, tmp_path_factory):
    """The app on a copy of trained_ws (the sample and a run); yields (url, workspace folder)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)
    root = tmp_path_factory.mktemp("e2e_annotate")
    shutil.copytree(trained_ws, root / "ws")
    with streamlit_app(root / "ws", root / "streamlit.log") as url:
        yield url, root / "ws"
    print((root / "streamlit.log").read_text()[-3000:])


@pytest.fixture
def page(browser_page, monkeypatch):
    monkeypatch.setenv("SHOTS_DIR", str(SHOTS))
    return browser_page


def _read(path: Path) -> np.ndarray | None:
    return read_png(path)


def _wait_for(path: Path, condition, timeout: float = 120) -> np.ndarray | None:
    return wait_for_png(path, condition, timeout)


def _settled(page) -> None:
    """The app finished its runs (the header's Stop button went away)."""
    app_settled(page)


def _free_spot(labels: np.ndarray, w: int = 16) -> tuple[int, int, int]:
    """(x, y, value): a class value and a place where a w-pixel stroke along row y holds no pixel of that
    value yet (in the 5 rows around it), so painting it there changes every pixel of the stroke."""
    h, width = labels.shape
    for value in (2, 1, 0):
        for y in [*range(h // 2, h - 8), *range(8, h // 2)]:
            for x in range(8, width - w - 8, 2):
                if (labels[y - 2:y + 3, x:x + w + 1] != value).all():
                    return x, y, value
    raise AssertionError("no place for the test stroke")


def _paint(page, view: CanvasView, value: int, x: int, y: int, w: int = 16) -> None:
    page.mouse.move(*view(x + 0.5, y + 0.5))
    page.keyboard.press(str(value + 1))  # the class by its number key (keys act while the pointer is over the canvas)
    view.stroke([(x + 0.5 + k, y + 0.5) for k in range(w + 1)])


def _check_stroke(m: np.ndarray, before: np.ndarray, x: int, y: int, value: int, w: int = 16) -> None:
    """The stroke is in ``m`` at full resolution where it was drawn, and nothing changed far from it."""
    assert m.shape == before.shape == (256, 256)
    assert (m[y - 2:y + 3, x:x + w + 1] == value).all()  # the 9 px brush: 4 px either side of the row
    changed = np.argwhere(m != before)
    assert len(changed) and changed[:, 0].min() >= y - 5 and changed[:, 0].max() <= y + 5
    assert changed[:, 1].min() >= x - 5 and changed[:, 1].max() <= x + w + 5


def _open_annotate(app, page):
    """The Annotate page on the first image: (workspace, its mask file, the mask now, the canvas)."""
    url, ws = app
    mask = ws / "data" / "masks" / f"{STEM}.png"
    before = _read(mask)
    page.goto(f"{url}/annotate")
    view = CanvasView(page)
    _settled(page)
    return ws, mask, before, view


def test_zoom_in_paint_and_find_the_stroke_in_the_mask_at_full_resolution(app, page):
    ws, mask, before, view = _open_annotate(app, page)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "annotate_plain.png"), full_page=True)
    x, y, value = _free_spot(before)
    view.zoom_to(4, x + 8, y)
    assert view.s >= 4  # at least 4 screen pixels per image pixel
    _paint(page, view, value, x, y)
    m = _wait_for(mask, lambda m: m is not None and (m[y, x:x + 17] == value).all())
    _check_stroke(m, before, x, y, value)
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "annotate_zoomed.png"), full_page=True)


def test_propose_correct_accept_then_restore(app, page):
    from playwright.sync_api import expect

    url, ws = app
    mask = ws / "data" / "masks" / f"{STEM}.png"
    proposal = ws / "proposals" / f"{STEM}.png"
    hand = _read(mask)
    run = sorted(p.name for p in (ws / "runs").iterdir() if (p / "model.safetensors").exists())[0]
    page.goto(f"{url}/annotate")
    CanvasView(page)
    _settled(page)
    page.get_by_role("button", name="Propose a mask").click()
    expect(page.get_by_text(f"Proposal from run {run} — not your label yet")).to_be_visible(timeout=60_000)
    proposed = _wait_for(proposal, lambda m: m is not None)
    _settled(page)
    view = CanvasView(page)
    x, y, value = _free_spot(proposed)
    _paint(page, view, value, x, y)  # the correction: a class where the run saw none
    corrected = _wait_for(proposal, lambda m: m is not None and (m[y, x:x + 17] == value).all())
    _check_stroke(corrected, proposed, x, y, value)
    assert np.array_equal(_read(mask), hand)  # the mask is untouched until Accept
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "annotate_proposal.png"), full_page=True)
    page.get_by_role("button", name="Accept the proposal").click()
    expect(page.get_by_text("the proposal is now the mask, marked reviewed")).to_be_visible()
    assert np.array_equal(_read(mask), corrected) and not proposal.exists()

    page.get_by_role("link", name="Data").click()
    expect(page.get_by_text(re.compile(r"^12 images: 1 reviewed, "))).to_be_visible()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(SHOTS / "data_states.png"), full_page=True)

    page.get_by_role("link", name="Annotate").click()
    CanvasView(page)
    _settled(page)
    page.get_by_role("button", name="Restore the previous mask").click()
    _wait_for(mask, lambda m: m is not None and np.array_equal(m, hand))
    expect(page.get_by_text("restored the mask from before")).to_be_visible()


def test_continue_training_from_a_run(app, page):
    from playwright.sync_api import expect

    url, ws = app
    runs = ws / "runs"
    old = {p.name for p in runs.iterdir()}
    first = sorted(old)[0]
    page.goto(f"{url}/train")
    expect(page.get_by_role("heading", name="Train")).to_be_visible()
    _settled(page)
    page.locator("[data-testid='stSelectbox']").filter(has_text="Continue from an earlier model").click()
    page.get_by_role("option", name=re.compile(re.escape(first))).click()
    expect(page.get_by_text("(from the run)")).to_be_visible()
    fill_train_form(page, budget_s=5, crop="64x64")
    _settled(page)
    page.get_by_role("button", name="Start training").click()
    wait_for_work(page, page.get_by_text("Training finished"), page.get_by_role("button", name="Cancel training"),
                  what="the training")
    [new] = [p for p in runs.iterdir() if p.is_dir() and p.name not in old]  # (the launch record is a file)
    config = json.loads((new / "config.json").read_text())
    assert Path(config["init_run"]).name == first and (new / "model.safetensors").exists()


def test_keys_save_the_stroke_then_go_to_the_next_image_back_and_accept(app, page):
    """PageDown right after a stroke: the stroke is saved to this image's mask, then the next image opens;
    PageUp goes back; A (no proposal, no suggestion) marks the mask reviewed."""
    from playwright.sync_api import expect

    ws, mask, before, view = _open_annotate(app, page)
    image = page.get_by_role("combobox", name="Image", exact=True)  # the image shown, as the page's choice says
    expect(image).to_have_value(re.compile(f"^{STEM}"))
    x, y, value = _free_spot(before)
    _paint(page, view, value, x, y)
    page.keyboard.press("PageDown")  # at once: the stroke may still be on its way
    expect(image).to_have_value(re.compile("^tissue_01"), timeout=60_000)
    _check_stroke(_wait_for(mask, lambda m: m is not None and (m[y, x:x + 17] == value).all()), before, x, y, value)
    _settled(page)
    view = CanvasView(page)
    page.mouse.move(*view(10, 10))
    page.keyboard.press("PageUp")
    expect(image).to_have_value(re.compile(f"^{STEM}"), timeout=60_000)
    _settled(page)
    view = CanvasView(page)
    page.mouse.move(*view(10, 10))
    page.keyboard.press("a")
    expect(page.get_by_text(f"{STEM}: marked as reviewed")).to_be_visible(timeout=60_000)
    assert STEM in json.loads((ws / "reviewed.json").read_text())
    page.screenshot(path=str(SHOTS / "annotate_keys.png"), full_page=True)
