"""``python -m seg_core preview``: writes the whole mask as a palette PNG; refuses bad input naming the file."""
import numpy as np
import pytest
from PIL import Image

from seg_core.cli import main

from helpers import cli
from assist_images import UNPAINTED, strokes, two_regions


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("preview")
    img, truth = two_regions()
    Image.fromarray(img).save(root / "image.png")
    Image.fromarray(strokes(truth.shape)).save(root / "partial.png")
    Image.fromarray(np.full((10, 12), UNPAINTED, np.uint8)).save(root / "small.png")
    bad = strokes(truth.shape)
    bad[0, 0] = 9
    Image.fromarray(bad).save(root / "bad.png")
    for sub in ("images", "masks"):
        (root / "examples" / sub).mkdir(parents=True)
    for seed in (1, 2):
        ex, ex_truth = two_regions(seed)
        Image.fromarray(ex).save(root / "examples" / "images" / f"ex{seed}.png")
        Image.fromarray(ex_truth).save(root / "examples" / "masks" / f"ex{seed}.png")
    return root, truth


def test_preview_writes_a_palette_mask(files):
    root, truth = files
    out = root / "out.png"
    res = cli("preview", "--image", str(root / "image.png"), "--labels", str(root / "partial.png"),
              "--out", str(out), "--examples", str(root / "examples"))
    assert res.returncode == 0, res.stderr
    assert "wrote the preview mask to" in res.stdout
    mask = Image.open(out)
    assert mask.mode == "P"
    pred = np.array(mask)
    assert pred.shape == truth.shape and (pred == truth).mean() > 0.9


@pytest.mark.parametrize("labels, extra, message", [
    ("missing.png", [], "missing.png: file not found"),
    ("small.png", [], "small.png (beside {image}): is 12x10 but the image is 80x64"),
    ("bad.png", ["--num-classes", "2"], "bad.png (beside {image}): holds values [9]"),
])
def test_preview_refuses_bad_input_naming_the_file(files, capsys, labels, extra, message):
    root, _ = files
    code = main(["preview", "--image", str(root / "image.png"), "--labels", str(root / labels),
                 "--out", str(root / "never.png"), *extra])
    assert code == 2
    assert message.format(image=root / "image.png") in capsys.readouterr().err
    assert not (root / "never.png").exists()


def test_preview_refuses_a_missing_image(files, capsys):
    root, _ = files
    assert main(["preview", "--image", str(root / "nope.png"), "--labels", str(root / "partial.png"),
                 "--out", str(root / "never.png")]) == 2
    assert "nope.png: file not found" in capsys.readouterr().err
