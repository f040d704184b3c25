"""Whole slides in the app: the Annotate page's slide overview and region picker (``annotate``), the Review
page's whole-slide prediction, its overlay, the object-density heat map and jumping to a region (``review``);
``view`` draws on overviews. The engine is ``seg_core.slides``."""
