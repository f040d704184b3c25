"""Losses: ignored pixels, Dice equal to smp's."""
from seg_core.model.losses import LOSSES, build_loss


def test_losses_skip_ignored_pixels():
    import torch

    logits = torch.randn(1, 3, 8, 8)
    target = torch.randint(0, 3, (1, 8, 8))
    target[:, :4] = 255
    for name in LOSSES:
        fn = build_loss(name, torch.tensor([1.0, 2.0, 3.0]) if name in ("ce", "focal") else None)
        other = logits.clone()
        other[..., :4, :] = torch.randn(1, 3, 4, 8) * 10  # change only ignored pixels
        assert torch.allclose(fn(logits, target), fn(other, target)), name


def test_dice_matches_smp_dice_loss():
    """Our gather-based Dice equals smp's one-hot DiceLoss in value and gradient (absent class included)."""
    import segmentation_models_pytorch as smp
    import torch

    logits = torch.randn(2, 5, 16, 20, requires_grad=True)
    target = torch.randint(0, 4, (2, 16, 20))  # class 4 absent
    target[:, :3] = 255
    ours, ref = build_loss("dice")(logits, target), smp.losses.DiceLoss("multiclass", ignore_index=255)(logits, target)
    assert torch.allclose(ours, ref, atol=1e-6)
    g1, = torch.autograd.grad(ours, logits)
    g2, = torch.autograd.grad(ref, logits)
    assert torch.allclose(g1, g2, atol=1e-7)
