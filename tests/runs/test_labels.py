"""Each run keeps the labels it trained on: a copy of its masks and a manifest taken once at the start;
edits during a training reach the next run only; two runs' label sets compare; continuing a run keeps its
held-out images held out."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from seg_core import TrainConfig, train
from seg_core.data.dataset import DatasetError
from seg_core.runs.events import Start
from seg_core.runs.labels import LABELS, MANIFEST, LabelSet
from seg_core.training.training_data import load_training_data, split_validation


@pytest.fixture
def data(tiny_data, tmp_path):
    """A copy of tiny_data (6 labelled images) this test may change; 255 marks unlabelled pixels, as in the app."""
    out = shutil.copytree(tiny_data, tmp_path / "data")
    classes = json.loads((out / "classes.json").read_text())
    (out / "classes.json").write_text(json.dumps(classes | {"unlabelled": 255}))
    return out


def test_a_training_reads_its_masks_from_the_copy_taken_at_the_start(data, tmp_path):
    originals = {p.name: p.read_bytes() for p in (data / "masks").iterdir()}
    edited = []

    def progress(event):
        if isinstance(event, Start) and not edited:  # the masks are read while training: edit them all now
            for p in sorted((data / "masks").iterdir()):
                (p.unlink() if p.name < "tissue_03" else Image.fromarray(np.full((64, 64), 255, np.uint8)).save(p))
                edited.append(p.name)

    run = train(TrainConfig(data=str(data), out=str(tmp_path / "runs" / "r"), epochs=2, img_size=(64, 64),
                            val_interval_s=0), displays=progress)
    assert edited and run.state == "done" and run.has_checkpoint
    labels = LabelSet.of(run.path)
    assert sorted(i.image for i in labels.images) == sorted(originals)
    for i in labels.images:  # the copies are the masks as they were when the run started
        copy = run.path / LABELS / i.mask
        assert copy.read_bytes() == originals[i.image]
        assert i.labelled_pixels == 64 * 64 and sum(i.pixels_per_class.values()) == 64 * 64
    assert {i.stem for i in labels.held_out()} == set(run.config["split"]["val"])
    assert labels.summary().startswith(f"trained on {len(labels.trained())} image(s) ({len(labels.trained()) * 4096:,}")


def test_the_manifest_lists_only_labelled_images_and_their_pixels_per_class(data, tmp_path):
    (data / "masks" / "tissue_05.png").unlink()  # an image not labelled yet: not part of the run
    m = np.array(Image.open(data / "masks" / "tissue_04.png"))
    m[:, 32:] = 255  # half of it unlabelled
    Image.fromarray(m).save(data / "masks" / "tissue_04.png")
    run_dir = tmp_path / "runs" / "r"
    load_training_data(TrainConfig(data=str(data), out=str(run_dir), require_masks=False, val_fraction=0))
    manifest = json.loads((run_dir / LABELS / MANIFEST).read_text())
    assert [i["image"] for i in manifest["images"]] == [f"tissue_0{k}.png" for k in range(5)]
    row = next(i for i in manifest["images"] if i["image"] == "tissue_04.png")
    assert row["labelled_pixels"] == int((m != 255).sum())
    assert row["pixels_per_class"] == {n: int((m == k).sum()) for k, n in enumerate(manifest["classes"])}
    assert sorted(p.name for p in (run_dir / LABELS / "masks").iterdir()) == [f"tissue_0{k}.png" for k in range(5)]


def test_refused_data_leaves_no_run_folder(data, tmp_path):
    (data / "masks" / "tissue_00.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="tissue_00.png"):
        load_training_data(TrainConfig(data=str(data), out=str(tmp_path / "runs" / "r")))
    assert not (tmp_path / "runs" / "r").exists()


def test_two_runs_label_sets_compare(data, tmp_path):
    cfg = dict(require_masks=False, val_fraction=0)
    load_training_data(TrainConfig(data=str(data), out=str(tmp_path / "a"), **cfg))
    (data / "masks" / "tissue_00.png").unlink()
    m = np.array(Image.open(data / "masks" / "tissue_01.png"))
    m[0, 0] = 255
    Image.fromarray(m).save(data / "masks" / "tissue_01.png")
    shutil.copy(data / "images" / "tissue_02.png", data / "images" / "new.png")
    shutil.copy(data / "masks" / "tissue_02.png", data / "masks" / "new.png")
    load_training_data(TrainConfig(data=str(data), out=str(tmp_path / "b"), **cfg))
    changes = LabelSet.of(tmp_path / "a").compare(LabelSet.of(tmp_path / "b"))
    assert (changes.added, changes.removed, changes.changed) == (["new"], ["tissue_00"], ["tissue_01"])
    assert changes.text() == "1 added, 1 removed, 1 changed, 4 unchanged"
    assert LabelSet.of(tmp_path / "nothing") is None  # a run from before runs kept their labels


def test_continuing_a_run_keeps_its_held_out_images_held_out(data, tmp_path):
    first = tmp_path / "runs" / "first"
    first.mkdir(parents=True)
    split = {"train": ["tissue_00", "tissue_01", "tissue_02", "tissue_03"], "val": ["tissue_04"]}
    (first / "config.json").write_text(json.dumps({"split": split}))
    for seed in range(6):  # whatever the seed, the earlier run's images keep their side
        got = load_training_data(TrainConfig(data=str(data), out=str(tmp_path / "runs" / "next"), seed=seed,
                                             init_run=str(first), val_fraction=0.34)).split
        assert "tissue_04" in got["val"] and not set(split["train"]) & set(got["val"])
        assert got["val"] == ["tissue_04", "tissue_05"]  # 2 of 6 held out: the new image makes up the share
    samples = load_training_data(TrainConfig(data=str(data), out="")).dataset.labelled
    fresh = [split_validation(samples, 0.34, seed)[1] for seed in range(6)]
    assert any({s.stem for s in v} & set(split["train"]) for v in fresh)  # a fresh split would have mixed them
