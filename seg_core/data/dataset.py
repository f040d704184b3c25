"""A data set folder (``images/`` + ``masks/`` paired by stem): discovery, validation, loading.

``scan_dataset`` is a recipe of named steps: ``unlabelled_value`` (the value of unlabelled pixels and where it
came from, with ``folder_classes``), ``pair_files`` (images and masks paired by name, ``missing_folders``),
``survey`` (one pass over the files: sizes and each mask's values), ``decide`` (how the values read:
``mask_values.decide_reading``) and ``count_classes`` (each mask's pixels per class). Their messages name
settings with ``messages.given`` marks, never a command-line flag: the command line and the app word them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seg_core.base.classes import ClassList
from seg_core.data.channel_layout import folder_layout
from seg_core.data.stacks.planes import Plane, folder_planes
from seg_core.data.imageio import IMAGE_EXTS, MASK_EXTS, ImageReadError, is_palette_mask, read_image, read_mask_raw
from seg_core.base.mask_values import IGNORE, MODES, PALETTE_RULE, UNDECIDED, MaskReading, decide_reading
from seg_core.base.messages import given


KEEP_RAW_BYTES = 256 << 20  # masks' values kept between the two passes of ``scan_dataset``; the rest read twice
GIVEN_UNLABELLED = given("ignore_index")  # the source of a given unlabelled value: the setting (front ends word it)


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
    channels: tuple[str, ...] = ()  # the images' one channel layout (``channel_layout.folder_layout``)

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


@dataclass(frozen=True)
class Unlabelled:
    """The value of unlabelled pixels (None: none) and where it came from, in words (``source``; "" when
    nothing says); ``stated``: said by the folder's own classes.json."""

    value: int | None
    source: str = ""
    stated: bool = False


def unlabelled_value(folder_classes: ClassList | None, given_value: int | None = None,
                     given_source: str = GIVEN_UNLABELLED, fallback: int | None = None,
                     fallback_source: str = "the run") -> Unlabelled:
    """The unlabelled value: ``given_value`` when given (in the words ``given_source``), else the folder's
    classes.json (one without "unlabelled" says there is none), else ``fallback`` (the scored run's, in the
    words ``fallback_source``), else none."""
    if given_value is not None:
        return Unlabelled(given_value, given_source)
    if folder_classes is not None:
        unl = folder_classes.ignore_index
        return Unlabelled(unl, "classes.json" if unl is not None else 'classes.json names no "unlabelled" value', True)
    if fallback is not None:
        return Unlabelled(fallback, fallback_source)
    return Unlabelled(None)


def folder_classes(root: Path) -> tuple[ClassList | None, list[Problem]]:
    """The folder's classes.json, if any (a damaged one is a problem, as if there were none)."""
    cls_file = Path(root) / "classes.json"
    if not cls_file.exists():
        return None, []
    try:
        return ClassList.load(cls_file), []
    except ValueError as err:
        return None, [Problem("classes.json", str(err))]


def missing_folders(root: Path, masks_dir: Path, require_masks: bool = True) -> list[Problem]:
    """The folder's images/ (and, with ``require_masks``, its masks folder) when missing."""
    problems = []
    if not (root / "images").is_dir():
        problems.append(Problem(str(root), "no images/ folder (expected images/ and masks/ side by side)"))
    if require_masks and not masks_dir.is_dir():
        problems.append(Problem(str(root), "no masks/ folder (expected images/ and masks/ side by side)"))
    return problems


def pair_files(root: Path, masks_dir: Path) -> tuple[list[Sample], list[Problem]]:
    """Images of ``root/images`` with their masks in ``masks_dir`` (paired by file stem; an image may have none
    yet), and the problems of the pairing: two files of one name, a mask without its image, no image at all."""
    problems: list[Problem] = []
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
        problems.append(Problem(str(root / "images"),
                                f"no images found ({', '.join(e.lstrip('.') for e in IMAGE_EXTS)})"))
    return samples, problems


