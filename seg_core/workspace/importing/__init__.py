"""Bringing files into the workspace: their names, what happens on a clash, size limits, zips, and one
result per file. The Data page's upload and ``python -m seg_core import`` both run ``importer.Importer``;
``names`` (stored names), ``report`` (a result per file), ``sources`` (files in memory or on disk),
``zips`` (a zip's entries, checked before reading), ``annotations`` (annotation files and instance label images).

The rules:

- **Names.** A file keeps its own name, Unicode included (normalised to NFC); only path separators,
  control characters and leading dots become ``_``, and a name too long for the file system is cut.
- **Nothing is overwritten.** An image whose name exists already (letter case aside: it would clash on
  macOS and Windows), or repeats within one upload, is stored as ``name_2`` (``name_3`` …) and the result
  says so; a file identical to the one already stored under that name is refused as a duplicate.
- **Replacing is a choice** (``replace=True``: the Data page's "Replace existing files", ``--replace``):
  the old image, mask or ``classes.json`` goes to the trash first (``workspace.trash``). A replaced image whose mask no longer
  fits its size sends the mask to the trash too.
- **Masks** pair with the image of the same name (``a.png``, ``masks/a.png`` or ``a_mask.png``): one in
  the same upload (and the same folder of a zip, following it when it was renamed) or one already in the
  workspace. A mask whose size differs from its image is refused, naming both; an image that has a mask
  keeps it unless replacing is chosen.
- **Limits** (``seg_core.base.limits``) are checked before a file is read or decoded: file size, pixels from the
  header, a zip's entry count and uncompressed total. A zip is read entry by entry, each bounded; entries
  with absolute paths, ``..``, symbolic links, encryption or an unknown compression are refused, and
  nothing is ever extracted by its path (files go to ``data/images`` and ``data/masks`` by name).
- **Progress and cancel**: ``Importer.run`` counts the files handled ("12/40 files"); cancelled, it stops
  before the next file: the files handled stay (each written whole) and are reported, the rest named.
- **Annotations made elsewhere** (QuPath GeoJSON, COCO, instance label images; ``annotations``) become the
  masks of their images after the masks: each file checked whole before anything is saved, unknown class
  names refused unless mapped or added (``AnnotationChoices``).
- **classes.json** is checked before it is applied (``ClassList.from_json(strict=True)``: a JSON object,
  2-255 distinct names, colours of three integers 0-255). When the workspace holds masks, different classes are applied only when replacing.
"""
from __future__ import annotations
