"""The app's first-run guide: what to do on each page, in order, and whether it was put away for a workspace.

Dismissing the guide is remembered in the workspace (``<root>/guide_dismissed``, an empty file), not in the
browser: it then stays away after a reload, in a new tab and after a server restart, and a new workspace
(another data set, usually someone starting afresh) shows it again.
"""
from __future__ import annotations

from pathlib import Path

FILE = "guide_dismissed"

STEPS = (  # (page title, what to do there)
    ("Data", "Add your images (and any masks you already have), or load the sample. Name your classes: what "
             "you want the model to find, e.g. cell and nucleus."),
    ("Annotate", "Paint a few images: 3 to 5 are enough for a first model. Pixels you leave unpainted are "
                 "simply skipped, so rough labels of the clear parts are fine."),
    ("Train", "Press Start training: the defaults make a first model in about two minutes. It starts from a "
              "network that already learned from millions of photos, so a few images are enough."),
    ("Review", "See how well the model's masks overlap yours, image by image, and which images to label next."),
    ("Annotate", "Let the model propose a mask, correct it and accept it; then train again from the last model."),
    ("Runs & export", "Compare your models, download the best one or its masks, or take it to other programs."),
)


def guide_dismissed(root: Path) -> bool:
    return (Path(root) / FILE).exists()


def dismiss_guide(root: Path, dismissed: bool = True) -> None:
    """Put the guide away for this workspace (``dismissed=False``: show it again)."""
    path = Path(root) / FILE
    if dismissed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    else:
        path.unlink(missing_ok=True)
