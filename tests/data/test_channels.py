"""Images of 1 to 16 channels: read as stored with their names, one channel layout per data folder (another count
refused naming both), which channels a run reads (``--channels`` by number or name), shown as a composite, and
the network's first layer adapted from the RGB weights."""
import json

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from seg_core.data.channel_layout import image_channels
from seg_core.data.dataset import scan_dataset
from seg_core.data.display import display_rgb
from seg_core.data.errors import ImageReadError
from seg_core.data.imageio import read_channels, read_image
from seg_core.data.intensities import Intensities
from seg_core.data.model_input import ModelInput, pick_channels
from seg_core.model.network import ModelSpec, build_model

GEO_TAGS = [(33550, "d", 3, (30.0, 30.0, 0.0), False), (33922, "d", 6, (0, 0, 0, 500000.0, 4100000.0, 0), False),
            (34735, "H", 4, (1, 1, 0, 0), False)]  # pixel scale, tie point, geo keys: what makes a GeoTIFF


def test_a_two_channel_ome_tiff_reads_as_stored_with_its_channel_names(tmp_path):
    img = np.stack([np.full((8, 9), 300, np.uint16), np.arange(72, dtype=np.uint16).reshape(8, 9) * 500])
    tifffile.imwrite(p := tmp_path / "cells.tif", img, ome=True,
                     metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "GFP"]}})
    values, names = read_channels(p)
    assert values.shape == (8, 9, 2) and values.dtype == np.uint16 and names == ("DAPI", "GFP")
    assert values[3, 4, 1] == img[1, 3, 4] and image_channels(p) == ("DAPI", "GFP")
    tifffile.imwrite(p := tmp_path / "five.tif", np.zeros((8, 9, 5), np.uint8), photometric="minisblack", planarconfig="contig")
    assert read_channels(p)[1] == tuple(f"channel {i}" for i in range(1, 6))
    Image.fromarray(np.zeros((8, 9, 3), np.uint8)).save(p := tmp_path / "photo.png")
    assert read_channels(p)[1] == ("red", "green", "blue")


def test_a_geotiff_near_infrared_band_tagged_as_alpha_stays_a_channel(tmp_path):
    rgbn = np.random.default_rng(0).integers(0, 255, (8, 9, 4), dtype=np.uint8)
    tifffile.imwrite(p := tmp_path / "aerial.tif", rgbn, photometric="rgb", extrasamples=["unassalpha"],
                     extratags=GEO_TAGS)
    values, names = read_channels(p)
    assert values.shape == (8, 9, 4) and (values == rgbn).all()
    assert names == ("red", "green", "blue", "channel 4")
    assert (read_image(p) == rgbn[..., :3]).all()  # shown by its RGB
    reading = ModelInput(names, (0, 1, 2, 3))
    assert read_image(p, intensities=reading).shape == (8, 9, 4)
    tifffile.imwrite(p := tmp_path / "rgba.tif", rgbn, photometric="rgb", extrasamples=["unassalpha"])
    assert read_channels(p)[0].shape == (8, 9, 3)  # a plain TIFF's transparency is still dropped


def test_more_than_16_channels_are_refused_naming_the_file(tmp_path):
    tifffile.imwrite(p := tmp_path / "hyper.tif", np.zeros((8, 9, 17), np.uint8), photometric="minisblack", planarconfig="contig")
    with pytest.raises(ImageReadError, match=r"hyper.tif: has 17 channels; we read images of 1 to 16 channels"):
        read_channels(p)


def _folder(tmp_path, counts):
    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i, c in enumerate(counts):
        tifffile.imwrite(root / "images" / f"f{i}.tif", np.zeros((8, 9, c), np.uint16), photometric="minisblack", planarconfig="contig")
        Image.fromarray(np.eye(8, 9, dtype=np.uint8)).save(root / "masks" / f"f{i}.png")
    return root


def test_a_folder_has_one_channel_layout_and_another_count_is_refused_naming_both(tmp_path):
    ds = scan_dataset(_folder(tmp_path, [2, 2, 3]), 2)
    assert ds.channels == ("channel 1", "channel 2")
    bad = [p for p in ds.errors if p.file == "f2.tif"]
    assert len(bad) == 1 and "has 3 channel(s) but the other images here have 2 (channel 1, channel 2)" in \
        bad[0].message
    assert [s.stem for s in ds.labelled] == ["f0", "f1"]


def test_gray_and_rgb_images_are_one_layout_as_they_always_were(tmp_path):
    root = _folder(tmp_path, [])
    Image.fromarray(np.full((8, 9), 70, np.uint8)).save(root / "images" / "gray.png")
    Image.fromarray(np.zeros((8, 9, 3), np.uint8)).save(root / "images" / "colour.png")
    for stem in ("gray", "colour"):
        Image.fromarray(np.eye(8, 9, dtype=np.uint8)).save(root / "masks" / f"{stem}.png")
    ds = scan_dataset(root, 2)
    assert ds.channels == ("red", "green", "blue") and not ds.errors
    reading = ModelInput(ds.channels, (0, 1, 2))
    assert read_image(root / "images" / "gray.png", intensities=reading).tolist() == \
        read_image(root / "images" / "gray.png").tolist()  # repeated to RGB, as before


