"""Learning from unlabelled images: the EMA teacher, its confident pseudo-labels, strong views, lazy reading."""
import numpy as np
import torch
from PIL import Image

from seg_core.data.augment import AugmentConfig
from seg_core.base.mask_values import IGNORE
from seg_core.training.semi_supervised import MeanTeacher, ema_model, strong_view


def test_ema_follows_the_student_with_a_warm_up():
    student = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1), torch.nn.BatchNorm2d(2))
    ema = ema_model(student, decay=0.99)
    with torch.no_grad():
        student[0].weight.fill_(1.0)
    ema.update_parameters(student)  # the first update copies
    assert torch.equal(ema.module[0].weight, student[0].weight)
    with torch.no_grad():
        student[0].weight.fill_(2.0)
    ema.update_parameters(student)  # n=1: decay (1 + 1) / (10 + 1), far below 0.99: mostly the student
    w = float(ema.module[0].weight.detach()[0, 0])
    assert abs(w - (1.0 * 2 / 11 + 2.0 * 9 / 11)) < 1e-5
    for _ in range(2000):
        ema.update_parameters(student)
    assert abs(float(ema.module[0].weight.detach()[0, 0]) - 2.0) < 1e-4


def test_strong_view_keeps_the_geometry_and_changes_the_pixels():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)
    out = strong_view(img, rng)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert (out == 127).all(-1).sum() >= int(64 * 0.15) * int(80 * 0.15)  # the cut-out box
    assert not np.array_equal(out, img)


class Constant(torch.nn.Module):
    """Class 1 with probability ``p`` on the left half, class 0 with 0.99 on the right."""

    def __init__(self, p):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.p = p

    def forward(self, x):
        n, _, h, w = x.shape
        probs = torch.empty(n, 2, h, w)
        probs[:, 1, :, : w // 2], probs[:, 0, :, : w // 2] = self.p, 1 - self.p
        probs[:, 0, :, w // 2:], probs[:, 1, :, w // 2:] = 0.99, 0.01
        return probs.log() + self.w


def test_pseudo_labels_only_where_the_teacher_is_sure(tmp_path):
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "a.png")
    mt = MeanTeacher(Constant(0.6), [tmp_path / "a.png"], (32, 32), AugmentConfig.none(), np.random.default_rng(0))
    weak = torch.zeros(2, 3, 32, 32)
    labels = mt.pseudo_labels(weak, torch.autocast("cpu", enabled=False))
    assert (labels[:, :, :16] == IGNORE).all() and (labels[:, :, 16:] == 0).all()
    assert abs(mt.stats.confident - 0.5) < 1e-6
    sure = MeanTeacher(Constant(0.95), [tmp_path / "a.png"], (32, 32), AugmentConfig.none(), np.random.default_rng(0))
    assert (sure.pseudo_labels(weak, torch.autocast("cpu", enabled=False))[:, :, :16] == 1).all()
    assert mt.loss(torch.zeros(2, 2, 32, 32), torch.full((2, 32, 32), IGNORE)) is None


def test_batches_read_lazily_and_name_an_unreadable_image(tmp_path):
    for i in range(3):
        Image.fromarray(np.full((50, 60, 3), 40 * i, np.uint8)).save(tmp_path / f"img{i}.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    files = sorted(tmp_path.glob("*.png"))
    mt = MeanTeacher(Constant(0.9), files, (32, 32), AugmentConfig(), np.random.default_rng(1))
    assert not mt.cache  # nothing read before the first batch
    crops = [mt.batch(4) for _ in range(5)]
    assert all(c.shape == (4, 32, 32, 3) and c.dtype == np.uint8 for c in crops)
    assert mt.unreadable and mt.unreadable[0].startswith("broken.png: ")
    assert tmp_path / "broken.png" not in mt.images and len(mt.cache) == 3


def test_cli_trains_with_unlabelled_images_and_saves_the_average(tiny_data, tmp_path):
    """--unlabelled: the images of the folder without a mask train as pseudo-labels; a run comes out that
    predicts, and its config records the folder."""
    import json
    import shutil
    import subprocess
    import sys

    from seg_core import Predictor, Run

    unl = tmp_path / "unlabelled"
    unl.mkdir()
    for p in sorted((tiny_data / "images").glob("*.png"))[:3]:  # the same pictures, as if never labelled
        shutil.copy(p, unl / f"new_{p.name}")
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "seg_core", "train", "--data", str(tiny_data), "--out", str(out),
                        "--epochs", "3", "--img-size", "64x64", "--unlabelled", str(unl), "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    run = Run(out)
    assert run.config["unlabelled"] == str(unl) and run.state == "done" and run.has_checkpoint
    mask = Predictor(run).predict(np.zeros((64, 64, 3), np.uint8)).mask
    assert mask.shape == (64, 64) and mask.max() < 3
    json.loads((out / "postprocess.json").read_text())  # measured on the held-out image as usual


def test_unlabelled_folder_without_unlabelled_images_is_refused_by_name(tiny_data, tmp_path):
    import pytest

    from seg_core import TrainConfig, train
    from seg_core.data.dataset import DatasetError

    with pytest.raises(DatasetError, match="no unlabelled images in this folder"):
        train(TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), epochs=1, img_size=(64, 64),
                          unlabelled=str(tiny_data / "images")))  # every image there has a mask
    with pytest.raises(Exception, match="Learn from unlabelled images: '.*nowhere' is not a folder"):
        TrainConfig(data=str(tiny_data), out=str(tmp_path / "r"), unlabelled=str(tmp_path / "nowhere")).validate()


