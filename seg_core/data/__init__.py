"""Images and data sets: reading and writing images and masks, a data set folder checked, augmentation, the sample.
On top of the base layer only.
"""
