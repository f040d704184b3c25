"""Stacks and volumes: their axes from the file's metadata, planes read one at a time, a data folder's stacks
paired with per-plane masks or a mask stack, and bad files explained."""
import numpy as np
import nibabel
import pytest
import tifffile
from PIL import Image

from seg_core.data.dataset import scan_dataset
from seg_core.data.imageio import ImageReadError, ImageTooLarge, read_channels, read_image, read_mask_raw
from seg_core.data.stacks.files import StackFile, read_stack_header
from seg_core.data.stacks.planes import Plane


def _planes(n, h=16, w=20, dtype=np.uint16):
    """n planes, each filled with its own number times 100 plus a ramp, so their order can be told."""
    ramp = np.arange(h * w, dtype=np.float64).reshape(h, w) % 50
    return np.stack([(ramp + 100 * i) for i in range(n)]).astype(dtype)


def test_imagej_ome_plain_and_nifti_files_give_their_planes_named_and_in_order(tmp_path):
    data = _planes(6).reshape(2, 3, 16, 20)
    tifffile.imwrite(p := tmp_path / "tz.tif", data, imagej=True, metadata={"axes": "TZYX"})
    with StackFile(p) as f:
        assert f.header.labels() == ["t00_z00", "t00_z01", "t00_z02", "t01_z00", "t01_z01", "t01_z02"]
        assert [int(f.plane(i)[0, 0]) for i in range(6)] == [0, 100, 200, 300, 400, 500]
        assert f.plane(4).dtype == np.uint16 and f.plane(4).shape == (16, 20)  # as stored: no stretch here
    tifffile.imwrite(p := tmp_path / "ome.tif", _planes(12, dtype=np.uint8).reshape(12, 16, 20), ome=True,
                     metadata={"axes": "TYX"})
    assert read_stack_header(p).labels()[:3] == ["t00", "t01", "t02"] and read_stack_header(p).planes == 12
    with tifffile.TiffWriter(p := tmp_path / "pages.tif") as w:  # a plain multi-page TIFF: its pages are depth
        for plane in _planes(3):
            w.write(plane, metadata=None)
    assert read_stack_header(p).labels() == ["z00", "z01", "z02"]
    vol = np.transpose(_planes(4), (2, 1, 0))  # NIfTI: X, Y, Z
    nibabel.save(nibabel.Nifti1Image(vol, np.diag([0.5, 0.5, 2, 1])), p := tmp_path / "mri.nii.gz")
    with StackFile(p) as f:
        assert f.header.labels() == ["z00", "z01", "z02", "z03"] and (f.header.width, f.header.height) == (20, 16)
        assert np.array_equal(f.plane(2), _planes(4)[2])  # rows are Y, columns X
        assert np.allclose(f.header.affine, np.diag([0.5, 0.5, 2, 1]))


def test_a_plane_is_read_alone_memory_does_not_grow_with_the_stack(tmp_path, monkeypatch):
    tifffile.imwrite(p := tmp_path / "big.tif", _planes(40, 64, 64), imagej=True, metadata={"axes": "ZYX"})
    with StackFile(p) as f:
        plane = f.plane(37)
        assert f.reads == 1 and int(plane[0, 0]) == 3700  # one page decoded of 40
    reads = []
    real = tifffile.TiffPage.asarray

    def counted(page, *a, **k):
        reads.append(page.index)
        return real(page, *a, **k)

    monkeypatch.setattr(tifffile.TiffPage, "asarray", counted)
    monkeypatch.setattr(tifffile.TiffFrame, "asarray", counted, raising=False)
    image = read_image(Plane(p, 21, "z21", 40))
    assert reads == [21] and image.shape == (64, 64, 3)


def test_a_stack_over_the_pixel_limit_is_refused_from_its_header_counting_every_plane(tmp_path, monkeypatch):
    tifffile.imwrite(p := tmp_path / "deep.tif", _planes(30, 40, 50), imagej=True, metadata={"axes": "ZYX"})
    monkeypatch.setenv("SEG_CORE_MAX_PIXELS", "50000")  # each plane (2,000 pixels) fits, the 30 (60,000) do not

    def never(*a, **k):
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(tifffile.TiffPage, "asarray", never)
    monkeypatch.setattr(tifffile.TiffFrame, "asarray", never, raising=False)
    with pytest.raises(ImageTooLarge, match=r"deep.tif: the stack is 30 planes of 50x40 = 60,000 pixels, more than "
                                            r"the limit of 50,000 pixels .* SEG_CORE_MAX_PIXELS \(now 50000\)"):
        read_image(Plane(p, 0, "z00", 30))
    (tmp_path / "set" / "images").mkdir(parents=True)
    p.rename(tmp_path / "set" / "images" / "deep.tif")
    ds = scan_dataset(tmp_path / "set", require_masks=False)
    assert [str(e) for e in ds.errors][0].startswith("ERROR: deep.tif: the stack is 30 planes of 50x40")


