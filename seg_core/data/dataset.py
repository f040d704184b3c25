"""A data set folder (``images/`` + ``masks/`` paired by stem): discovery, validation, loading."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seg_core.base.classes import ClassList
from seg_core.data.stacks.planes import Plane, folder_planes
from seg_core.data.imageio import IMAGE_EXTS, MASK_EXTS, ImageReadError, is_palette_mask, read_image, read_mask_raw
from seg_core.base.mask_values import IGNORE, MODES, PALETTE_RULE, UNDECIDED, MaskReading, decide_reading


KEEP_RAW_BYTES = 256 << 20  # masks' values kept between the two passes of ``scan_dataset``; the rest read twice


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
    reading: MaskReading | None = None  # how the masks' values read (``mask_values.decide_reading``)
    mask_rules: list[str] = field(default_factory=list)  # that reading in sentences (``validate`` prints them)

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
        """Mask as uint8 class indices with ``IGNORE`` for unlabelled pixels, read by ``self.reading``
        (raises ``MaskValueError`` naming the file and the values when one is neither a class nor unlabelled)."""
        reading = self.reading or MaskReading(self.num_classes, self.ignore_index)
        return reading.labels(read_mask_raw(sample.mask, self.classes), sample.mask.name)

    def load_pairs(self, samples: list[Sample] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(read_image(s.image), self.load_mask(s)) for s in (samples or self.labelled)]


def _image_size(path: Path) -> tuple[int, int]:
    """(H, W), checked as ``read_image`` checks it: a file over the pixel limit is refused from its header
    (never decoded); the others are decoded once per version of the file (``imageio.image_size``)."""
    from seg_core.data.imageio import image_size

    return image_size(path)


HISTOGRAM_MAX_VALUE = 1 << 16  # masks whose values are all in 0..this-1 are summed up as a histogram


def _check_files(sample: Sample, classes: ClassList | None):
    """One sample's image size and mask (stored values, and their histogram when they are small non-negative
    integers), or the ImageReadError of either file in its place."""
    try:
        size = _image_size(sample.image)
    except ImageReadError as err:
        size = err
    raw = hist = None
    if sample.mask is not None:
        try:
            raw = read_mask_raw(sample.mask, classes)
        except ImageReadError as err:
            return size, err, None
        if raw.size and raw.dtype.kind in "iu" and raw.min() >= 0 and raw.max() < HISTOGRAM_MAX_VALUE:
            hist = np.bincount(raw.ravel())
    return size, raw, hist


def _checked_files(samples: list[Sample], classes: ClassList | None):
    """``_check_files`` of every sample, in order, a few at a time on threads (decoding and counting release
    the interpreter, so the machine's cores share the work); at most a few masks are held at once."""
    from concurrent.futures import ThreadPoolExecutor

    from seg_core.base.cores import cpu_count

    workers = max(1, min(cpu_count(), 8))
    with ThreadPoolExecutor(workers) as pool:
        pending = []
        for s in samples:
            pending.append(pool.submit(_check_files, s, classes))
            if len(pending) > 2 * workers:
                yield pending.pop(0).result()
        for f in pending:
            yield f.result()


def scan_dataset(
    root: Path,
    num_classes: int | None = None,
    ignore_index: int | None = None,
    classes: ClassList | None = None,
    require_masks: bool = True,
    mask_values: str = "auto",
    fallback_unlabelled: int | None = None,
    fallback_source: str = "the run",
    unlabelled_source: str = "--ignore-index",
    masks_dir: Path | None = None,
) -> Dataset:
    """Pair images and masks in ``root`` and check every file; never raises for bad files.

    ``require_masks``: an image without a mask is an error (CLI data sets) or only a note that it
    is not labelled yet (the app's workspace, where users label a few of many images). A folder whose
    classes.json names an unlabelled value (the app's data folder) is partly labelled by design: there an
    image without a mask is a note either way, so the CLI trains on what the app saved.

    What the mask values mean is decided by ``mask_values.decide_reading`` (``Dataset.reading``, stated in
    ``Dataset.mask_rules``): ``mask_values`` is auto, index or binary (``--mask-values``); the unlabelled
    value is ``ignore_index`` (``--ignore-index``, in the words ``unlabelled_source``) when given, else the
    folder's ``classes.json`` (one without "unlabelled" says there is none), else ``fallback_unlabelled``
    (the scored run's, in the words ``fallback_source``). ``classes`` given are used for the names,
    colours and number of classes, not for the unlabelled value. ``masks_dir``: read the masks from there
    instead of ``root/masks`` (a run's copy of them: ``seg_core.runs.labels``).
    """
    if mask_values not in MODES:
        raise ValueError(f"--mask-values must be one of {', '.join(MODES)}, not '{mask_values}'")
    root = Path(root)
    masks_dir = Path(masks_dir) if masks_dir is not None else root / "masks"
    problems: list[Problem] = []
    if not (root / "images").is_dir():
        problems.append(Problem(str(root), "no images/ folder (expected images/ and masks/ side by side)"))
    if require_masks and not masks_dir.is_dir():
        problems.append(Problem(str(root), "no masks/ folder (expected images/ and masks/ side by side)"))
    cls_file = root / "classes.json"
    folder_classes = None
    if cls_file.exists():
        try:
            folder_classes = ClassList.load(cls_file)
        except ValueError as err:
            problems.append(Problem("classes.json", str(err)))
    if classes is None:
        classes = folder_classes
    if ignore_index is not None:
        unl, unl_source, stated = ignore_index, unlabelled_source, False
    elif folder_classes is not None:
        unl, stated = folder_classes.ignore_index, True
        unl_source = "classes.json" if unl is not None else 'classes.json names no "unlabelled" value'
    elif fallback_unlabelled is not None:
        unl, unl_source, stated = fallback_unlabelled, fallback_source, False
    else:
        unl, unl_source, stated = None, "", False
    partly_labelled = folder_classes is not None and folder_classes.ignore_index is not None
    if classes is not None and num_classes is not None and len(classes) != num_classes:
        problems.append(Problem("classes.json", f"lists {len(classes)} classes but the number of classes given is {num_classes}"))

    images, masks, stacks = folder_planes(root / "images", masks_dir, IMAGE_EXTS, MASK_EXTS)  # stacks: planes
    problems += [Problem(file, message, stem=stem) for file, message, stem in stacks]
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
    raw_values: dict[str, np.ndarray | None] = {}  # None: not kept (over KEEP_RAW_BYTES), read again below
    histograms: dict[str, np.ndarray] = {}  # pixels per stored value, for masks of small non-negative values
    uniques: dict[str, np.ndarray] = {}
    kept, read_with = 0, classes
    palettes = 0
    for s, (size, raw, hist) in zip(samples, _checked_files(samples, classes)):
        if isinstance(size, ImageReadError):
            problems.append(Problem(s.image.name, str(size).split(": ", 1)[-1], stem=s.stem))
        else:
            sizes[s.stem] = size
        if s.mask is None:  # a folder whose classes.json names an unlabelled value (or a stack's plane) is partly
            # labelled by design
            sev = "error" if require_masks and not partly_labelled and not isinstance(s.image, Plane) else "warning"
            problems.append(Problem(s.image.name, "no mask in masks/ (not labelled yet)", sev, s.stem))
            continue
        if isinstance(raw, ImageReadError):
            problems.append(Problem(s.mask.name, str(raw).split(": ", 1)[-1], stem=s.stem))
            continue
        if s.stem in sizes and raw.shape != sizes[s.stem]:
            h, w = sizes[s.stem]
            problems.append(Problem(s.mask.name, f"mask is {raw.shape[1]}x{raw.shape[0]} but image {s.image.name} is {w}x{h}",
                                    stem=s.stem))
            continue
        if hist is not None:  # the values and their counts say all the second pass needs: raw is not kept
            histograms[s.stem] = hist
            uniques[s.stem] = np.flatnonzero(hist)
            raw_values[s.stem] = None
        else:
            uniques[s.stem] = np.unique(raw)
            fits = kept + raw.nbytes <= KEEP_RAW_BYTES  # many or large masks: memory stays bounded
            kept += raw.nbytes if fits else 0
            raw_values[s.stem] = raw if fits else None
        palettes += is_palette_mask(s.mask)

    mask_paths = {s.stem: s.mask for s in samples if s.stem in raw_values}
    mask_names = {stem: path.name for stem, path in mask_paths.items()}
    reading, folder_problems = decide_reading(
        {mask_names[k]: u for k, u in uniques.items()}, num_classes=len(classes) if classes else num_classes,
        unlabelled=unl, source=unl_source, stated=stated, mode=mask_values,
        class_names=classes.names if classes else ())
    problems += [Problem(f, m, sev) for f, m, sev in folder_problems]
    refused = any(sev == "error" for _, _, sev in folder_problems)
    if classes is None:
        classes = ClassList.default(reading.num_classes)
        reading = decide_reading({mask_names[k]: u for k, u in uniques.items()}, num_classes=reading.num_classes,
                                 unlabelled=unl, source=unl_source, stated=stated, mode=mask_values,
                                 class_names=classes.names)[0]
    classes = ClassList(list(classes.names), list(classes.colours), reading.unlabelled)  # a copy: the caller's stays
    rules = [UNDECIDED if refused else reading.rule()]
    rules += [PALETTE_RULE.format(count=palettes, total=len(raw_values))] if palettes else []
    n = len(classes)
    class_pixels: dict[str, np.ndarray] = {}
    for stem, raw in raw_values.items():
        if refused:
            break
        msg = reading.problem(uniques[stem])
        if msg:
            problems.append(Problem(mask_names[stem], msg, stem=stem))
            continue
        if stem in histograms:  # each stored value's label, weighted by its pixels
            hist = histograms[stem]
            lut = reading.labels(np.arange(len(hist)), mask_names[stem], uniques[stem])
            keep = lut != IGNORE
            counts = np.bincount(lut[keep], weights=hist[keep], minlength=n)[:n].astype(np.int64)
        else:
            raw = read_mask_raw(mask_paths[stem], read_with) if raw is None else raw
            labels = reading.labels(raw, mask_names[stem], uniques[stem])
            counts = np.bincount(labels[labels != IGNORE].ravel(), minlength=n)[:n]
        class_pixels[stem] = counts
        if counts.sum() == 0:
            problems.append(Problem(mask_names[stem], "mask has no labelled pixels", "warning", stem))
    return Dataset(root, samples, classes, reading.unlabelled, problems, class_pixels, sizes, reading, rules)
