import os
import shutil
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data"


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """The bundled sample shrunk to 64x64 (6 pairs): fast to train on."""
    out = tmp_path_factory.mktemp("tiny")
    (out / "images").mkdir()
    (out / "masks").mkdir()
    for p in sorted((SAMPLE / "images").glob("*.png"))[:6]:
        img = np.array(Image.open(p))
        Image.fromarray(cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA)).save(out / "images" / p.name)
        m = Image.open(SAMPLE / "masks" / p.name)
        small = m.resize((64, 64), Image.NEAREST)
        small.save(out / "masks" / p.name)
    shutil.copy(SAMPLE / "classes.json", out / "classes.json")
    return out


@pytest.fixture(scope="session")
def tiny_run(tiny_data, tmp_path_factory):
    """A run trained for 2 epochs on tiny_data through the library, in fp32: "auto" would take bf16 on a CPU
    with AMX, and this barely trained model's near ties then round apart from its fp32 exports (2 % of pixels)."""
    from seg_core import TrainConfig, train

    out = tmp_path_factory.mktemp("runs") / "tiny"
    return train(TrainConfig(data=str(tiny_data), out=str(out), epochs=2, img_size=(64, 64), precision="fp32",
                             val_interval_s=0))


@pytest.fixture(scope="session")
def tiny_onnx(tiny_run, tmp_path_factory) -> Path:
    """tiny_run exported as an ONNX file (which describes itself)."""
    from seg_core.infer.export import export_onnx

    return export_onnx(tiny_run, tmp_path_factory.mktemp("onnx") / "tiny.onnx")


# -- the app's pages (AppTest) -----------------------------------------------------------------------
@pytest.fixture
def fresh_ws(tmp_path, monkeypatch):
    """An empty workspace (the app seeds it with the sample) for a page run, with Streamlit caches cleared."""
    import streamlit as st

    monkeypatch.setenv("SEGAPP_WORKSPACE", str(tmp_path / "ws"))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tmp_path / "ws"
    st.cache_resource.clear()


@pytest.fixture(scope="session")
def trained_ws(tmp_path_factory):
    """A workspace (the sample) with one tiny 1-epoch run."""
    from seg_core import TrainConfig, Workspace, train

    root = tmp_path_factory.mktemp("app_ws") / "ws"
    ws = Workspace(root)
    train(TrainConfig(data=str(ws.data_dir), out=str(ws.new_run_dir("efficientnet_lite0")), epochs=1,
                      img_size=(64, 64), time_budget=None, require_masks=False, weights="imagenet"))
    return root


@pytest.fixture
def use_trained(trained_ws, monkeypatch):
    """trained_ws as the app's workspace for a page run."""
    import streamlit as st

    monkeypatch.setenv("SEGAPP_WORKSPACE", str(trained_ws))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield trained_ws
    st.cache_resource.clear()


@pytest.fixture(scope="module")
def chromium():
    """Browser tests need Debian's chromium and playwright: skipped without them, but failed on CI."""
    from segapp.harness import CHROMIUM, INSTALL_HINT

    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    pytest.importorskip("playwright.sync_api")



@pytest.fixture
def trained_copy(trained_ws, tmp_path, monkeypatch):
    """A copy of trained_ws as the app's workspace for a page run, for tests that change or damage it."""
    import streamlit as st

    ws = tmp_path / "ws"
    shutil.copytree(trained_ws, ws)
    monkeypatch.setenv("SEGAPP_WORKSPACE", str(ws))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield ws
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def browser_page(chromium, request):
    """A headless Chromium page (1400x1100); fails the test on a JavaScript error in the page, and saves a
    screenshot to ``$SHOTS_DIR`` (default /tmp/shots) as ``failure_<test>.png`` when the test failed."""
    from playwright.sync_api import sync_playwright

    from segapp.harness import launch_chromium

    failed = request.session.testsfailed
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(60_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            yield page
            if request.session.testsfailed > failed:
                shots = Path(os.environ.get("SHOTS_DIR", "/tmp/shots"))
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / f"failure_{request.node.name}.png"), full_page=True)
            assert not errors, errors
        finally:
            browser.close()


@pytest.fixture(autouse=True)
def _no_training_outlives_its_test(request):
    """A training the app started runs in its own process and outlives the page by design
    (``seg_core.runner.launch``); a test that started one and failed before cancelling it must not leave it
    running on for the rest of the suite: after each test, stop those launched under its tmp_path."""
    where = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if where is None:
        return
    import signal

    from seg_core.runner.launch import LAUNCH, Launched

    for record in where.rglob(LAUNCH):
        launched = Launched.from_file(record)
        if launched is not None and launched.alive():
            try:
                os.killpg(launched.pid, signal.SIGKILL)
            except OSError:
                pass
