"""Files of one channel each joined into one image (``import --combine FILE... --name STEM``), and a file whose
axes were guessed read in the order the user gives (``import --axes``) or read again after import."""
import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from helpers import cli
from seg_core.data.imageio import read_header, read_raw
from seg_core.data.stacks.metadata import pixel_size
from seg_core.workspace.importing.guesses import guesses
from seg_core.workspace.workspace import Workspace


def _bands(folder, n=3, shape=(24, 32), dtype=np.uint16):
    folder.mkdir(exist_ok=True)
    paths = []
    for i, name in enumerate(["red", "green", "blue", "nir"][:n]):
        arr = (np.arange(shape[0] * shape[1]).reshape(shape) * (i + 1) % 60000).astype(dtype)
        tifffile.imwrite(folder / f"patch_{name}.tif", arr, resolution=(20000, 20000), resolutionunit="CENTIMETER")
        paths.append(folder / f"patch_{name}.tif")
    return paths


def test_combine_joins_bands_with_their_values_names_and_pixel_size(tmp_path):
    paths = _bands(tmp_path / "bands")
    res = cli("import", "--workspace", str(tmp_path / "ws"), "--combine", *map(str, paths), "--name", "field",
              "--json")
    assert res.returncode == 0, res.stderr + res.stdout
    out = json.loads(res.stdout)
    assert out["imported"] == 1 and out["files"][0]["name"] == "field"
    assert out["files"][0]["file"] == "field (joined from patch_red.tif, patch_green.tif, patch_blue.tif)"
    stored = tmp_path / "ws" / "data" / "images" / "field.tif"
    raw, hdr = read_raw(stored)
    assert raw.shape == (24, 32, 3) and raw.dtype == np.uint16
    for i, p in enumerate(paths):  # each band's values as they are, in the order given
        assert np.array_equal(raw[..., i], tifffile.imread(p))
    assert read_header(stored).names == ("red", "green", "blue")
    assert pixel_size(stored).x == pytest.approx(0.5)  # the first file's 20000 pixels per cm


def test_combine_of_four_bands_is_one_image_of_four_channels(tmp_path):
    """Passes once images of other than 1 or 3 channels are read (branch chan35)."""
    paths = _bands(tmp_path / "bands", n=4)
    res = cli("import", "--workspace", str(tmp_path / "ws"), "--combine", *map(str, paths), "--name", "field")
    assert res.returncode == 0, res.stdout
    raw, _ = read_raw(tmp_path / "ws" / "data" / "images" / "field.tif")
    assert raw.shape == (24, 32, 4) and np.array_equal(raw[..., 3], tifffile.imread(paths[3]))
    assert read_header(tmp_path / "ws" / "data" / "images" / "field.tif").names == ("red", "green", "blue", "nir")


def test_combine_refuses_other_sizes_types_and_colour_files_naming_them(tmp_path):
    a, b = _bands(tmp_path / "bands", n=2)
    tifffile.imwrite(tmp_path / "big.tif", np.zeros((30, 32), np.uint16))
    tifffile.imwrite(tmp_path / "byte.tif", np.zeros((24, 32), np.uint8))
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 32, 3), np.uint8)).save(tmp_path / "rgb.png")
    ws = tmp_path / "ws"
    res = cli("import", "--workspace", str(ws), "--combine", str(a), str(tmp_path / "big.tif"), "--name", "x")
    assert res.returncode == 1
    assert ("x (joined from patch_red.tif, big.tif): refused: " + f"{a} is 32x24 but {tmp_path / 'big.tif'} is "
            "32x30: the files joined must all be of one size") in res.stdout
    res = cli("import", "--workspace", str(ws), "--combine", str(a), str(tmp_path / "byte.tif"), "--name", "x")
    assert res.returncode == 1 and "holds 16-bit integer values (uint16) but" in res.stdout \
        and "8-bit integer values (uint8)" in res.stdout
    res = cli("import", "--workspace", str(ws), "--combine", str(a), str(tmp_path / "rgb.png"), "--name", "x")
    assert res.returncode == 1 and "rgb.png has 3 channels; join files of one channel each" in res.stdout
    res = cli("import", "--workspace", str(ws), "--combine", str(a), str(b))
    assert res.returncode == 2 and "--combine needs --name STEM" in res.stderr
    assert not list((ws / "data" / "images").iterdir())  # nothing stored


