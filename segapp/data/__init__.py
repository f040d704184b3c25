"""The Data page's sections (pages/data.py lays them out): adding images and masks (``uploads``), the images with
their states and problems (``images``), the classes (``classes``) and removing an image (``remove``)."""
