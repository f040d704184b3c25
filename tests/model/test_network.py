"""The segmentation model: 0..1 RGB in, full-resolution class logits out, normalised for its weights."""
import pytest
import torch

from seg_core.model.network import ModelSpec, build_model, norm_stats

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@pytest.mark.parametrize("arch", ["unet", "fpn", "deeplabv3plus"])
def test_architectures_give_full_resolution_logits(arch):
    m = build_model(ModelSpec(arch, "efficientnet_lite0", 4), "none").eval()
    with torch.no_grad():
        assert m(torch.rand(1, 3, 64, 96)).shape == (1, 4, 64, 96)


def test_inputs_are_normalised_as_the_pretrained_weights_expect():
    assert norm_stats("efficientnet_lite0") == ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))  # TF-ported weights
    assert norm_stats("resnet18") == IMAGENET
    m = build_model(ModelSpec("unet", "resnet18", 2), "none")
    assert torch.allclose(m.mean.flatten(), torch.tensor(IMAGENET[0]))
    assert torch.allclose(m.std.flatten(), torch.tensor(IMAGENET[1]))
    assert "mean" in m.state_dict()  # saved with the checkpoint


def test_encoder_and_head_parameters_split_the_model():
    m = build_model(ModelSpec("fpn", "resnet18", 3), "none")
    enc, head = m.encoder_parameters(), m.head_parameters()
    assert enc and head and len(enc) + len(head) == len(list(m.parameters()))
    assert {id(p) for p in enc}.isdisjoint(id(p) for p in head)


def test_fewer_than_two_classes_is_refused():
    with pytest.raises(ValueError, match="need at least 2 classes"):
        build_model(ModelSpec("unet", "resnet18", 1), "none")
