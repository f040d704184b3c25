"""The studio's evening out of colours (``seg_core.data.colour.ColourReference.apply``) as a torch module in front
of the network, for model files that must give the run's predictions without the studio (the bioimage.io
package): per image, 8-bit RGB to CIE L*a*b* with OpenCV's 8-bit scaling, each channel's mean and spread (over
the same grid of pixels as ``image_stats``) brought to the training images', and back to 8-bit RGB, each step
rounded as OpenCV's uint8 images are.

Only tensor operations on the input (no Python numbers taken from its size), so the traced TorchScript and the
ONNX file work for images of every size. The colour conversions follow the formulas OpenCV documents for
``cv2.COLOR_RGB2LAB`` / ``COLOR_LAB2RGB`` in float; OpenCV's 8-bit code uses fixed-point tables, so a pixel's
L*a*b* values may differ from it by 1 or 2 (measured on nuclei-he: about 8 % of values), which the evening out
and the network carry on as small differences of the output (tests/exchange/test_bioimageio_colour.py)."""
from __future__ import annotations

import torch

from seg_core.data.colour import MAX_GAIN, MIN_GAIN, MIN_STD, STATS_PIXELS, ColourReference

# sRGB (D65) to CIE XYZ, and the white point, as in OpenCV's documentation of cv2.cvtColor
RGB_TO_XYZ = ((0.412453, 0.357580, 0.180423), (0.212671, 0.715160, 0.072169), (0.019334, 0.119193, 0.950227))
WHITE = (0.950456, 1.0, 1.088754)
T0 = 0.008856  # below it, the cube root's linear part


def _round(x: torch.Tensor) -> torch.Tensor:
    """As OpenCV stores a value in a uint8 image: rounded (halves up) and kept within 0..255."""
    return torch.clamp(torch.floor(x + 0.5), 0, 255)


def _mix(m, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> list[torch.Tensor]:
    return [m[i][0] * a + m[i][1] * b + m[i][2] * c for i in range(3)]


def _f(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t > T0, torch.clamp(t, min=T0) ** (1 / 3), 7.787 * t + 16 / 116)


def rgb_to_lab8(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB 0..255 -> L*a*b* as OpenCV writes it for 8-bit images (L * 255/100, a + 128, b + 128),
    not rounded."""
    v = rgb / 255
    lin = torch.where(v <= 0.04045, v / 12.92, ((torch.clamp(v, min=0.04045) + 0.055) / 1.055) ** 2.4)
    x, y, z = _mix(RGB_TO_XYZ, lin[:, 0], lin[:, 1], lin[:, 2])
    fx, fy, fz = _f(x / WHITE[0]), _f(y), _f(z / WHITE[2])
    big_l = torch.where(y > T0, 116 * fy - 16, 903.3 * y)
    return torch.stack([big_l * 255 / 100, 500 * (fx - fy) + 128, 200 * (fy - fz) + 128], 1)


def _f_inverse(f: torch.Tensor) -> torch.Tensor:
    return torch.where(f > 0.206893, f ** 3, (f - 16 / 116) / 7.787)


def lab8_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """8-bit L*a*b* (as ``rgb_to_lab8`` gives, rounded) -> RGB 0..255, not rounded."""
    big_l, a, b = lab[:, 0] * 100 / 255, lab[:, 1] - 128, lab[:, 2] - 128
    dark = big_l <= T0 * 903.3
    y = torch.where(dark, big_l / 903.3, ((big_l + 16) / 116) ** 3)
    fy = torch.where(dark, 7.787 * y + 16 / 116, (big_l + 16) / 116)
    x, z = _f_inverse(a / 500 + fy) * WHITE[0], _f_inverse(fy - b / 200) * WHITE[2]
    inverse = torch.linalg.inv(torch.tensor(RGB_TO_XYZ, dtype=torch.float64)).tolist()
    lin = torch.clamp(torch.stack(_mix(inverse, x, y, z), 1), 0, 1)
    srgb = torch.where(lin <= 0.0031308, 12.92 * lin, 1.055 * torch.clamp(lin, min=0.0031308) ** (1 / 2.4) - 0.055)
    return srgb * 255


def _grid_weights(n: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    """1 for every ``step``-th of ``n`` positions (0, step, 2 step ...), else 0; ``n``: a ones vector's length."""
    index = torch.cumsum(torch.ones_like(n), 0) - 1
    return (torch.remainder(index, step) == 0).to(n.dtype)


class EvenColours(torch.nn.Module):
    """(N, 3, H, W) RGB 0..1 (8-bit values / 255) -> the same images, each with its L*a*b* mean and spread
    brought to ``reference``'s, 0..1 (``ColourReference.apply``, image by image)."""

    def __init__(self, reference: ColourReference):
        super().__init__()
        self.register_buffer("mean", torch.tensor(reference.mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(reference.std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lab = _round(rgb_to_lab8(_round(x * 255)))
        # the statistics over every k-th row and column, k = ceil(sqrt(pixels / STATS_PIXELS)) (``image_stats``)
        rows, cols = torch.ones_like(lab[0, 0, :, 0]), torch.ones_like(lab[0, 0, 0, :])
        step = torch.clamp(torch.ceil(torch.sqrt(rows.sum() * cols.sum() / STATS_PIXELS)), min=1)
        w = _grid_weights(rows, step)[:, None] * _grid_weights(cols, step)[None, :]
        count = w.sum()
        mean = (lab * w).sum((2, 3), keepdim=True) / count
        std = torch.sqrt(((lab - mean) ** 2 * w).sum((2, 3), keepdim=True) / count)
        gain = torch.clamp(self.std / torch.clamp(std, min=MIN_STD), MIN_GAIN, MAX_GAIN)
        evened = _round(lab * gain + (self.mean - mean * gain))
        return _round(lab8_to_rgb(evened)) / 255


class WithEvenColours(torch.nn.Module):
    """``EvenColours`` then the run's network: what the studio's predictor computes, as one model."""

    def __init__(self, network: torch.nn.Module, reference: ColourReference):
        super().__init__()
        self.colours = EvenColours(reference)
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(self.colours(x))
