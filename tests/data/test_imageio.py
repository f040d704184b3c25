"""Reading images: limits from the header before decoding, and formats read properly or refused by name."""
import io

import numpy as np
import pytest
import tifffile
from PIL import Image

from seg_core.data import imageio
from helpers import huge_png, huge_tiff, pa_tiff
from seg_core.data.imageio import ImageReadError, ImageTooLarge, image_size, read_channels, read_header, read_image
from seg_core.data.model_input import ModelInput


@pytest.fixture
def no_decoding(monkeypatch):
    """Any decoding of pixels fails the test (a refusal must come from the header alone)."""
    import tifffile
    from PIL import ImageFile

    def decoded(*args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(tifffile.TiffPageSeries, "asarray", decoded)
    monkeypatch.setattr(tifffile.TiffFile, "asarray", decoded)
    monkeypatch.setattr(ImageFile.ImageFile, "load", decoded)


def test_a_tiff_declaring_30000x30000_is_refused_from_its_header(tmp_path, no_decoding):
    path = huge_tiff(tmp_path / "huge.tif")
    assert path.stat().st_size < 8192
    with pytest.raises(ImageTooLarge) as err:  # nothing decoded (it took 15 s and 6 GB before)
        read_image(path)
    msg = str(err.value)
    assert msg.startswith("huge.tif: the image is 30000x30000 = 900.0 megapixels, more than the limit of 100.0 "
                          "megapixels (pixels per image)")
    assert "SEG_CORE_MAX_PIXELS" in msg
    with pytest.raises(ImageTooLarge, match="huge.tif"):
        image_size(path)  # what the Data and Train pages' scan asks: refused the same way, by header


def test_a_png_declaring_25000x25000_is_refused_not_warned(tmp_path):
    with pytest.raises(ImageTooLarge, match=r"big.png: the image is 25000x25000 = 625.0 megapixels"):
        read_image(tmp_path / "big.png", huge_png())
    assert read_header(tmp_path / "big.png", huge_png()).width == 25000  # the header alone is readable


def test_the_pixel_limit_follows_its_environment_variable(tmp_path, monkeypatch):
    data = _png(np.zeros((100, 100, 3), np.uint8))
    monkeypatch.setenv("SEG_CORE_MAX_PIXELS", "9999")
    with pytest.raises(ImageTooLarge, match=r"x.png: the image is 100x100 = 10,000 pixels, more than the limit of "
                                            r"9,999 pixels .* SEG_CORE_MAX_PIXELS \(now 9999\)"):
        read_image(tmp_path / "x.png", data)
    monkeypatch.setenv("SEG_CORE_MAX_PIXELS", "10000")
    assert read_image(tmp_path / "x.png", data).shape == (100, 100, 3)


def test_a_whole_stack_is_not_one_image_its_planes_are(tmp_path):
    tifffile.imwrite(p := tmp_path / "stack.tif", np.zeros((5, 32, 40), np.uint16))
    with pytest.raises(ImageReadError, match=r"stack.tif: is a stack of 5 planes \(axes QYX \(5 x 32 x 40\)\); .* "
                                             r"each plane is an image of its own \(named like stack_z00, stack_z01"):
        read_image(p)
    with tifffile.TiffWriter(p := tmp_path / "plain.tif") as w:  # pages without tifffile's shape metadata
        for _ in range(3):
            w.write(np.zeros((32, 40), np.uint8), metadata=None)
    with pytest.raises(ImageReadError, match=r"plain.tif: is a stack of 3 planes \(axes IYX"):
        read_image(p)
    with tifffile.TiffWriter(p := tmp_path / "two.tif") as w:  # two images of different sizes
        w.write(np.zeros((32, 40), np.uint8), metadata=None)
        w.write(np.zeros((10, 12), np.uint8), metadata=None)
    with pytest.raises(ImageReadError, match="two.tif: holds 2 separate images"):
        read_image(p)


def test_channels_beyond_rgb_are_read_alpha_is_dropped_planar_rgb_is_read(tmp_path):
    tifffile.imwrite(p := tmp_path / "five.tif", np.zeros((5, 32, 40), np.uint8), photometric="minisblack",
                     planarconfig="separate")
    assert read_channels(p)[0].shape == (32, 40, 5) and read_image(p).shape == (32, 40, 3)  # shown as a composite
    with pytest.raises(ImageReadError, match=r"five.tif: has 5 channels; the model was trained on gray or RGB "
                                             r"images \(1 or 3 channels\)"):
        read_image(p, intensities=ModelInput())  # a run from before channels
    tifffile.imwrite(p := tmp_path / "two.tif", np.zeros((32, 40, 2), np.uint8), photometric="minisblack",
                     planarconfig="contig")
    assert read_channels(p)[0].shape == (32, 40, 2)
    rgba = np.zeros((32, 40, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 7
    tifffile.imwrite(p := tmp_path / "rgba.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    out = read_image(p)
    assert out.shape == (32, 40, 3) and out[0, 0].tolist() == [200, 0, 0]
    planar = np.zeros((3, 32, 40), np.uint8)
    planar[1] = 90  # green
    tifffile.imwrite(p := tmp_path / "planar.tif", planar, photometric="rgb", planarconfig="separate")
    assert read_image(p)[5, 5].tolist() == [0, 90, 0]
    cmyk = io.BytesIO()
    Image.new("CMYK", (8, 6), (0, 255, 255, 0)).save(cmyk, format="JPEG")  # red in CMYK
    r, g, b = read_image(tmp_path / "c.jpg", cmyk.getvalue())[3, 3].tolist()
    assert r > 200 and g < 60 and b < 60


def test_nan_and_infinity_are_refused_finite_floats_are_stretched(tmp_path):
    a = np.linspace(0, 1, 32 * 40, dtype=np.float32).reshape(32, 40)
    tifffile.imwrite(p := tmp_path / "ok.tif", a)
    out = read_image(p)
    assert out.min() == 0 and out.max() == 255
    a[3, 4], a[5, 6] = np.nan, np.inf
    tifffile.imwrite(p := tmp_path / "nan.tif", a)
    with pytest.raises(ImageReadError, match=r"nan.tif: holds 2 NaN or infinite value\(s\); replace them"):
        read_image(p)


def test_animated_gifs_are_refused(tmp_path):
    b = io.BytesIO()
    frames = [Image.new("L", (8, 8), v) for v in (0, 128, 255)]
    frames[0].save(b, format="GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageReadError, match="anim.gif: holds 3 pages or frames"):
        read_image(tmp_path / "anim.gif", b.getvalue())


def test_image_size_decodes_each_version_of_a_file_once(tmp_path, monkeypatch):
    p = tmp_path / "a.png"
    p.write_bytes(_png(np.zeros((12, 20, 3), np.uint8)))
    calls = []
    real = imageio.read_image
    monkeypatch.setattr(imageio, "read_image", lambda *a: calls.append(a) or real(*a))
    assert image_size(p) == (12, 20) and image_size(p) == (12, 20)
    assert len(calls) == 1  # a page that rescans on every render does not decode again
    p.write_bytes(_png(np.zeros((7, 9, 3), np.uint8)))
    assert image_size(p) == (7, 9)  # a new version is read again
    p.write_bytes(b"\x89PNG broken")
    with pytest.raises(ImageReadError, match="a.png: cannot read image"):
        image_size(p)


def test_the_scan_reports_a_huge_image_by_name_without_decoding_it(tmp_path, no_decoding):
    from seg_core import scan_dataset

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    huge_tiff(tmp_path / "images" / "huge.tif")
    ds = scan_dataset(tmp_path, require_masks=False)
    assert any(p.file == "huge.tif" and "SEG_CORE_MAX_PIXELS" in p.message for p in ds.errors)


def test_a_palette_with_or_without_alpha_is_a_palette_and_reads_as_its_indices(tmp_path):
    values = np.array([[0, 1, 255], [255, 1, 0]], np.uint8)
    plain = Image.fromarray(values, mode="P")
    plain.putpalette([0, 0, 0] * 256)
    plain.save(tmp_path / "p.png")
    (tmp_path / "pa.tif").write_bytes(pa_tiff(values))
    Image.fromarray(values).save(tmp_path / "grey.png")
    assert [imageio.is_palette_mask(tmp_path / n) for n in ("p.png", "pa.tif", "grey.png")] == [True, True, False]
    for n in ("p.png", "pa.tif"):
        assert np.array_equal(imageio.read_mask_raw(tmp_path / n), values)


def _png(arr):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()
