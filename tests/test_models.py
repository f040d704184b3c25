"""Backbone registry, ImageNet weights (offline), freezing."""
import time

import numpy as np
import pytest
import torch

from seg_core.backbones import BACKBONES, encoder_info, get_backbone
from seg_core.model import ModelSpec, build_model
from seg_core.weights import WeightsUnavailable, local_imagenet_file


def test_registry_has_required_backbones_and_stage_counts():
    for name in ["resnet18", "resnet34", "resnet50", "mobilenet_v3_large", "efficientnet_b0", "convnext_tiny",
                 "vgg16_bn", "efficientnet_lite0"]:
        assert name in BACKBONES
    info = encoder_info("resnet18")
    assert info["stages"] == 5 and 11.0e6 < info["encoder_params"] < 11.4e6


def test_unknown_backbone_lists_the_valid_ones():
    with pytest.raises(ValueError, match="choose one of: efficientnet_lite0, resnet18"):
        get_backbone("resnet19")


def test_offline_lite0_weights_are_imagenet(tmp_path, monkeypatch):
    """Same loading path as training; a classifier built from them recognises a cat."""
    import timm
    from skimage import data
    import cv2

    monkeypatch.setenv("SEG_CORE_WEIGHTS_DIR", str(tmp_path))
    f = local_imagenet_file(get_backbone("efficientnet_lite0"))
    assert f.parent == tmp_path and f.exists()
    clf = timm.create_model("tf_efficientnet_lite0", pretrained=True, pretrained_cfg_overlay=dict(file=str(f))).eval()
    x = cv2.resize(data.chelsea(), (224, 224)).astype(np.float32) / 255
    x = (x - 0.5) / 0.5
    with torch.no_grad():
        cls = int(clf(torch.from_numpy(x.transpose(2, 0, 1))[None].float()).argmax())
    assert cls in (281, 282, 283, 284, 285)
    # and the segmentation encoder really holds these weights
    seg = build_model(ModelSpec("unet", "efficientnet_lite0", 2), "imagenet")
    assert torch.equal(seg.encoder.model.conv_stem.weight, clf.conv_stem.weight)


def test_imagenet_offline_fails_at_once_naming_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEG_CORE_WEIGHTS_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr("seg_core.weights.hub_reachable", lambda timeout=3.0: False)
    monkeypatch.setattr("seg_core.weights.hub_cache_dir", lambda: tmp_path / "hf")
    t = time.time()
    with pytest.raises(WeightsUnavailable) as err:
        build_model(ModelSpec("unet", "resnet18", 2), "imagenet")
    assert time.time() - t < 10
    msg = str(err.value)
    assert str(tmp_path / "hf") in msg and str(tmp_path / "w" / "resnet18.safetensors") in msg


def test_weights_from_a_local_file(tmp_path):
    import timm
    from safetensors.torch import save_file

    src = timm.create_model("resnet18", pretrained=False)
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(tmp_path / "r18.safetensors"))
    m = build_model(ModelSpec("fpn", "resnet18", 3), str(tmp_path / "r18.safetensors"))
    assert torch.equal(m.encoder.model.conv1.weight, src.conv1.weight)


def test_weights_file_for_another_network_is_refused(tmp_path):
    torch.save({"w": torch.zeros(3)}, tmp_path / "junk.pth")
    with pytest.raises(ValueError, match="junk.pth: not weights for 'resnet18'"):
        build_model(ModelSpec("unet", "resnet18", 2), str(tmp_path / "junk.pth"))


@pytest.mark.parametrize("arch", ["unet", "fpn", "deeplabv3plus"])
def test_architectures_give_full_resolution_logits(arch):
    m = build_model(ModelSpec(arch, "efficientnet_lite0", 4), "none").eval()
    with torch.no_grad():
        assert m(torch.rand(1, 3, 64, 96)).shape == (1, 4, 64, 96)


def test_freeze_depth_keeps_frozen_batchnorm_statistics():
    m = build_model(ModelSpec("unet", "resnet18", 2), "none")
    counts = [m.freeze(k) for k in range(m.num_stages + 1)]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    m.freeze(2)
    m.train()
    frozen_bn = m.encoder.model.bn1  # stage 1
    live_bn = m.encoder.model.layer4[0].bn1  # stage 5
    before_f, before_l = frozen_bn.running_mean.clone(), live_bn.running_mean.clone()
    opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.1)
    for _ in range(2):
        m.train()
        loss = m(torch.rand(2, 3, 64, 64) * 3).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert torch.equal(frozen_bn.running_mean, before_f) and not frozen_bn.training
    assert not torch.equal(live_bn.running_mean, before_l) and live_bn.training
    assert m.encoder.model.conv1.weight.grad is None
    with pytest.raises(ValueError, match="freeze depth must be 0..5"):
        m.freeze(6)