def test_bad_axes_five_dimensions_nan_planes_and_extra_bands_are_explained(tmp_path):
    tifffile.imwrite(p := tmp_path / "e.tif", np.zeros((2, 3, 4, 8, 9), np.uint8), metadata={"axes": "ETZYX"},
                     photometric="minisblack")
    with pytest.raises(ImageReadError, match=r"e.tif: it has 5 axes, among them E, which are not planes; axes found: "
                                             r"E \(wavelength\) 2, T \(time\) 3, Z \(depth\) 4, Y \(height\) 8, X "
                                             r"\(width\) 9"):
        read_stack_header(p)
    tifffile.imwrite(p := tmp_path / "qq.tif", np.zeros((2, 5, 8, 9), np.uint8))  # shaped, axes never named
    with pytest.raises(ImageReadError, match=r"qq.tif: an axis appears twice, so the order of the axes is unknown; "
                                             r"axes found: Q \(unnamed\) 2, Q \(unnamed\) 5, Y"):
        read_stack_header(p)
    nibabel.save(nibabel.Nifti1Image(np.zeros((8, 9, 3, 2, 3), np.float32), np.eye(4)), p := tmp_path / "v.nii.gz")
    with pytest.raises(ImageReadError, match=r"v.nii.gz: a NIfTI file of 5 dimensions \(8 x 9 x 3 x 2 x 3\); we read "
                                             r"X, Y, Z and T .* the axes found are X, Y, Z, T and 1 more"):
        read_stack_header(p)
    planes = _planes(3).astype(np.float32)
    planes[1, 4, 4] = np.nan
    tifffile.imwrite(p := tmp_path / "nan.tif", planes, imagej=True, metadata={"axes": "ZYX"})
    assert read_image(Plane(p, 0, "z00", 3)).shape == (16, 20, 3)
    with pytest.raises(ImageReadError, match=r"nan.tif, plane z01: holds 1 NaN or infinite value\(s\)"):
        read_image(Plane(p, 1, "z01", 3))
    # a near-infrared band tagged as an extra sample (not alpha) is a channel, never dropped as alpha
    tifffile.imwrite(p := tmp_path / "aerial.tif", np.zeros((8, 9, 4), np.uint16), photometric="rgb",
                     extrasamples=["unspecified"])
    assert read_channels(p)[0].shape == (8, 9, 4)
    tifffile.imwrite(p := tmp_path / "rgba.tif", np.zeros((8, 9, 4), np.uint8), photometric="rgb",
                     extrasamples=["unassalpha"])
    assert read_image(p).shape == (8, 9, 3)  # real transparency is still dropped


def _folder(tmp_path, planes=4):
    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    tifffile.imwrite(root / "images" / "vol.tif", _planes(planes, dtype=np.uint8), imagej=True,
                     metadata={"axes": "ZYX"})
    Image.fromarray(np.zeros((16, 20), np.uint8)).save(root / "images" / "flat.png")
    Image.fromarray(np.ones((16, 20), np.uint8)).save(root / "masks" / "flat.png")
    return root


def test_a_data_folder_pairs_per_plane_masks_and_leaves_the_other_planes_unlabelled(tmp_path):
    root = _folder(tmp_path)
    for z in (1, 3):
        Image.fromarray(np.full((16, 20), z % 2, np.uint8)).save(root / "masks" / f"vol_z{z:02d}.png")
    ds = scan_dataset(root, num_classes=2, require_masks=False)
    assert [s.stem for s in ds.samples] == ["flat", "vol_z00", "vol_z01", "vol_z02", "vol_z03"]
    assert [s.stem for s in ds.labelled] == ["flat", "vol_z01", "vol_z03"] and not ds.errors
    assert {p.file for p in ds.problems} == {"vol.tif, plane z00", "vol.tif, plane z02"}  # not labelled yet
    image, mask = ds.load_pairs([ds.labelled[2]])[0]
    assert image.shape == (16, 20, 3) and mask.shape == (16, 20)


def test_a_mask_stack_gives_every_plane_its_mask_and_a_wrong_plane_count_is_named(tmp_path):
    root = _folder(tmp_path)
    masks = np.stack([np.full((16, 20), z % 2, np.uint8) for z in range(4)])
    tifffile.imwrite(root / "masks" / "vol.tif", masks, imagej=True, metadata={"axes": "ZYX"})
    ds = scan_dataset(root, num_classes=2)
    assert [s.stem for s in ds.labelled] == ["flat", "vol_z00", "vol_z01", "vol_z02", "vol_z03"] and not ds.problems
    assert [int(read_mask_raw(s.mask).max()) for s in ds.labelled[1:]] == [0, 1, 0, 1]
    assert ds.labelled[2].mask.name == "vol.tif, plane z01"

    tifffile.imwrite(root / "masks" / "vol.tif", masks[:3], imagej=True, metadata={"axes": "ZYX"})
    ds = scan_dataset(root, num_classes=2)
    assert [str(e) for e in ds.errors if e.file == "vol.tif"] == [
        "ERROR: vol.tif: the mask stack has 3 planes but image vol.tif has 4; a mask stack needs one plane per "
        "image plane, in the same order"]
    (root / "masks" / "vol.tif").unlink()
    Image.fromarray(np.zeros((16, 20), np.uint8)).save(root / "masks" / "vol.png")
    ds = scan_dataset(root, num_classes=2)
    assert any(e.file == "vol.png" and "image vol.tif is a stack of 4 planes and this mask is one plane; give its "
               "masks per plane (vol_z00.png, vol_z01.png, ...)" in e.message for e in ds.errors)


def test_a_nifti_volume_with_a_nifti_mask_volume(tmp_path):
    root = tmp_path / "mri"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    vol = np.transpose(_planes(5).astype(np.float32), (2, 1, 0))
    nibabel.save(nibabel.Nifti1Image(vol, np.eye(4)), root / "images" / "case1.nii.gz")
    nibabel.save(nibabel.Nifti1Image((vol > 150).astype(np.uint8), np.eye(4)), root / "masks" / "case1.nii.gz")
    ds = scan_dataset(root, num_classes=2)
    assert [s.stem for s in ds.labelled] == [f"case1_z{z:02d}" for z in range(5)] and not ds.errors
    assert [int(ds.class_pixels[f"case1_z{z:02d}"][1] > 0) for z in range(5)] == [0, 0, 1, 1, 1]
