"""Backbone registry: the offered encoders and what the app shows about them."""
import pytest

from seg_core.model.backbones import BACKBONES, DEFAULT_BACKBONE, get_backbone
from seg_core.model.network import encoder_info


def test_registry_has_required_backbones_and_stage_counts():
    for name in ["resnet18", "resnet34", "resnet50", "mobilenet_v3_large", "efficientnet_b0", "convnext_tiny",
                 "vgg16_bn", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]:
        assert name in BACKBONES
    info = encoder_info("resnet18")
    assert info["stages"] == 5 and 11.0e6 < info["encoder_params"] < 11.4e6


def test_every_backbone_has_an_encoder_with_stages_to_freeze():
    assert DEFAULT_BACKBONE in BACKBONES and BACKBONES[DEFAULT_BACKBONE].offline_weights
    for name in BACKBONES:
        info = encoder_info(name)
        assert info["stages"] >= 4 and all(n > 0 for n in info["stage_params"]), name
        assert sum(info["stage_params"]) == info["encoder_params"], name


def test_unknown_backbone_lists_the_valid_ones():
    with pytest.raises(ValueError, match="choose one of: efficientnet_lite0, efficientnet_lite1, efficientnet_lite2, resnet18"):
        get_backbone("resnet19")


def test_every_backbone_says_which_hardware_it_suits():
    assert {b.suits for b in BACKBONES.values()} <= {"CPU", "CPU or GPU", "GPU"}
    assert "CPU" in BACKBONES[DEFAULT_BACKBONE].suits
