"""A data set folder (``images/`` + ``masks/`` paired by stem): discovery, validation, loading."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .classes import ClassList
from .imageio import IMAGE_EXTS, MASK_EXTS, ImageReadError, read_image, read_mask_raw
from .mask_values import IGNORE, MAX_CLASSES, is_binary_255, normalise_mask



@dataclass
class Problem:
    """One thing wrong with a data set, naming the file it concerns."""

    file: str
    message: str
    severity: str = "error"  # or "warning"
    stem: str | None = None  # the image (by stem) it concerns, when it concerns one

    def __str__(self) -> str:
        return f"{self.severity.upper()}: {self.file}: {self.message}"


class DatasetError(ValueError):
    """The data set has errors; ``problems`` lists them, each naming its file."""

    def __init__(self, problems):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"the data set has {len(problems)} error(s); fix them and retry:\n{lines}")


@dataclass
class Sample:
    stem: str
    image: Path
    mask: Path | None


@dataclass
class Dataset:
    """The scanned folder: pairs, classes and every problem found."""

    root: Path
    samples: list[Sample]
    classes: ClassList
    ignore_index: int | None
    problems: list[Problem] = field(default_factory=list)
    class_pixels: dict[str, np.ndarray] = field(default_factory=dict)  # stem -> pixels per class
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # stem -> (H, W)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def labelled(self) -> list[Sample]:
        bad = {p.file for p in self.errors}
        return [s for s in self.samples if s.mask is not None and s.image.name not in bad and s.mask.name not in bad]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def load_mask(self, sample: Sample) -> np.ndarray:
        """Mask as uint8 class indices with ``IGNORE`` for ignored pixels."""
        return normalise_mask(read_mask_raw(sample.mask, self.classes), self.ignore_index)

    def load_pairs(self, samples: list[Sample] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(read_image(s.image), self.load_mask(s)) for s in (samples or self.labelled)]


def _files(folder: Path, exts: tuple[str, ...]) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = defaultdict(list)
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in exts:
                found[p.stem].append(p)
    return found


def _image_size(path: Path) -> tuple[int, int]:
    """(H, W) read from the header where possible, else by decoding."""
    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            w, h = im.size
        read_image(path)  # catches truncation, which verify() misses
        return h, w
    except ImageReadError:
        raise
    except Exception:
        arr = read_image(path)
        return arr.shape[:2]


def scan_dataset(
    root: Path,
    num_classes: int | None = None,
    ignore_index: int | None = None,
    classes: ClassList | None = None,
    require_masks: bool = True,
) -> Dataset:
    """Pair images and masks in ``root`` and check every file; never raises for bad files.

    ``require_masks``: an image without a mask is an error (CLI data sets) or only a note that it
    is not labelled yet (the app's workspace, where users label a few of many images).
    """
    root = Path(root)
    problems: list[Problem] = []
    if not (root / "images").is_dir():
        problems.append(Problem(str(root), "no images/ folder (expected images/ and masks/ side by side)"))
    if require_masks and not (root / "masks").is_dir():
        problems.append(Problem(str(root), "no masks/ folder (expected images/ and masks/ side by side)"))
    cls_file = root / "classes.json"
    if classes is None and cls_file.exists():
        try:
            classes = ClassList.load(cls_file)
        except ValueError as err:
            problems.append(Problem("classes.json", str(err)))
    if classes is not None and ignore_index is None:
        ignore_index = classes.ignore_index
    if classes is not None and num_classes is not None and len(classes) != num_classes:
        problems.append(Problem("classes.json", f"lists {len(classes)} classes but the number of classes given is {num_classes}"))

    images = _files(root / "images", IMAGE_EXTS)
    masks = _files(root / "masks", MASK_EXTS)
    for stem, paths in list(images.items()) + list(masks.items()):
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            problems.append(Problem(paths[0].name, f"several files share the name '{stem}' ({names}); keep one",
                                    stem=stem))
    for stem in sorted(set(masks) - set(images)):
        problems.append(Problem(masks[stem][0].name, "mask has no image with the same name in images/", stem=stem))

    samples = [Sample(stem, paths[0], masks[stem][0] if stem in masks else None) for stem, paths in sorted(images.items())]
    if not samples and (root / "images").is_dir():
        problems.append(Problem(str(root / "images"), "no images found (png, jpg, tif, bmp, gif)"))

    sizes: dict[str, tuple[int, int]] = {}
    raw_values: dict[str, np.ndarray] = {}
    for s in samples:
        try:
            sizes[s.stem] = _image_size(s.image)
        except ImageReadError as err:
            problems.append(Problem(s.image.name, str(err).split(": ", 1)[-1], stem=s.stem))
        if s.mask is None:
            sev = "error" if require_masks else "warning"
            problems.append(Problem(s.image.name, "no mask in masks/ (not labelled yet)", sev, s.stem))
            continue
        try:
            raw = read_mask_raw(s.mask, classes)
        except ImageReadError as err:
            problems.append(Problem(s.mask.name, str(err).split(": ", 1)[-1], stem=s.stem))
            continue
        if s.stem in sizes and raw.shape != sizes[s.stem]:
            h, w = sizes[s.stem]
            problems.append(Problem(s.mask.name, f"mask is {raw.shape[1]}x{raw.shape[0]} but image {s.image.name} is {w}x{h}",
                                    stem=s.stem))
            continue
        raw_values[s.stem] = raw

    if classes is None:
        classes = ClassList.default(_infer_num_classes(raw_values, ignore_index, num_classes))
    n = len(classes)
    class_pixels: dict[str, np.ndarray] = {}
    for stem, raw in raw_values.items():
        mask_name = next(s.mask.name for s in samples if s.stem == stem)
        if (raw < 0).any():
            problems.append(Problem(mask_name, "mask holds negative values", stem=stem))
            continue
        vals = (raw > 0).astype(np.int32) if is_binary_255(raw, ignore_index) else raw
        valid = vals if ignore_index is None else vals[raw != ignore_index]
        bad = np.unique(valid[valid >= n])
        if bad.size:
            problems.append(Problem(mask_name, f"values {bad[:8].tolist()} exceed the {n} classes (0..{n - 1})"
                                    + ("" if ignore_index is not None else "; set an ignore index if one marks void pixels"),
                                    stem=stem))
            continue
        labels = normalise_mask(raw, ignore_index)
        counts = np.bincount(labels[labels != IGNORE].ravel(), minlength=n)[:n]
        class_pixels[stem] = counts
        if counts.sum() == 0:
            problems.append(Problem(mask_name, "mask has no labelled pixels", "warning", stem))
    return Dataset(root, samples, classes, ignore_index, problems, class_pixels, sizes)


def _infer_num_classes(raw_values: dict[str, np.ndarray], ignore_index: int | None, given: int | None) -> int:
    if given is not None:
        return int(given)
    top = 1
    for raw in raw_values.values():
        labels = normalise_mask(raw, ignore_index)
        valid = labels[labels != IGNORE]
        if valid.size:
            top = max(top, int(valid.max()))
    return min(max(top + 1, 2), MAX_CLASSES)