def _pages(path, n=3):
    arr = np.stack([np.full((16, 20), 1000 * (i + 1), np.uint16) for i in range(n)])
    tifffile.imwrite(path, arr, metadata=None, photometric="minisblack")  # plain pages: no axes named
    return arr


def test_a_file_naming_no_axes_is_read_as_depth_and_said_so_or_in_the_order_given(tmp_path):
    arr = _pages(tmp_path / "cells.tif")
    res = cli("import", "--workspace", str(tmp_path / "ws"), str(tmp_path / "cells.tif"))
    assert res.returncode == 0, res.stdout
    assert "cells.tif, plane z00: imported as cells_z00; its file names no axes: read as 3 planes of depth; if " \
           "they are 3 planes over time (--axes TYX) or one image of 3 channels (--axes CYX)" in res.stdout
    res = cli("import", "--workspace", str(tmp_path / "t"), "--axes", "TYX", str(tmp_path / "cells.tif"))
    assert sorted(p.stem for p in (tmp_path / "t" / "data" / "images").iterdir()) == ["cells_t00", "cells_t01",
                                                                                     "cells_t02"]
    assert "names no axes" not in res.stdout
    res = cli("import", "--workspace", str(tmp_path / "c"), "--axes", "CYX", str(tmp_path / "cells.tif"))
    assert res.returncode == 0, res.stdout
    [one] = list((tmp_path / "c" / "data" / "images").iterdir())
    raw, _ = read_raw(one)
    assert one.stem == "cells" and raw.shape == (16, 20, 3) and np.array_equal(np.moveaxis(raw, -1, 0), arr)
    res = cli("import", "--workspace", str(tmp_path / "bad"), "--axes", "ZCYX", str(tmp_path / "cells.tif"))
    assert res.returncode == 1 and "cells.tif: refused: cannot read it with the axes ZCYX: it names 4 axes but " \
                                   "the file has 3 (3 x 16 x 20); give one letter per axis" in res.stdout


def test_a_guess_is_read_again_as_time_with_its_masks_or_as_channels(tmp_path):
    arr = _pages(tmp_path / "cells.tif")
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    ws.import_paths([tmp_path / "cells.tif"])
    found = guesses(ws.root, ws.images_dir)
    assert found["cells"]["read_as"] == "3 planes of depth" and list(found["cells"]["choices"]) == ["ZYX", "TYX",
                                                                                                   "CYX"]
    mask = np.zeros((16, 20), np.uint8)
    mask[2:5, 3:9] = 1
    ws.save_mask("cells_z01", mask)
    rep = ws.read_again("cells", "TYX")
    assert ws.stems() == ["cells_t00", "cells_t01", "cells_t02"]
    assert np.array_equal(ws.read_mask("cells_t01"), mask) and ws.read_mask("cells_t00") is None
    assert "cells.tif is now read as 3 planes over time" in rep.lines()[0] and "1 mask(s) followed" in rep.lines()[0]
    assert guesses(ws.root, ws.images_dir) == {}  # chosen: no longer offered
    ws2 = Workspace(tmp_path / "ws2", seed_sample=False)
    ws2.import_paths([tmp_path / "cells.tif"])
    ws2.save_mask("cells_z01", mask)
    ws2.read_again("cells", "CYX")
    assert ws2.stems() == ["cells"] and np.array_equal(np.moveaxis(read_raw(ws2.image_path("cells"))[0], -1, 0), arr)
    assert not ws2.mask_path("cells_z01").exists()  # in the trash with the planes
    with pytest.raises(ValueError, match="no file read by a guess"):
        ws2.read_again("cells", "ZYX")


def test_a_guess_of_planes_with_two_channels_each_is_read_again_as_time(tmp_path):
    arr = (np.arange(3 * 16 * 20 * 2).reshape(3, 16, 20, 2) % 1000).astype(np.uint16)
    tifffile.imwrite(tmp_path / "cells.tif", arr, photometric="minisblack", planarconfig="contig", metadata=None)
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    ws.import_paths([tmp_path / "cells.tif"])
    assert guesses(ws.root, ws.images_dir)["cells"]["read_as"] == "3 planes of depth, each of 2 channels"
    rep = ws.read_again("cells", "TYXS")  # was refused: the planes were stacked again as 48 pages of 20 x 2
    assert "cells.tif is now read as 3 planes over time" in rep.lines()[0], rep.lines()
    assert ws.stems() == ["cells_t00", "cells_t01", "cells_t02"]
    assert np.array_equal(read_raw(ws.image_path("cells_t02"))[0], arr[2])
