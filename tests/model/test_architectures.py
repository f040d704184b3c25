"""Architecture registry: every backbone/architecture pair it offers builds; the others are refused clearly."""
import time

import pytest
import torch

from seg_core.model.architectures import ARCHITECTURES, build_net, get_architecture, supported_archs
from seg_core.model.backbones import BACKBONES, get_backbone
from seg_core.model.network import ModelSpec, build_model

OFFERED = [(b, a) for b in BACKBONES for a in supported_archs(b)]
REFUSED = [(b, a) for b in BACKBONES for a in ARCHITECTURES if a not in supported_archs(b)]


@pytest.fixture
def one_thread():
    """Tiny forwards: one thread is faster, and not slowed down by other processes on the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_every_offered_pair_builds_and_gives_full_resolution_logits(one_thread):
    t0 = time.time()
    for backbone, arch in OFFERED:
        m = build_model(ModelSpec(arch, backbone, 2), "none").eval()
        with torch.no_grad():
            assert m(torch.rand(1, 3, 64, 96)).shape == (1, 2, 64, 96), (backbone, arch)
    print(f"{len(OFFERED)} pairs built and run in {time.time() - t0:.1f} s")


def test_most_pairs_are_offered():
    assert all(set(supported_archs(b)) >= {"unet", "fpn"} for b in BACKBONES)
    assert supported_archs("efficientnet_lite0") == list(ARCHITECTURES)
    assert REFUSED == [("vgg16_bn", "deeplabv3plus")]


def test_refused_pairs_really_do_not_build():
    """The table is not stricter than the libraries: smp/timm fail on every pair it refuses."""
    for backbone, arch in REFUSED:
        with pytest.raises(Exception), torch.device("meta"):
            ARCHITECTURES[arch].smp_class(encoder_name=get_backbone(backbone).smp_encoder, encoder_weights=None,
                                          classes=2)


def test_refused_pair_says_why_and_what_to_choose():
    msg = r"DeepLabV3\+ cannot be built on vgg16_bn: .*dilated.*; choose U-Net or FPN"
    with pytest.raises(ValueError, match=msg):
        get_architecture("deeplabv3plus", "vgg16_bn")
    with pytest.raises(ValueError, match=msg):
        build_net("deeplabv3plus", get_backbone("vgg16_bn"), 2)
    with pytest.raises(ValueError, match=msg):  # before any weights are looked for
        build_model(ModelSpec("deeplabv3plus", "vgg16_bn", 2), "imagenet")


def test_unknown_architecture_lists_the_valid_ones():
    with pytest.raises(ValueError, match="choose one of: unet, fpn, deeplabv3plus"):
        get_architecture("segformer")
