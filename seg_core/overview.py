"""The workspace image by image: size, whether it is labelled, the classes its mask holds, its problems."""
from __future__ import annotations

from dataclasses import dataclass, field

from .dataset import Dataset, Problem
from .workspace import Workspace


@dataclass
class ImageOverview:
    stem: str
    size: tuple[int, int] | None  # (H, W); None when the image cannot be read
    labelled: bool  # a mask file exists
    classes_present: list[str] = field(default_factory=list)  # names of the classes its mask holds
    problems: list[Problem] = field(default_factory=list)  # those about this image or its mask


def image_overview(workspace: Workspace, dataset: Dataset | None = None) -> list[ImageOverview]:
    """One entry per workspace image, in ``workspace.stems()`` order. ``dataset``: ``workspace.scan()``
    when the caller has it already. Problems are matched to images by exact stem."""
    ds = workspace.scan() if dataset is None else dataset
    names = ds.classes.names
    problems: dict[str, list[Problem]] = {}
    for p in ds.problems:
        if p.stem is not None:
            problems.setdefault(p.stem, []).append(p)
    rows = []
    for stem in workspace.stems():
        counts = ds.class_pixels.get(stem)
        present = [] if counts is None else [names[i] for i, c in enumerate(counts) if c and i < len(names)]
        rows.append(ImageOverview(stem, ds.sizes.get(stem), workspace.mask_path(stem).exists(), present,
                                  problems.get(stem, [])))
    return rows
