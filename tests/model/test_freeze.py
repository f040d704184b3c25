"""Freezing the first encoder stages: their weights and BatchNorm statistics stay as they are."""
import pytest
import torch

from seg_core.model.freeze import check_freeze_depth
from seg_core.model.network import ModelSpec, build_model


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


def test_freezing_every_stage_freezes_the_whole_encoder_and_zero_unfreezes_it():
    m = build_model(ModelSpec("unet", "efficientnet_lite0", 2), "none")
    head = sum(p.numel() for p in m.head_parameters())
    assert m.freeze(m.num_stages) == head
    assert not any(p.requires_grad for p in m.encoder_parameters())
    assert m.freeze(0) == sum(p.numel() for p in m.parameters())
    m.train()
    assert all(mod.training for mod in m.modules())


def test_freeze_depth_out_of_range_is_refused_in_user_words():
    m = build_model(ModelSpec("unet", "resnet18", 2), "none")
    msg = r"^Freeze depth must be 0\.\.5 for resnet18 \(it has 5 encoder stages\), got 6$"
    with pytest.raises(ValueError, match=msg):
        m.freeze(6)
    with pytest.raises(ValueError, match=r"^Freeze depth must be 0\.\.5 for efficientnet_lite0 .*got -1$"):
        check_freeze_depth(-1, 5, "efficientnet_lite0")
    check_freeze_depth(0, 5, "efficientnet_lite0")
    check_freeze_depth(5, 5, "efficientnet_lite0")
