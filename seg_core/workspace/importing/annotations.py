"""Annotations made elsewhere, imported as masks (``Importer``'s part for them): QuPath GeoJSON and COCO
files (``seg_core.exchange.annotations_in``) and instance label images (Cellpose, StarDist: one id per
object, in an ``instances/`` folder or named ``<image>_instances.tif``).

A file is checked whole before anything is saved: its JSON, every object's outline, its class names, the
images it is for (each present, of the file's size, without a mask unless replacing); a refused file
changes nothing. Unknown class names are refused, listed, unless ``AnnotationChoices`` maps them to the
workspace's classes or adds them. An instance label image becomes a mask of one class (``instance_class``,
or the only class besides the background) and is kept as ``data/instances/<image>.tif`` for object scores
(``python -m seg_core evaluate --instances``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seg_core.base.atomic import atomic_write
from seg_core.base.classes import ClassList
from seg_core.data.imageio import image_size, read_raw
from seg_core.exchange.annotations_in import class_colours, class_mask, read_annotations, resolve_classes
from seg_core.workspace.importing.names import split_name
from seg_core.workspace.importing.report import FileResult, Refused
from seg_core.workspace.planes import plane_position, split_plane

INSTANCES_SUFFIX = "_instances"


@dataclass
class AnnotationChoices:
    """How annotation files' classes become the workspace's: ``mapping`` their name -> ours, ``add`` unknown
    names as new classes, ``instance_class`` the class of instance label images' objects."""

    mapping: dict[str, str] = field(default_factory=dict)
    add: bool = False
    instance_class: str | None = None


class AnnotationImports:
    """The importer's methods for annotation files and instance label images (mixed into ``Importer``)."""

    choices: AnnotationChoices

    def _annotations(self, e, group: tuple) -> list[FileResult]:
        data = self._read(e)
        stem = split_name(e.basename)[0]
        images = read_annotations(e.basename, data, stem)
        classes = self._classes_now()
        index, new = resolve_classes(images, classes.names, self.choices.mapping, self.choices.add, e.basename)
        plans, empty, seen = [], [], {}
        for im in images:  # everything checked before anything is saved
            if not im.drawn:
                empty.append(im.source)
                continue
            try:
                if im.plane is not None:
                    im.stem = self._plane_image(im.stem, im.plane, group)
                target, image, had_mask = self._mask_target(im.stem, group)
            except Refused as err:
                raise Refused(f"{im.source}: {err}") from None
            if target in seen:
                raise Refused(f"{seen[target]} and {im.source} are both for image '{target}'")
            seen[target] = im.source
            h, w = self._shapes.get(target) or image_size(image)
            if im.size is not None and tuple(im.size) != (h, w):
                raise Refused(f"{im.source} is {im.size[1]}x{im.size[0]} in the file but image {image.name} is {w}x{h}")
            plans.append((im, target, image, had_mask, class_mask(im, (h, w), index, e.basename)))
        if not plans:
            raise Refused("holds no objects" + (f" (images without any: {', '.join(empty[:5])})" if empty else ""))
        note = ""
        if new:  # added at the end: no stored mask value changes meaning
            colours = class_colours(images)
            self.layout.save_classes(ClassList(classes.names + new, classes.colours + [
                colours.get(n) or ClassList(classes.names + new).colours[len(classes) + i] for i, n in enumerate(new)]))
            self._cls = None
            note = f"classes added: {', '.join(new)}"
        results = []
        for im, target, image, had_mask, mask in plans:
            shown = e.display if len(images) == 1 else f"{e.display}: {im.source}"
            r = self._save_mask(shown, e.basename, im.stem, target, image, had_mask, mask, True)
            r.kind = "annotations"
            r.reason = "; ".join(x for x in (f"{len(im.drawn)} object(s)", r.reason, note) if x)
            note = ""
            results.append(r)
        return results

    def _plane_image(self, stem: str, plane: tuple[int, int], group: tuple) -> str:
        """The name of plane (z, t) of the stack imported as ``stem``'s planes (``<stem>_z03``, ``<stem>_t01``,
        ``<stem>_t01_z03``, however many digits its planes have), or Refused naming the plane."""
        names = [name for g, name in self._batch if g == group] + self._listed_stems()
        for name in names:  # read with the stacks' own naming rule (``workspace.planes``), whatever the digits
            found = split_plane(name)
            if found is not None and found[0] == stem and plane_position(found[1]) == tuple(plane):
                return name
        if plane == (0, 0) and self._image_file(stem) is not None:
            return stem  # objects placed on the first plane of an image that is not a stack
        z, t = plane
        where = f"z {z}" + (f", t {t}" if t else "")
        raise Refused(f"objects on plane {where} of '{stem}', but the workspace has no such plane (images named "
                      f"like {stem}_z{z:02d}); import the stack first")

    def _instance_class(self) -> int:
        classes = self._classes_now()
        name = self.choices.instance_class
        if name is None:
            if len(classes) == 2:
                return 1
            raise Refused(f"an instance label image: name the class its objects are (one of "
                          f"{', '.join(classes.names[1:])}) with --instance-class, or on the Data page")
        if name not in classes.names[1:]:
            raise Refused(f"the class for instance label images, '{name}', is not one of the workspace's classes "
                          f"besides the background ({', '.join(classes.names[1:])})")
        return classes.names.index(name)

    def _instances(self, e, group: tuple) -> FileResult:
        stem = split_name(e.basename)[0]
        if stem.lower().endswith(INSTANCES_SUFFIX) and len(stem) > len(INSTANCES_SUFFIX):
            stem = stem[:-len(INSTANCES_SUFFIX)]
        data = self._read(e)
        value = self._instance_class()
        target, image, had_mask = self._mask_target(stem, group)
        ids, _ = read_raw(Path(e.basename), data)
        if ids.ndim != 3 or ids.shape[-1] != 1 or ids.dtype.kind not in "iub":
            raise Refused("an instance label image has one channel of whole numbers (0 background, one id per "
                          f"object); this one has {ids.shape[-1] if ids.ndim == 3 else '?'} channel(s) of {ids.dtype}")
        ids = ids[..., 0].astype(np.int64)
        if ids.min() < 0 or ids.max() > np.iinfo(np.uint16).max:
            raise Refused(f"its ids run from {ids.min()} to {ids.max()}; instance ids are 0 (background) to 65535")
        mask = np.where(ids > 0, value, 0).astype(np.uint8)
        r = self._save_mask(e.display, e.basename, stem, target, image, had_mask, mask, True)
        kept = self.layout.instances_path(target)
        kept.parent.mkdir(parents=True, exist_ok=True)
        import tifffile

        atomic_write(kept, lambda tmp: tifffile.imwrite(tmp, ids.astype(np.uint16), compression="zlib"))
        r.kind = "instances"
        n = len(np.unique(ids)) - (1 if (ids == 0).any() else 0)
        r.reason = "; ".join(x for x in (f"{n} object(s) of class {self._classes_now().names[value]}, kept in "
                                         f"data/instances/{target}.tif", r.reason) if x)
        return r
