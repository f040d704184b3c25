"""Training through the library: run folders, learning, cancel, repeatability, fp16, scribbles."""
import shutil
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from seg_core import DatasetError, Run, TrainConfig, evaluate_run, train
from seg_core.data.augment import AugmentConfig
from seg_core.runs.events import End, Start, Status, Step, Validation
from seg_core.runs.config import ConfigError
from seg_core.base.progress import Cancelled
from seg_core.training.loop import Trainer
from seg_core.runs.event_log import read_events
from seg_core.training.recorder import Checkpoint, Recorder


def test_run_folder_holds_everything_and_reloads(tiny_run, tiny_data):
    files = {p.name for p in tiny_run.path.iterdir()}
    assert {"config.json", "history.csv", "model.safetensors", "classes.json", "status.json"} <= files
    cfg = tiny_run.config
    assert cfg["num_classes"] == 3 and cfg["class_names"] == ["background", "cell", "nucleus"]
    assert len(cfg["split"]["val"]) >= 1  # a validation split was held out automatically
    hist = tiny_run.history()
    assert len(hist) == 2 and hist[-1]["val_miou"] is not None and hist[0]["trainable_params"] > 0
    model = Run(tiny_run.path).load_model()
    assert model(__import__("torch").rand(1, 3, 64, 64)).shape == (1, 3, 64, 64)


def test_training_learns_the_sample(tiny_data, tmp_path):
    run = train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=12, img_size=(64, 64),
                            val_fraction=0, val_interval_s=0))
    res = evaluate_run(run, tiny_data)
    assert res.pixel_accuracy > 0.85 and res.per_class_iou["cell"] > 0.3


def test_cancel_stops_within_a_step_and_keeps_a_checkpoint(tiny_data, tmp_path):
    stop = threading.Event()
    steps = []

    def progress(event):
        if isinstance(event, Step):
            steps.append(event.step)
            stop.set()

    run = train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=50, img_size=(64, 64)), progress, stop)
    assert run.status["state"] == "cancelled" and steps == [1]
    assert run.has_checkpoint


def test_same_seed_same_run(tiny_data, tmp_path):
    """A seeded run repeats exactly, also when 2 DataLoader worker processes read and augment the images."""
    kw = dict(data=str(tiny_data), epochs=2, img_size=(64, 64), precision="fp32", seed=3, val_interval_s=0)
    a = train(TrainConfig(out=str(tmp_path / "a"), **kw)).history()
    b = train(TrainConfig(out=str(tmp_path / "b"), **kw)).history()
    assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]
    workers = train(TrainConfig(out=str(tmp_path / "w"), num_workers=2, cache_mb=1, **kw))
    assert [r["train_loss"] for r in workers.history()] == [r["train_loss"] for r in a]
    assert workers.config["num_workers"] == 2 and workers.status["state"] == "done"




def test_events_arrive_in_order_with_their_fields(tiny_data, tmp_path):
    events = []
    run = train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=2, img_size=(64, 64),
                            val_interval_s=0), events.append)
    kinds = [e.kind for e in events]
    assert kinds[0] == "status" and kinds[-1] == "end"
    assert kinds.index("start") < kinds.index("step") < kinds.index("validation")
    start = next(e for e in events if isinstance(e, Start))
    # 5 images trained, 1 held out; batches of 2: 3 steps a round
    assert start.train_images + start.val_images == 6 and start.img_size == (64, 64) and start.total_steps == 6
    steps = [e for e in events if isinstance(e, Step)]
    assert [e.step for e in steps] == [1, 2, 3, 4, 5, 6]
    # the whole run's progress: the last validation and saving still follow the last step
    assert all(a.progress < b.progress for a, b in zip(steps, steps[1:])) and steps[-1].progress < 1.0
    assert steps[-1].eta is not None and steps[-1].eta > 0
    end = events[-1]
    assert isinstance(end, End) and end.state == "done" and end.steps == 6 and end.checkpoint
    assert end.total_s >= end.seconds and end.time_budget is None  # preparation counted; epochs decided
    assert run.status["state"] == "done" and run.status["steps"] == 6  # status.json holds the End fields
    vals = [e for e in events if isinstance(e, Validation)]
    assert [r["epoch"] for r in run.history()] == [v.epoch for v in vals]  # history.csv = Validation events


def test_cancel_while_preparing_saves_nothing(tiny_data, tmp_path):
    stop = threading.Event()

    def progress(event):
        if isinstance(event, Status):
            stop.set()  # the user presses Cancel while the data loads

    with pytest.raises(Cancelled, match="nothing was saved"):
        train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=5, img_size=(64, 64)), progress, stop)
    assert not (tmp_path / "r" / "model.safetensors").exists()


def test_fp16_trains_with_a_gradient_scaler(tiny_data, tmp_path):
    """precision fp16 takes the path with a gradient scaler (float16 gradients underflow without one)."""
    cfg = TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=1, img_size=(64, 64), precision="fp16",
                      val_interval_s=0)
    trainer = Trainer(cfg, [Recorder(cfg.out)])
    run = trainer.run()
    assert trainer.amp == torch.float16 and trainer.scaler.is_enabled()
    assert run.status["state"] == "done" and np.isfinite(run.history()[-1]["train_loss"])
    bf = Trainer(TrainConfig(data=str(tiny_data), out=str(tmp_path / "b"), epochs=1, img_size=(64, 64),
                             precision="bf16", val_interval_s=0), [Recorder(tmp_path / "b")])
    bf.run()
    assert bf.amp == torch.bfloat16 and not bf.scaler.is_enabled()


