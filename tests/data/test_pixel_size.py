"""The pixel size (and plane spacing) a file's metadata states, read from its header: OME-TIFF, ImageJ TIFF,
plain TIFF resolution, NIfTI pixdim; a length given as text (``--pixel-size``); channel names from the file."""
import nibabel
import numpy as np
import pytest
import tifffile

from seg_core.data.imageio import read_header
from seg_core.data.stacks.metadata import parse_length, pixel_size


def test_ome_physical_size_with_its_units_and_the_plane_spacing(tmp_path):
    p = tmp_path / "cells.ome.tif"
    tifffile.imwrite(p, np.zeros((4, 2, 16, 16), np.uint16), ome=True,
                     metadata={"axes": "ZCYX", "PhysicalSizeX": 325, "PhysicalSizeXUnit": "nm",
                               "PhysicalSizeY": 0.325, "PhysicalSizeZ": 2.0, "Channel": {"Name": ["DAPI", "GFP"]}})
    size = pixel_size(p)
    assert (size.x, size.y, size.z, size.source) == (pytest.approx(0.325), 0.325, 2.0, "OME metadata")
    assert size.describe() == "0.325 µm per pixel, planes 2 µm apart (OME metadata)"
    assert read_header(p).names == ("DAPI", "GFP")


def test_imagej_resolution_in_its_unit_and_spacing(tmp_path):
    p = tmp_path / "stack.tif"
    tifffile.imwrite(p, np.zeros((3, 16, 16), np.uint8), imagej=True, resolution=(1 / 0.5, 1 / 0.25),
                     metadata={"axes": "ZYX", "spacing": 1.5, "unit": "micron"})
    size = pixel_size(p)
    assert (size.x, size.y, size.z, size.source) == (0.5, 0.25, 1.5, "ImageJ metadata") and not size.square
    tifffile.imwrite(p, np.zeros((16, 16), np.uint8), imagej=True, resolution=(2.0, 2.0), metadata={"unit": "nm"})
    assert pixel_size(p).x == pytest.approx(0.0005)  # 2 pixels per nanometre


def test_plain_tiff_resolution_in_cm_or_inch_but_not_a_screen_default(tmp_path):
    p = tmp_path / "scan.tif"
    tifffile.imwrite(p, np.zeros((8, 8), np.uint8), resolution=(20000, 20000), resolutionunit="CENTIMETER")
    size = pixel_size(p)
    assert (size.x, size.y, size.z, size.source) == (0.5, 0.5, None, "TIFF resolution")
    tifffile.imwrite(p, np.zeros((8, 8), np.uint8), resolution=(25400, 25400), resolutionunit="INCH")
    assert pixel_size(p).x == pytest.approx(1.0)
    tifffile.imwrite(p, np.zeros((8, 8), np.uint8), resolution=(72, 72), resolutionunit="INCH")
    assert pixel_size(p) is None  # what editors write when nothing was measured
    tifffile.imwrite(p, np.zeros((8, 8), np.uint8))
    assert pixel_size(p) is None
    (tmp_path / "a.png").write_bytes(b"not read")
    assert pixel_size(tmp_path / "a.png") is None


def test_nifti_pixdim_in_millimetres(tmp_path):
    img = nibabel.Nifti1Image(np.zeros((8, 6, 4), np.int16), np.diag([0.8, 0.8, 3.0, 1.0]))
    img.header.set_zooms((0.8, 0.7, 3.0))
    img.header.set_xyzt_units("mm")
    nibabel.save(img, tmp_path / "brain.nii.gz")
    size = pixel_size(tmp_path / "brain.nii.gz")
    assert (size.x, size.y, size.z, size.source) == (pytest.approx(800), pytest.approx(700), pytest.approx(3000),
                                                      "NIfTI header")
    img.header.set_xyzt_units("micron")
    nibabel.save(img, tmp_path / "small.nii")
    assert pixel_size(tmp_path / "small.nii").x == pytest.approx(0.8)


@pytest.mark.parametrize("text, um", [("0.325", 0.325), ("0.325um", 0.325), ("0.325 µm", 0.325),
                                      ("325nm", 0.325), ("0.000325mm", 0.325), ("1e-1", 0.1)])
def test_a_length_as_text(text, um):
    assert parse_length(text) == pytest.approx(um)


@pytest.mark.parametrize("text", ["0", "-1", "abc", "0.3 parsecs", ""])
def test_a_bad_length_says_what_is_accepted(text):
    with pytest.raises(ValueError, match="is not a pixel size: give micrometres per pixel, a positive number"):
        parse_length(text)
