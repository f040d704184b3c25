"""A stack in, a stack out: a stack file's planes predicted one at a time into one mask file of the input's form
(``OUT/masks/<stem>.tif``, one page per plane in its order, or ``OUT/masks/<stem>.nii.gz`` with the input's
affine) and an overlay per plane (``OUT/overlays/<stem>_z<NN>.png``). Memory holds one plane at a time (a
NIfTI mask volume, one byte a voxel, is built whole)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from seg_core.base.classes import ClassList
from seg_core.data.imageio import ImageHeader, model_rgb, write_rgb
from seg_core.data.intensities import Intensities
from seg_core.data.model_input import ModelInput
from seg_core.data.stacks.files import StackFile, StackHeader, file_stem
from seg_core.data.stacks.planes import plane_stem
from seg_core.data.stacks.writing import mask_stack_name, write_mask_stack
from seg_core.infer.overlay import overlay


def stack_images(path: Path, hdr: StackHeader, intensities: Intensities | ModelInput | None = None):
    """(label, image) of each plane of the stack ``path`` in order, the image as the model reads it
    (``imageio.model_rgb``, with the run's ``intensities``), read one plane at a time; an ImageReadError names a
    plane that cannot be read."""
    with StackFile(path) as f:
        for i, label in enumerate(hdr.labels()):
            raw = f.plane(i)
            yield label, model_rgb(raw if raw.ndim == 3 else raw[..., None], f"{path.name}, plane {label}",
                                   ImageHeader.of_plane(hdr), intensities)


def predict_stack(predict: Callable, classes: ClassList, path: Path, hdr: StackHeader, out: Path,
                  intensities: ModelInput | None = None) -> dict:
    """Predict every plane of the stack ``path`` (header ``hdr``) with ``predict`` (image -> ``Prediction``) and
    write its mask stack and overlays; the row for the stack (mask, planes, seconds, class fractions).
    A plane that cannot be read (NaN, channels) stops it with an ImageReadError naming the plane; no mask
    file is left (written whole or not at all)."""
    stem = file_stem(path.name)
    counts = np.zeros(len(classes), np.int64)
    seconds = [0.0]
    labels = hdr.labels()

    def masks():
        for label, image in stack_images(path, hdr, intensities):
            p = predict(image)
            seconds[0] += p.seconds + p.crf_seconds
            counts[:] += np.bincount(p.mask.ravel(), minlength=len(classes))[: len(classes)]
            write_rgb(out / "overlays" / f"{plane_stem(stem, label)}.png",
                      overlay(image, p.mask, classes, 0.5, intensities.channels if intensities else ()))
            yield p.mask

    name = mask_stack_name(path.name)
    write_mask_stack(out / "masks" / name, hdr, masks())
    total = max(int(counts.sum()), 1)
    return {"image": path.name, "mask": f"masks/{name}", "planes": len(labels), "seconds": round(seconds[0], 3),
            **{f"{n}_fraction": round(float(c) / total, 4) for n, c in zip(classes.names, counts)}}
