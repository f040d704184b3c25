"""The planes of one stack among a project's images: a stack file is imported as images named
``<stem>_z<NN>`` (``_t<NN>``, ``_t<NN>_z<NN>``: ``seg_core.data.stacks.planes``), and the Annotate page browses
them as one stack (``stack_of``)."""
from __future__ import annotations

import re

PLANE_SUFFIX = r"_(t\d{2,}_z\d{2,}|[tz]\d{2,})"  # what follows a stack's stem in the name of each of its planes
_PLANE = re.compile(r"(.+?)" + PLANE_SUFFIX)


def split_plane(stem: str) -> tuple[str, str] | None:
    """(the stack's stem, the plane's label) of a plane's image name (``cells_z03`` -> ``("cells", "z03")``),
    or None for an image that is no plane."""
    m = _PLANE.fullmatch(stem)
    return (m.group(1), m.group(2)) if m else None


def plane_position(label: str) -> tuple[int, int]:
    """(z, t) of a plane's label (``t01_z03`` -> (3, 1), ``z07`` -> (7, 0)); an axis the label does not name is 0."""
    found = dict(re.findall(r"([tz])(\d+)", label))
    return int(found.get("z", 0)), int(found.get("t", 0))


def is_plane_of(stem: str, stack: str) -> bool:
    """``stem`` names a plane of the stack ``stack`` (``cells_z03`` of ``cells``)."""
    return re.fullmatch(re.escape(stack) + PLANE_SUFFIX, stem) is not None


def stack_of(stem: str, stems: list[str]) -> list[str]:
    """The images among ``stems`` that are planes of the same stack as ``stem`` (its label of the same form:
    ``z``, ``t`` or ``t_z``), in order; ``[stem]`` for an image that is no plane."""
    found = split_plane(stem)
    if found is None:
        return [stem]
    base, label = found
    form = re.sub(r"\d+", "#", label)
    return sorted(s for s in stems if (p := split_plane(s)) is not None and p[0] == base
                  and re.sub(r"\d+", "#", p[1]) == form)