def test_unlabelled_crops_join_after_the_warm_up_and_their_loss_ramps_up(tmp_path):
    """Before PSEUDO_START of the run the teacher has learnt little: no unlabelled crop is drawn and there is no
    pseudo-label loss; then the loss weight rises linearly over PSEUDO_RAMP to its full value."""
    from seg_core.training.semi_supervised import PSEUDO_RAMP, PSEUDO_START, Averaging

    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "u.png")
    teacher_and_student = Constant(0.95)
    avg = Averaging(teacher_and_student, [tmp_path / "u.png"], (32, 32), AugmentConfig.none(),
                    np.random.default_rng(0), batch_size=4)
    off = torch.autocast("cpu", enabled=False)
    assert avg.pseudo_loss(teacher_and_student, "cpu", off, PSEUDO_START / 2) is None
    assert not avg.mean_teacher.cache  # nothing was even read
    full = avg.pseudo_loss(teacher_and_student, "cpu", off, PSEUDO_START + PSEUDO_RAMP)
    half = avg.pseudo_loss(teacher_and_student, "cpu", off, PSEUDO_START + PSEUDO_RAMP / 2)
    assert full is not None and float(full) > 0
    assert abs(float(half) - float(full) / 2) < 1e-4


class Net(torch.nn.Module):
    """A tiny segmentation net with batch norm (2 classes)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 1)
        self.bn = torch.nn.BatchNorm2d(2)

    def forward(self, x):
        return self.bn(self.conv(x))


def test_strong_views_leave_the_batch_norm_statistics_alone_and_take_the_class_weights(tmp_path):
    """The strong views (recoloured, cut out) go through the student with its batch-norm statistics frozen, so
    the saved model keeps statistics of real-looking crops; the gradient still reaches the weights. The class
    weights of the labelled loss weigh the pseudo-labels too."""
    from seg_core.training.semi_supervised import PSEUDO_START, PSEUDO_RAMP, Averaging

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "u.png")
    student = Net().train()
    avg = Averaging(student, [tmp_path / "u.png"], (32, 32), AugmentConfig.none(), np.random.default_rng(0),
                    batch_size=4)
    avg.mean_teacher.threshold = 0.0  # every pixel a pseudo-label, whatever the untrained teacher says
    mean, var = student.bn.running_mean.clone(), student.bn.running_var.clone()
    off = torch.autocast("cpu", enabled=False)
    loss = avg.pseudo_loss(student, "cpu", off, PSEUDO_START + PSEUDO_RAMP)
    loss.backward()
    assert torch.equal(student.bn.running_mean, mean) and torch.equal(student.bn.running_var, var)
    assert student.bn.training and student.conv.weight.grad is not None and student.conv.weight.grad.abs().sum() > 0
    torch.manual_seed(0)
    weighted = Averaging(student, [tmp_path / "u.png"], (32, 32), AugmentConfig.none(), np.random.default_rng(0),
                         batch_size=4, class_weights=torch.tensor([1.0, 0.0]))
    weighted.mean_teacher.threshold = 0.0
    unweighted = Averaging(student, [tmp_path / "u.png"], (32, 32), AugmentConfig.none(), np.random.default_rng(0),
                           batch_size=4)
    unweighted.mean_teacher.threshold = 0.0
    a = weighted.pseudo_loss(student, "cpu", off, 1.0)
    b = unweighted.pseudo_loss(student, "cpu", off, 1.0)
    assert a is not None and b is not None and abs(float(a) - float(b)) > 1e-6
