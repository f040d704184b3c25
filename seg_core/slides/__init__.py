"""Whole slides and other huge tiled images (docs/slides.md): opened without loading (``reader``), registered
in a project with regions taken as images (``registry``), tissue found (``tissue``), predicted tile by tile
into a pyramidal OME-TIFF mask that resumes after an interruption (``predict``, ``store``, ``pyramid``), and
their objects counted across tiles, each once (``objects``); ``folder`` runs these for ``predict`` and
``measure``."""