def test_the_trainer_sends_every_event_to_each_of_its_sinks_in_order(tiny_data, tmp_path):
    cfg = TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=1, img_size=(64, 64), val_interval_s=0)
    seen = []
    run = Trainer(cfg, [Recorder(cfg.out), seen.append]).run()
    kinds = [type(e).__name__ for e in seen]
    assert kinds[0] == "Status" and kinds[-1] == "End" and run.has_checkpoint
    assert kinds[kinds.index("Checkpoint") + 1] == "Validation"  # the best network, just before its validation
    logged, _ = read_events(run.path / "events.jsonl")  # what the recorder wrote: the same events, no Checkpoint
    assert [e.kind for e in logged if not isinstance(e, Step)] == \
        [e.kind for e in seen if not isinstance(e, (Step, Checkpoint))]


def test_scribbles_train_and_unlabelled_batches_are_skipped(tiny_data, tmp_path):
    """Partial labels: most pixels unlabelled (255); a batch with no labelled pixel is skipped, never NaN."""
    data = tmp_path / "scribbles"
    shutil.copytree(tiny_data, data)
    for i, m in enumerate(sorted((data / "masks").glob("*.png"))):
        full = np.array(Image.open(m))
        part = np.full_like(full, 255)
        if i == 0:  # one image keeps a labelled stripe, the others none at all
            part[30:34] = full[30:34]
        out = Image.fromarray(part, mode="P")
        out.putpalette(Image.open(m).getpalette())
        out.save(m)
    events = []
    run = train(TrainConfig(data=str(data), out=str(tmp_path / "r"), epochs=3, img_size=(64, 64), batch_size=2,
                            val_fraction=0, ignore_index=255, augment=AugmentConfig.none()), events.append)
    steps = [e for e in events if isinstance(e, Step)]
    assert steps and all(np.isfinite(e.loss) and np.isfinite(e.loss_avg) for e in steps)
    assert steps[-1].skipped > 0  # crops of the unlabelled images were skipped
    assert run.has_checkpoint and run.status["state"] == "done"


def test_masks_without_any_labelled_pixel_are_refused(tiny_data, tmp_path):
    data = tmp_path / "empty"
    shutil.copytree(tiny_data, data)
    for m in (data / "masks").glob("*.png"):
        Image.fromarray(np.full((64, 64), 255, np.uint8)).save(m)
    with pytest.raises(DatasetError, match="no labelled pixel"):
        train(TrainConfig(data=str(data), out=str(tmp_path / "r"), epochs=1, ignore_index=255))


def test_colours_are_evened_out_to_the_training_images_or_to_those_of_the_run_continued(tiny_run, tiny_data,
                                                                                        tmp_path):
    """A run's colour reference is its training images' (darker images: a darker reference); continuing a run
    keeps that run's, since its network learned on images brought to it."""
    dark = tmp_path / "dark"
    shutil.copytree(tiny_data, dark)
    for p in (dark / "images").glob("*.png"):
        Image.fromarray((np.array(Image.open(p).convert("RGB")) * 0.5).astype(np.uint8)).save(p)
    fresh = train(TrainConfig(data=str(dark), out=str(tmp_path / "f"), epochs=1, img_size=(64, 64), val_interval_s=0))
    assert fresh.colour_reference.mean[0] < tiny_run.colour_reference.mean[0] - 20  # L*: darker
    cont = train(TrainConfig(data=str(dark), out=str(tmp_path / "c"), epochs=1, img_size=(64, 64), val_interval_s=0,
                             init_run=str(tiny_run.path)))
    assert cont.colour_reference == tiny_run.colour_reference


def test_continue_from_a_run(tiny_run, tiny_data, tmp_path):
    """A run can start from another run's checkpoint; other classes or another network are refused."""
    events = []
    cont = train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "c"), epochs=1, img_size=(64, 64),
                             init_run=str(tiny_run.path), val_interval_s=0), events.append)
    assert any(isinstance(e, Status) and f"(from run {tiny_run.name})" in e.message for e in events)
    assert cont.config["init_run"] == str(tiny_run.path)
    fresh = train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "f"), epochs=1, img_size=(64, 64),
                              val_interval_s=0))
    # one epoch from the trained run starts where that run ended, far ahead of one epoch from ImageNet
    assert cont.history()[-1]["train_loss"] < fresh.history()[-1]["train_loss"]
    with pytest.raises(ConfigError, match="Continue from run: run 'tiny' is a efficientnet_lite0 unet; choose the same"):
        train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "x"), arch="fpn", init_run=str(tiny_run.path)))
    other = tmp_path / "two_classes"
    shutil.copytree(tiny_data, other)
    (other / "classes.json").write_text('{"classes": [{"name": "bg"}, {"name": "fg"}]}')
    for m in (other / "masks").glob("*.png"):
        Image.fromarray((np.array(Image.open(m)) > 0).astype(np.uint8)).save(m)
    with pytest.raises(ConfigError, match=r"trained on the classes \['background', 'cell', 'nucleus'\], the data has \['bg', 'fg'\]"):
        train(TrainConfig(data=str(other), out=str(tmp_path / "y"), epochs=1, init_run=str(tiny_run.path)))