@dataclass
class Survey:
    """One pass over a folder's files: each image's size, and each readable mask of the image's size: its
    distinct values, and either its histogram (small non-negative values), its values (kept up to
    ``KEEP_RAW_BYTES``) or None (read again when counted)."""

    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # stem -> (H, W)
    masks: dict[str, Path] = field(default_factory=dict)  # stem -> mask file, for the masks surveyed
    uniques: dict[str, np.ndarray] = field(default_factory=dict)
    histograms: dict[str, np.ndarray] = field(default_factory=dict)  # pixels per stored value
    raw_values: dict[str, np.ndarray | None] = field(default_factory=dict)
    palettes: int = 0  # palette PNG masks among them

    def mask_names(self) -> dict[str, str]:
        return {stem: path.name for stem, path in self.masks.items()}


def survey(samples: list[Sample], classes: ClassList | None,
           missing_mask: str = "error") -> tuple[Survey, list[Problem]]:
    """Read every image's size and every mask's values (on a few threads), and the problems found: an
    unreadable file, a mask of another size than its image, an image without a mask (of severity
    ``missing_mask``)."""
    found, problems = Survey(), []
    kept = 0
    for s, (size, raw, hist) in zip(samples, _checked_files(samples, classes)):
        if isinstance(size, ImageReadError):
            problems.append(Problem(s.image.name, str(size).split(": ", 1)[-1], stem=s.stem))
        else:
            found.sizes[s.stem] = size
        if s.mask is None:
            sev = "warning" if isinstance(s.image, Plane) else missing_mask  # a stack's planes: partly labelled by design
            problems.append(Problem(s.image.name, "no mask in masks/ (not labelled yet)", sev, s.stem))
            continue
        if isinstance(raw, ImageReadError):
            problems.append(Problem(s.mask.name, str(raw).split(": ", 1)[-1], stem=s.stem))
            continue
        if s.stem in found.sizes and raw.shape != found.sizes[s.stem]:
            h, w = found.sizes[s.stem]
            problems.append(Problem(s.mask.name, f"mask is {raw.shape[1]}x{raw.shape[0]} but image {s.image.name} is {w}x{h}",
                                    stem=s.stem))
            continue
        found.masks[s.stem] = s.mask
        if hist is not None:  # the values and their counts say all the second pass needs: raw is not kept
            found.histograms[s.stem] = hist
            found.uniques[s.stem] = np.flatnonzero(hist)
            found.raw_values[s.stem] = None
        else:
            found.uniques[s.stem] = np.unique(raw)
            fits = kept + raw.nbytes <= KEEP_RAW_BYTES  # many or large masks: memory stays bounded
            kept += raw.nbytes if fits else 0
            found.raw_values[s.stem] = raw if fits else None
        found.palettes += is_palette_mask(s.mask)
    return found, problems


def decide(found: Survey, classes: ClassList | None, num_classes: int | None, unlabelled: Unlabelled,
           mask_values: str) -> tuple[MaskReading, ClassList, list[str], list[Problem], bool]:
    """How the surveyed masks read (``mask_values.decide_reading``): the reading, the classes (``classes``, or
    as many default ones as the values say; a copy holding the reading's unlabelled value), the reading in
    sentences, the problems about the folder as a whole, and whether the folder was refused."""
    names = found.mask_names()
    values = {names[k]: u for k, u in found.uniques.items()}

    def reading_of(n: int | None, class_names) -> tuple[MaskReading, list]:
        return decide_reading(values, num_classes=n, unlabelled=unlabelled.value, source=unlabelled.source,
                              stated=unlabelled.stated, mode=mask_values, class_names=class_names)

    reading, folder_problems = reading_of(len(classes) if classes else num_classes, classes.names if classes else ())
    refused = any(sev == "error" for _, _, sev in folder_problems)
    if classes is None:
        classes = ClassList.default(reading.num_classes)
        reading = reading_of(reading.num_classes, classes.names)[0]
    classes = ClassList(list(classes.names), list(classes.colours), reading.unlabelled)  # a copy: the caller's stays
    rules = [UNDECIDED if refused else reading.rule()]
    rules += [PALETTE_RULE.format(count=found.palettes, total=len(found.raw_values))] if found.palettes else []
    return reading, classes, rules, [Problem(f, m, sev) for f, m, sev in folder_problems], refused


