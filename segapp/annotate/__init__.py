"""The Annotate page's sections (pages/annotate.py lays them out): the image and its files (``image``), a
proposal from a trained run (``propose``), the canvas with its keys (``canvas``), the live suggestion
(``suggestions``) and the buttons on a mask or a proposal (``mask_actions``)."""
