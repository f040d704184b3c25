"""The workspace image by image: its state in the labelling loop, size, the classes its mask holds, its
problems.

States (``STATES``): ``unlabelled`` (no mask, no proposal), ``proposal`` (a run's prediction waits to be
accepted or rejected, whether or not the image has a mask), ``labelled`` (a mask), ``reviewed`` (a mask a
person checked: an accepted proposal, or "Mark as reviewed"; ``review_state``).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from seg_core.data.dataset import Dataset, Problem
from seg_core.workspace.review_state import review_marks
from seg_core.workspace.workspace import Workspace

STATES = ("reviewed", "labelled", "proposal", "unlabelled")  # in the order the Data page counts them


def image_state(has_mask: bool, has_proposal: bool, reviewed: bool) -> str:
    """One image's state (see the module's docstring); a reviewed mark counts only while there is a mask."""
    if has_proposal:
        return "proposal"
    if not has_mask:
        return "unlabelled"
    return "reviewed" if reviewed else "labelled"


def image_states(workspace: Workspace, reviewed: set[str] | None = None) -> dict[str, str]:
    """Each image's state, by stem, in ``workspace.stems()`` order (reads no image or mask). ``reviewed``: the
    reviewed stems when the caller has them (else read; ValueError naming ``reviewed.json`` when damaged)."""
    marks = set(review_marks(workspace.root)) if reviewed is None else reviewed
    proposed = workspace.proposals.stems()
    return {s: image_state(workspace.mask_path(s).exists(), s in proposed, s in marks) for s in workspace.stems()}


def state_counts(states: dict[str, str]) -> str:
    """``"12 images: 3 reviewed, 5 labelled, 1 proposal, 3 unlabelled"`` (states with no image left out)."""
    counts = Counter(states.values())
    parts = [f"{counts[s]} {s}" for s in STATES if counts[s]]
    n = len(states)
    return f"{n} image{'' if n == 1 else 's'}" + (f": {', '.join(parts)}" if parts else "")


@dataclass
class ImageOverview:
    stem: str
    size: tuple[int, int] | None  # (H, W); None when the image cannot be read
    labelled: bool  # a mask file exists
    classes_present: list[str] = field(default_factory=list)  # names of the classes its mask holds
    problems: list[Problem] = field(default_factory=list)  # those about this image or its mask
    state: str = "unlabelled"  # unlabelled, proposal, labelled or reviewed (``image_state``)


def image_overview(workspace: Workspace, dataset: Dataset | None = None,
                   reviewed: set[str] | None = None) -> list[ImageOverview]:
    """One entry per workspace image, in ``workspace.stems()`` order. ``dataset``: ``workspace.scan()``
    when the caller has it already; ``reviewed`` as for ``image_states``. Problems are matched to images by
    exact stem."""
    ds = workspace.scan() if dataset is None else dataset
    states = image_states(workspace, reviewed)
    names = ds.classes.names
    problems: dict[str, list[Problem]] = {}
    for p in ds.problems:
        if p.stem is not None:
            problems.setdefault(p.stem, []).append(p)
    rows = []
    for stem, state in states.items():
        counts = ds.class_pixels.get(stem)
        present = [] if counts is None else [names[i] for i, c in enumerate(counts) if c and i < len(names)]
        rows.append(ImageOverview(stem, ds.sizes.get(stem), workspace.mask_path(stem).exists(), present,
                                  problems.get(stem, []), state))
    return rows
