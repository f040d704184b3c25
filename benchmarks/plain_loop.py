"""The reference: a plain segmentation-models-pytorch loop (U-Net, lite0 ImageNet encoder, AdamW 1e-3,
batch 4, flips, 352x480, cross-entropy, fp32), for comparison with seg_core's recipe."""
from __future__ import annotations

import time

import cv2
import numpy as np
import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F

from seg_core.model.backbones import get_backbone
from seg_core.base.mask_values import IGNORE
from seg_core.model.network import SegModel, norm_stats
from seg_core.model.weights import local_imagenet_file


def plain_model(num_classes: int) -> SegModel:
    """smp.Unet with the same ImageNet lite0 weights seg_core uses (timm's file loading)."""
    bb = get_backbone("efficientnet_lite0")
    net = smp.Unet(bb.smp_encoder, encoder_weights="imagenet", classes=num_classes,
                   pretrained_cfg_overlay=dict(file=str(local_imagenet_file(bb))))
    return SegModel(net, *norm_stats(bb.name))


def train_plain(pairs, num_classes: int, budget_s: float, size=(352, 480), seed: int = 0):
    """Train for ``budget_s`` seconds; returns (model, images/s)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    h, w = size
    data = [(cv2.resize(im, (w, h), interpolation=cv2.INTER_LINEAR),
             cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST)) for im, m in pairs]
    model = plain_model(num_classes)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    seen, t0 = 0, time.time()
    while time.time() - t0 < budget_s:
        for b in np.array_split(rng.permutation(len(data)), max(1, len(data) // 4)):
            xs, ys = [], []
            for i in b:
                im, m = data[i]
                if rng.random() < 0.5:
                    im, m = im[:, ::-1], m[:, ::-1]
                xs.append(im)
                ys.append(m)
            x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float() / 255
            y = torch.from_numpy(np.stack(ys).astype(np.int64))
            loss = F.cross_entropy(model(x), y, ignore_index=IGNORE)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(b)
            if time.time() - t0 >= budget_s:
                break
    return model.eval(), seen / (time.time() - t0)
