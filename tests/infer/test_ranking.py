"""Label next: uncertainty maps, ranking images, the rank command."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from seg_core import Predictor
from seg_core.infer.ranking import heat_overlay, rank_images, uncertainty_map

from conftest import ROOT


def test_uncertainty_is_zero_when_sure_and_one_on_a_tie():
    sure = np.zeros((3, 2, 2), np.float32)
    sure[1] = 1
    tie = np.full((3, 2, 2), 1 / 3, np.float32)
    for measure in ("entropy", "margin"):
        assert uncertainty_map(sure, measure).max() < 1e-5
        assert uncertainty_map(tie, measure).min() > 0.999
    two = np.stack([np.full((1, 1), 0.6), np.full((1, 1), 0.4)]).astype(np.float32)
    assert uncertainty_map(two, "margin")[0, 0] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="choose one of: entropy, margin"):
        uncertainty_map(sure, "variance")
    over = heat_overlay(np.zeros((2, 2, 3), np.uint8), uncertainty_map(tie))
    assert over.shape == (2, 2, 3) and over.dtype == np.uint8 and over.any()


def test_noise_ranks_above_the_kind_of_image_the_model_learnt(tiny_run, tiny_data, tmp_path):
    folder = tmp_path / "pool"
    folder.mkdir()
    Image.open(sorted((tiny_data / "images").glob("*.png"))[0]).save(folder / "known.png")
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(folder / "noise.png")
    (folder / "broken.png").write_bytes(b"not a png")
    rows = rank_images(Predictor(tiny_run), sorted(folder.iterdir()))
    assert rows[-1].image == "broken.png" and {r.image for r in rows[:2]} == {"noise.png", "known.png"}
    assert rows[-1].error and "broken.png" in rows[-1].error
    assert all(0 <= r.score <= 1 for r in rows[:2])

    res = subprocess.run([sys.executable, "-m", "seg_core", "rank", "--run", str(tiny_run.path), "--images",
                          str(folder), "--json"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    scored = [o for o in out if o["score"] is not None]
    assert {o["image"] for o in out} == {"known.png", "noise.png", "broken.png"}
    assert [o["score"] for o in scored] == sorted((o["score"] for o in scored), reverse=True)  # most unsure first
    assert out[-1]["image"] == "broken.png" and "error" in out[-1]


def test_an_image_too_large_for_probabilities_is_listed_with_why(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("SEG_CORE_MAX_PROB_PIXELS", "1000")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "big.png")
    rows = rank_images(Predictor(tiny_run), [tmp_path / "big.png"])
    assert rows[0].error.startswith("big.png: not ranked:") and "tile" in rows[0].error


def test_ranking_counts_each_image_and_a_cancel_keeps_the_images_ranked(tiny_run, tiny_data):
    import threading

    from seg_core.base.progress import Cancelled

    files = sorted((tiny_data / "images").glob("*.png"))[:3]
    cancel, counts = threading.Event(), []

    def progress(count):
        counts.append(count.text())
        if count.done == 2:
            cancel.set()  # the user cancels while the second image is scored

    with pytest.raises(Cancelled, match="^ranking cancelled after 2 of 3 images$") as stop:
        rank_images(Predictor(tiny_run), files, progress=progress, cancel=cancel)
    assert counts == [f"1/3 images ranked · {files[0].name}", f"2/3 images ranked · {files[1].name}"]
    assert sorted(r.image for r in stop.value.partial) == [files[0].name, files[1].name]