def test_a_run_reads_its_channels_by_number_or_name_and_refuses_other_counts(tmp_path):
    layout = ("DAPI", "GFP", "RFP")
    assert pick_channels("1,3", layout) == (0, 2) and pick_channels(["RFP", "DAPI"], layout) == (2, 0)
    with pytest.raises(ValueError, match=r"channel 'CY5' is not one of the 3 channels of the images \(by number "
                                         r"from 1 or by name: 1 DAPI, 2 GFP, 3 RFP\)"):
        pick_channels("DAPI,CY5", layout)
    with pytest.raises(ValueError, match="channel '4' is not one of the 3 channels"):
        pick_channels("4", layout)
    reading = ModelInput(layout, (2, 0), Intensities((0.0, 100.0), (1000.0, 200.0)))
    values = np.stack([np.full((4, 5), 150), np.full((4, 5), 7), np.full((4, 5), 500)], -1).astype(np.uint16)
    tifffile.imwrite(p := tmp_path / "three.tif", values, photometric="minisblack", planarconfig="contig")
    got = read_image(p, intensities=reading)  # RFP by 0..1000, then DAPI by 100..200
    assert got.shape == (4, 5, 2) and (got[..., 0] == 128).all() and (got[..., 1] == 128).all()
    assert reading.channels == ("RFP", "DAPI") and reading.in_channels == 2
    assert ModelInput(layout, (1,)).in_channels == 3  # one channel: repeated to 3, as gray images always were
    tifffile.imwrite(p := tmp_path / "two.tif", values[..., :2], photometric="minisblack", planarconfig="contig")
    with pytest.raises(ImageReadError, match=r"two.tif: has 2 channel\(s\) but the model was trained on images with 3 "
                                             r"\(DAPI, GFP, RFP\)"):
        read_image(p, intensities=reading)
    cfg = reading.to_config() | {"input_normalisation": reading.intensities.to_dict()}
    assert ModelInput.from_config(json.loads(json.dumps(cfg))) == reading


def test_the_display_is_a_composite_and_gray_or_rgb_stay_as_they_are():
    two = np.zeros((2, 2, 2), np.uint8)
    two[0, 0] = (200, 0)
    two[1, 1] = (0, 90)
    shown = display_rgb(two)
    assert shown[0, 0].tolist() == [200, 0, 0] and shown[1, 1].tolist() == [0, 90, 0]  # red, green
    rgb = np.random.default_rng(0).integers(0, 255, (2, 2, 3), dtype=np.uint8)
    assert display_rgb(rgb) is rgb and display_rgb(rgb[..., :1]).tolist() == np.repeat(rgb[..., :1], 3, -1).tolist()


def test_the_first_layer_keeps_the_rgb_filters_and_learns_further_channels_from_zero():
    """More than 3 channels: the RGB filters as they are for channels 1-3 (timm's ``in_chans`` would scale them
    by 3/N), zeros for the others, so the encoder reads RGB exactly as the pretrained one; that layer trains
    from the first step, frozen stages or not, at the decoder's learning rate. 2 channels: as timm adapts them."""
    rgb = build_model(ModelSpec("unet", "efficientnet_lite0", 2), "imagenet").eval()
    five = build_model(ModelSpec("unet", "efficientnet_lite0", 2, in_channels=5), "imagenet").eval()
    w3, w5 = rgb.net.encoder.model.conv_stem.weight, five.net.encoder.model.conv_stem.weight
    assert w5.shape[1] == 5 and torch.equal(w5[:, :3], w3) and not w5[:, 3:].any()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():  # whatever the further channels hold, the encoder sees the RGB image as before
        seen3 = rgb.net.encoder((x - rgb.mean) / rgb.std)[-1]
        x5 = torch.cat([x, torch.rand(1, 2, 64, 64)], 1)
        seen5 = five.net.encoder((x5 - five.mean) / five.std)[-1]
    assert torch.allclose(seen3, seen5, atol=1e-5)
    assert torch.allclose(five.mean.flatten()[3:], rgb.mean.flatten()[:2])  # channel i: colour i mod 3's
    assert five(torch.rand(1, 5, 64, 64)).shape == (1, 2, 64, 64)
    five.freeze(3)
    assert w5.requires_grad and not five.net.encoder.model.bn1.weight.requires_grad
    assert any(p is w5 for p in five.head_parameters()) and not any(p is w5 for p in five.encoder_parameters())
    rgb.freeze(3)
    assert not w3.requires_grad and any(p is w3 for p in rgb.encoder_parameters())
    two = build_model(ModelSpec("unet", "efficientnet_lite0", 2, in_channels=2), "imagenet")
    assert torch.allclose(two.net.encoder.model.conv_stem.weight, w3[:, :2] * 3 / 2)