def count_classes(found: Survey, reading: MaskReading, num_classes: int,
                  read_with: ClassList | None) -> tuple[dict[str, np.ndarray], list[Problem]]:
    """Each surveyed mask's pixels per class as ``reading`` reads it (its histogram's values mapped, or its
    values read again with ``read_with`` when they were not kept), and the problems: values that are neither
    a class nor unlabelled (an error), a mask without a labelled pixel (a warning)."""
    names = found.mask_names()
    class_pixels: dict[str, np.ndarray] = {}
    problems: list[Problem] = []
    for stem, raw in found.raw_values.items():
        msg = reading.problem(found.uniques[stem])
        if msg:
            problems.append(Problem(names[stem], msg, stem=stem))
            continue
        if stem in found.histograms:  # each stored value's label, weighted by its pixels
            hist = found.histograms[stem]
            lut = reading.labels(np.arange(len(hist)), names[stem], found.uniques[stem])
            keep = lut != IGNORE
            counts = np.bincount(lut[keep], weights=hist[keep], minlength=num_classes)[:num_classes].astype(np.int64)
        else:
            raw = read_mask_raw(found.masks[stem], read_with) if raw is None else raw
            labels = reading.labels(raw, names[stem], found.uniques[stem])
            counts = np.bincount(labels[labels != IGNORE].ravel(), minlength=num_classes)[:num_classes]
        class_pixels[stem] = counts
        if counts.sum() == 0:
            problems.append(Problem(names[stem], "mask has no labelled pixels", "warning", stem))
    return class_pixels, problems


def scan_dataset(
    root: Path,
    num_classes: int | None = None,
    ignore_index: int | None = None,
    classes: ClassList | None = None,
    require_masks: bool = True,
    mask_values: str = "auto",
    fallback_unlabelled: int | None = None,
    fallback_source: str = "the run",
    unlabelled_source: str = GIVEN_UNLABELLED,
    masks_dir: Path | None = None,
) -> Dataset:
    """Pair images and masks in ``root`` and check every file; never raises for bad files.

    ``require_masks``: an image without a mask is an error (CLI data sets) or only a note that it
    is not labelled yet (the app's workspace, where users label a few of many images). A folder whose
    classes.json names an unlabelled value (the app's data folder) is partly labelled by design: there an
    image without a mask is a note either way, so the CLI trains on what the app saved.

    What the mask values mean is decided by ``mask_values.decide_reading`` (``Dataset.reading``, stated in
    ``Dataset.mask_rules``): ``mask_values`` is auto, index or binary; the unlabelled value is
    ``unlabelled_value``'s: ``ignore_index`` when given (in the words ``unlabelled_source``: by default the
    setting's mark), else the folder's ``classes.json``, else ``fallback_unlabelled`` (in the words
    ``fallback_source``). ``classes`` given are used for the names, colours and number of classes, not for the
    unlabelled value. ``masks_dir``: read the masks from there instead of ``root/masks`` (a run's copy of
    them: ``seg_core.runs.labels``).
    """
    if mask_values not in MODES:
        raise ValueError(f"mask_values must be one of {', '.join(MODES)}, not '{mask_values}'")
    root = Path(root)
    masks_dir = Path(masks_dir) if masks_dir is not None else root / "masks"
    problems = missing_folders(root, masks_dir, require_masks)
    stated, damaged = folder_classes(root)
    problems += damaged
    read_with = classes if classes is not None else stated
    unlabelled = unlabelled_value(stated, ignore_index, unlabelled_source, fallback_unlabelled, fallback_source)
    if read_with is not None and num_classes is not None and len(read_with) != num_classes:
        problems.append(Problem("classes.json", f"lists {len(read_with)} classes but the number of classes given is "
                                                f"{num_classes}"))
    samples, paired = pair_files(root, masks_dir)
    layout, other_layouts = folder_layout([s.image for s in samples])
    stems = {id(s.image): s.stem for s in samples}
    paired += [Problem(img.name, why, stem=stems[id(img)]) for img, why in other_layouts]
    partly_labelled = stated is not None and stated.ignore_index is not None  # a mask missing is a note there
    found, surveyed = survey(samples, read_with, "error" if require_masks and not partly_labelled else "warning")
    reading, classes, rules, folder, refused = decide(found, read_with, num_classes, unlabelled, mask_values)
    class_pixels, counted = ({}, []) if refused else count_classes(found, reading, len(classes), read_with)
    return Dataset(root, samples, classes, reading.unlabelled, problems + paired + surveyed + folder + counted,
                   class_pixels, found.sizes, reading, rules, layout)
