"""Importing into the workspace, on a bad-input corpus the tests make: every file is imported, renamed or
refused with a message naming it; nothing is written outside the workspace; nothing stored earlier is lost
(replacing is a choice, and the old file goes to the trash); memory stays bounded."""
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import threading
import unicodedata
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from seg_core import ClassList, Workspace
from seg_core.workspace.importing.names import safe_stem
from seg_core.base.progress import Cancelled

from conftest import ROOT
from helpers import cli_interrupted, huge_png, huge_tiff, pa_tiff

CLASSES = ClassList(["background", "cell", "nucleus"])


@pytest.fixture
def ws(tmp_path):
    """A workspace with three classes and one painted image, ``keep`` (8x8)."""
    w = Workspace(tmp_path / "ws", seed_sample=False)
    w.save_classes(CLASSES)
    w.add_image("keep.png", _png(_rgb(8, 8, 10)))
    m = np.full((8, 8), 255, np.uint8)
    m[:2, :2] = 2
    w.save_mask("keep", m)
    return w


# -- names --------------------------------------------------------------------------------------------
def test_unicode_names_are_kept_and_lookalikes_stay_apart(ws):
    nfd = unicodedata.normalize("NFD", "Café.png")
    rep = ws.import_uploads([("细胞.png", _png(_rgb(8, 8, 1))), ("ядро.png", _png(_rgb(8, 8, 2))),
                             ("a b.png", _png(_rgb(8, 8, 3))), ("a_b.png", _png(_rgb(8, 8, 4))),
                             (nfd, _png(_rgb(8, 8, 5)))])
    assert rep.lines() == ["细胞.png: imported as 细胞", "ядро.png: imported as ядро", "a b.png: imported as a b",
                           "a_b.png: imported as a_b", f"{nfd}: imported as Café"]
    assert sorted(ws.stems()) == sorted(["keep", "细胞", "ядро", "a b", "a_b", "Café"])
    assert ws.read_image("ядро")[0, 0, 0] == 2 and ws.read_image("细胞")[0, 0, 0] == 1  # neither replaced
    rep = ws.import_uploads([], [("细胞.png", _png(np.ones((8, 8), np.uint8))),
                                 ("a b.png", _png(np.full((8, 8), 2, np.uint8)))])
    assert rep.lines() == ["masks/细胞.png: imported as 细胞 (mask)", "masks/a b.png: imported as a b (mask)"]
    assert ws.read_mask("细胞").max() == 1 and ws.read_mask("a b").max() == 2 and ws.read_mask("a_b") is None


def test_only_separators_control_characters_and_leading_dots_are_replaced():
    assert safe_stem("Zelle (2) – Ø") == "Zelle (2) – Ø"
    assert safe_stem("a/b\\c") == "a_b_c"
    assert safe_stem("bell\x07tab\tnul\x00") == "bell_tab_nul_"
    assert safe_stem("..hidden") == "__hidden"
    assert safe_stem("   ") == "image"
    long = safe_stem("ж" * 300)
    assert len(long.encode()) <= 200 and long == "ж" * 100


def test_a_name_that_exists_or_repeats_is_renamed_never_overwritten(ws):
    before = _snapshot(ws.root)
    rep = ws.import_uploads([("keep.png", _png(_rgb(8, 8, 99))), ("dup.png", _png(_rgb(8, 8, 1))),
                             ("dup.png", _png(_rgb(8, 8, 2))), ("KEEP.PNG", _png(_rgb(8, 8, 98)))])
    assert rep.lines() == [
        "keep.png: renamed to keep_2; an image named 'keep' already exists (keep.png)",
        "dup.png: imported as dup",
        "dup.png: renamed to dup_2; another file in this upload is named 'dup'",
        "KEEP.PNG: renamed to KEEP_3; an image named 'keep' already exists (keep.png)"]  # keep_2: the same but for case
    assert _unchanged(before, ws.root)  # keep.png and its painted mask untouched
    assert ws.read_image("dup")[0, 0, 0] == 1 and ws.read_image("dup_2")[0, 0, 0] == 2
    again = ws.import_uploads([("keep.png", _png(_rgb(8, 8, 10))), ("dup.png", _png(_rgb(8, 8, 2)))])
    assert again.lines() == ["keep.png: refused: identical to keep.png, already in the workspace",
                             "dup.png: refused: identical to dup_2.png, already in the workspace"]
    # a mask uploaded with a renamed image follows it; the old image's mask stays
    rep = ws.import_uploads([("keep.png", _png(_rgb(8, 8, 50)))], [("keep.png", _png(np.ones((8, 8), np.uint8)))])
    assert rep.lines() == ["keep.png: renamed to keep_4; an image named 'keep' already exists (keep.png)",
                           "masks/keep.png: imported as keep_4 (mask); follows its image, renamed from 'keep'"]
    assert ws.read_mask("keep_4").max() == 1 and ws.read_mask("keep")[0, 0] == 2
    assert not ws.scan().errors
    with pytest.raises(ValueError, match="keep.png: an image named 'keep' already exists"):
        ws.add_image("keep.png", _png(_rgb(8, 8, 77)))  # one file, by the library: refused, not renamed


def test_replacing_is_a_choice_and_the_old_files_go_to_the_trash(ws):
    painted = ws.mask_path("keep").read_bytes()
    new_mask = _png(np.ones((8, 8), np.uint8))
    rep = ws.import_uploads([], [("keep.png", new_mask)])
    assert rep.lines() == ["masks/keep.png: refused: 'keep' already has a mask; to replace it, tick 'Replace "
                           "existing files' on the Data page or pass --replace; the old one goes to the trash"]
    assert ws.mask_path("keep").read_bytes() == painted
    rep = ws.import_uploads([], [("keep.png", new_mask)], replace=True)
    assert rep.files[0].status == "imported" and "replaced the old mask (now in trash/" in rep.lines()[0]
    assert ws.read_mask("keep").max() == 1
    assert [p.read_bytes() for p in (ws.root / "trash").rglob("keep.png")] == [painted]

    # an image of another size, replacing: the old image and its (now misfitting) mask go to the trash
    old_image = ws.image_path("keep").read_bytes()
    rep = ws.import_uploads([("keep.tif", _tif(_rgb(12, 16, 7)))], replace=True)
    assert rep.files[0].status == "imported" and rep.files[0].name == "keep"
    assert "replaced keep.png; its mask (8x8) did not fit the new size 16x12 and went to the trash too" \
        in rep.lines()[0]
    assert ws.image_path("keep").name == "keep.tif" and ws.read_mask("keep") is None
    trashed = sorted(p.read_bytes() for p in (ws.root / "trash").rglob("*") if p.is_file())
    assert old_image in trashed and painted in trashed and ws.mask_path("keep").exists() is False
    assert not ws.scan().errors  # nothing left that blocks training
    # the same size keeps the mask
    ws.import_uploads([], [("keep.png", _png(np.zeros((12, 16), np.uint8)))])
    rep = ws.import_uploads([("keep.png", _png(_rgb(12, 16, 3)))], replace=True)
    assert ws.read_mask("keep") is not None and "mask" not in rep.lines()[0]


def test_a_mask_of_another_size_is_refused_naming_both(ws):
    rep = ws.import_uploads([], [("keep_mask.png", _png(np.zeros((4, 5), np.uint8)))], replace=True)
    assert rep.lines() == ["masks/keep_mask.png: refused: mask is 5x4 but image keep.png is 8x8"]
    assert ws.read_mask("keep")[0, 0] == 2


def test_a_palette_mask_with_alpha_is_read_as_palette_indices_like_one_without(tmp_path):
    """In a 2-class workspace a grey 0/255 mask is binary (255: the second class); a palette mask, with alpha
    ("PA") or without, holds indices: its 255 is unlabelled (the one palette check, ``is_palette_mask``)."""
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    ws.save_classes(ClassList(["bg", "fg"]))
    values = np.array([[0, 255], [255, 0]], np.uint8)
    ws.import_uploads([("grey.png", _png(_rgb(2, 2, 1))), ("pa.png", _png(_rgb(2, 2, 2)))],
                      [("grey.png", _png(values)), ("pa.tif", pa_tiff(values))])
    assert ws.read_mask("grey").tolist() == [[0, 1], [1, 0]]
    assert ws.read_mask("pa").tolist() == [[0, 255], [255, 0]]


# -- classes.json ------------------------------------------------------------------------------------
@pytest.mark.parametrize("content, why", [
    ({"classes": [{"name": "bg", "color": [999, -5, 0]}, {"name": "fg", "color": [1, 2, 3]}]},
     "class 0 (bg): the colour must be three whole numbers 0-255 like [230, 25, 75], got [999, -5, 0]"),
    (["bg", "fg"], "must be a JSON object like"),
    ({"classes": ["only"]}, "needs 2 to 255 classes, got 1"),
    ({"names": ["a", "a"]}, "class names must differ from each other (a repeat)"),
    ({"classes": [{"name": "a", "color": [1, 2]}, {"name": "b", "color": [1, 2, 3]}]}, "got [1, 2]"),
    ({"classes": [{"name": "a", "color": [1.5, 2, 3]}, {"name": "b"}]}, "1 colours for 2 classes"),
    ("{not json", "not valid JSON"),
])
def test_a_bad_classes_json_is_refused_before_it_is_applied(tmp_path, content, why):
    ws = Workspace(tmp_path / "ws", seed_sample=False)  # no masks: a valid one would be applied
    before = ws.classes()
    data = content if isinstance(content, str) else json.dumps(content)
    rep = ws.import_uploads([("c.zip", _zip({"classes.json": data, "images/a.png": _png(_rgb(4, 4, 1))}))])
    line = next(r for r in rep.files if r.kind == "classes")
    assert line.status == "refused" and why in line.reason and line.file == "c.zip: classes.json"
    assert ws.classes().names == before.names and rep.added == ["a"]  # the rest of the zip still imports


def test_classes_json_replaces_the_workspaces_only_by_choice(ws):
    other = json.dumps({"classes": [{"name": "sky", "color": [0, 0, 255]}, {"name": "tree", "color": [0, 255, 0]}]})
    rep = ws.import_uploads([("only.zip", _zip({"classes.json": other}))])
    assert rep.lines() == ["only.zip: classes.json: refused: the workspace's masks use its classes (background, "
                           "cell, nucleus); to use these (sky, tree) instead, tick 'Replace existing files' on "
                           "the Data page or pass --replace; the old one goes to the trash"]
    assert ws.classes().names == ["background", "cell", "nucleus"] and not rep.any_imported
    rep = ws.import_uploads([("only.zip", _zip({"classes.json": other}))], replace=True)
    assert rep.files[0].status == "imported" and ws.classes().names == ["sky", "tree"]
    old = [json.loads(p.read_text()) for p in (ws.root / "trash").rglob("classes.json")]
    assert [c["name"] for c in old[0]["classes"]] == ["background", "cell", "nucleus"]
    with pytest.raises(ValueError, match=r"class 1 \(b\): the colour must be three whole numbers"):
        ws.save_classes(ClassList(["a", "b"], [(0, 0, 0), (999, -5, 0)]))
    assert ClassList.from_json(other, strict=True).colours == [(0, 0, 255), (0, 255, 0)]


# -- zips ---------------------------------------------------------------------------------------------
def test_a_zip_of_bad_entries_is_refused_entry_by_entry(ws, tmp_path):
    huge = huge_tiff(tmp_path / "h.tif").read_bytes()
    outside = _snapshot(tmp_path, skip=ws.root)
    before = _snapshot(ws.root)
    stack = io.BytesIO()
    tifffile.imwrite(stack, np.zeros((5, 16, 16), np.uint8))
    nan = np.zeros((8, 8), np.float32)
    nan[1, 1] = np.nan
    five = io.BytesIO()
    tifffile.imwrite(five, np.zeros((5, 8, 8), np.uint8), photometric="minisblack", planarconfig="separate")
    entries = {
        "set/images/good.png": _png(_rgb(8, 8, 1)),
        "set/masks/good.png": _png(np.ones((8, 8), np.uint8)),
        "set/images/small.png": _png(_rgb(8, 8, 2)),
        "set/masks/small.png": _png(np.ones((4, 4), np.uint8)),
        "set/images/keep.png": _png(_rgb(8, 8, 3)),  # the name exists: renamed
        "set/masks/ghost.png": _png(np.ones((8, 8), np.uint8)),
        "../../evil.png": _png(_rgb(8, 8, 4)),
        "/tmp/abs_evil.png": _png(_rgb(8, 8, 4)),
        "images/huge.tif": huge,
        "images/big.png": huge_png(),
        "images/stack.tif": stack.getvalue(),
        "images/nan.tif": _tif(nan),
        "images/five.tif": five.getvalue(),
        "images/inner.zip": _zip({"images/x.png": _png(_rgb(4, 4, 1))}),
        "images/notes.txt": b"hello",
        "images/broken.png": b"\x89PNG\r\n\x1a\n garbage",
        "classes.json": json.dumps(["bg", "fg"]),
        "__MACOSX/set/images/._good.png": b"resource fork",
        "set/.DS_Store": b"junk",
    }
    data = _zip(entries, symlink={"images/link.png": "/etc/passwd"}, encrypted={"images/secret.png"},
                method={"images/odd.png": 99}, bad_crc={"images/crc.png"},
                extra={"images/secret.png": _png(_rgb(4, 4, 1)), "images/odd.png": _png(_rgb(4, 4, 1)),
                       "images/crc.png": _png(_rgb(4, 4, 1))})
    rep = ws.import_uploads([("corpus.zip", data)])
    got = {r.file: r for r in rep.files}
    assert len(got) == len(rep.files) == len(entries) - 2 + 4 + 4  # a result per file (per plane of the stack)
    assert all(f.startswith("corpus.zip: ") for f in got)
    ok = {f: (r.status, r.name) for f, r in got.items() if r.status != "refused"}
    assert ok == {"corpus.zip: set/images/good.png": ("imported", "good"),  # a name twice in the zip: its path
                  "corpus.zip: set/masks/good.png": ("imported", "good"),
                  "corpus.zip: set/images/small.png": ("imported", "small"),
                  "corpus.zip: keep.png": ("renamed", "keep_2"),
                  **{f"corpus.zip: stack.tif, plane z0{z}": ("imported", f"stack_z0{z}") for z in range(5)}}
    why = {f.split(": ", 1)[1]: r.reason for f, r in got.items() if r.status == "refused"}
    assert why["set/masks/small.png"] == "mask is 4x4 but image small.png is 8x8"
    assert why["ghost.png"].startswith("no image named 'ghost' in the workspace or in this upload")
    assert "absolute or climbs out with '..'" in why["../../evil.png"]  # unsafe entries: by their full path
    assert "absolute or climbs out with '..'" in why["/tmp/abs_evil.png"]
    assert why["images/link.png"].startswith("a symbolic link, not a file")
    assert why["images/secret.png"].startswith("encrypted (password-protected)")
    assert why["images/odd.png"].startswith("compressed with a method we cannot read (zip method 99)")
    assert why["crc.png"].startswith("damaged inside the zip (its checksum does not match)")
    assert "SEG_CORE_MAX_PIXELS" in why["huge.tif"] and "30000x30000" in why["huge.tif"]
    assert "SEG_CORE_MAX_PIXELS" in why["big.png"] and "25000x25000" in why["big.png"]
    assert why["nan.tif"].startswith("holds 1 NaN or infinite value(s)")
    assert why["five.tif"].startswith("has 5 channel(s) but this project's images have 3 (red, green, blue)")
    assert why["inner.zip"].startswith("a zip inside a zip")
    assert why["notes.txt"].startswith("not an image type we read")
    assert why["broken.png"].startswith("cannot read image")
    assert why["classes.json"].startswith("must be a JSON object")
    assert all(why.values())
    assert _snapshot(tmp_path, skip=ws.root) == outside  # nothing written outside the workspace
    assert _unchanged(before, ws.root)  # nothing stored earlier lost or changed
    assert sorted(ws.stems()) == ["good", "keep", "keep_2", "small"] + [f"stack_z0{z}" for z in range(5)]
    assert not any("evil" in p.name or "link" in p.name for p in ws.root.rglob("*"))


def test_zip_limits_are_checked_before_reading(ws, monkeypatch):
    assert ws.import_uploads([("fake.zip", b"PK\x03\x04 not really")]).lines() == [
        "fake.zip: refused: not a zip file, or a damaged one"]
    assert ws.import_uploads([("empty.zip", _zip({}))]).lines() == ["empty.zip: refused: the zip holds no files"]
    many = _zip({f"images/{i}.png": _png(_rgb(4, 4, i)) for i in range(4)})
    monkeypatch.setenv("SEG_CORE_MAX_ZIP_ENTRIES", "3")
    assert ws.import_uploads([("many.zip", many)]).lines() == [
        "many.zip: refused: the zip holds 4 files, more than the limit of 3 files (files in one zip); split it into "
        "smaller zips, or raise the limit with the environment variable SEG_CORE_MAX_ZIP_ENTRIES (now 3)"]
    monkeypatch.delenv("SEG_CORE_MAX_ZIP_ENTRIES")
    big = _zip({"images/zeros.png": bytes(3 << 20), "images/a.png": _png(_rgb(4, 4, 1))})
    monkeypatch.setenv("SEG_CORE_MAX_ZIP_TOTAL_MB", "2")
    (line,) = ws.import_uploads([("big.zip", big)]).lines()
    assert line.startswith("big.zip: refused: its files add up to 3.0 MB uncompressed, more than the limit of 2 MB")
    assert "SEG_CORE_MAX_ZIP_TOTAL_MB (now 2)" in line
    monkeypatch.delenv("SEG_CORE_MAX_ZIP_TOTAL_MB")
    monkeypatch.setenv("SEG_CORE_MAX_UPLOAD_MB", "1")
    rep = ws.import_uploads([("big.zip", big), ("loose.png", bytes(2 << 20))])
    assert rep.lines()[0] == "big.zip: zeros.png: refused: the file is 3.0 MB, more than the limit of 1 MB (size " \
                             "of one file); split it up, or raise the limit with the environment variable " \
                             "SEG_CORE_MAX_UPLOAD_MB (now 1)"
    assert rep.lines()[1] == "big.zip: a.png: imported as a"
    assert rep.lines()[2].startswith("loose.png: refused: the file is 2.0 MB, more than the limit of 1 MB")
    assert sorted(ws.stems()) == ["a", "keep"]


def test_zip_bombs_are_refused_from_their_declared_sizes(ws, tmp_path):
    zeros_zip(one := tmp_path / "one.zip", [("images/bomb.png", 1 << 30)])
    zeros_zip(many := tmp_path / "many.zip", [(f"images/b{i}.png", 144 << 20) for i in range(16)], overlap=True)
    assert one.stat().st_size < 2 << 20 and many.stat().st_size < 1 << 20
    rep = ws.import_paths([one, many])
    assert rep.lines()[0].startswith(f"{one}: bomb.png: refused: the file is 1024.0 MB, more than the limit of 200 MB")
    assert rep.lines()[1].startswith(f"{many}: refused: its files add up to 2304.0 MB uncompressed, more than the "
                                     "limit of 2048 MB")
    assert len(rep.lines()) == 2 and ws.stems() == ["keep"]


LIMITED = """
import resource, sys
from seg_core.cli import main  # torch and the libraries mapped first: the limit bounds what the import adds
vm = int(next(l for l in open("/proc/self/status") if l.startswith("VmSize")).split()[1]) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + {budget}, vm + {budget}))
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux (/proc, RLIMIT_AS)")
def test_imports_stay_within_a_memory_limit(tmp_path):
    """Allowed 1.5 GB of address space beyond what the command has mapped at start, the import refuses the
    30000x30000-declaring TIFF, a 25000x25000 PNG and zip bombs cleanly, from headers; with the limits raised
    past what memory allows, a bomb is still one refusal ("not enough memory"), not a crash."""
    huge_tiff(tif := tmp_path / "huge.tif")
    (png := tmp_path / "big.png").write_bytes(huge_png())
    zeros_zip(bomb := tmp_path / "bomb.zip", [("images/bomb.png", 1536 << 20)])
    zeros_zip(wide := tmp_path / "wide.zip", [(f"images/b{i}.png", 144 << 20) for i in range(20)], overlap=True)
    ws = tmp_path / "ws"

    def run(env):
        return subprocess.run([sys.executable, "-c", LIMITED.format(budget=1536 << 20), "import", "--workspace",
                              str(ws), "--json", str(tif), str(png), str(bomb), str(wide)],
                             capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}, timeout=900)

    res = run({})
    assert res.returncode == 1, res.stderr  # every file refused, no crash
    out = json.loads(res.stdout)
    why = {Path(f["file"].split(":")[0]).name: f["reason"] for f in out["files"]}
    assert out["refused"] == 4 and out["imported"] == out["renamed"] == 0
    assert "30000x30000" in why["huge.tif"] and "SEG_CORE_MAX_PIXELS" in why["huge.tif"]
    assert "25000x25000" in why["big.png"] and "SEG_CORE_MAX_PIXELS" in why["big.png"]
    assert "SEG_CORE_MAX_UPLOAD_MB" in why["bomb.zip"] and "SEG_CORE_MAX_ZIP_TOTAL_MB" in why["wide.zip"]
    # limits raised past what memory allows: still one clean refusal per file
    res = run({"SEG_CORE_MAX_UPLOAD_MB": "4096", "SEG_CORE_MAX_ZIP_TOTAL_MB": "8192", "SEG_CORE_MAX_PIXELS": "1e12"})
    assert res.returncode == 1, res.stderr
    out = json.loads(res.stdout)
    assert out["refused"] == len(out["files"]) == 3 + 20  # wide.zip's 20 entries, each refused
    bomb_line = next(f for f in out["files"] if f["file"].startswith(f"{bomb}:"))
    assert bomb_line["status"] == "refused" and "memory" in bomb_line["reason"]
    assert not list((ws / "data" / "images").iterdir())


# -- progress and cancel ------------------------------------------------------------------------------
def test_an_import_counts_its_files_and_a_cancel_keeps_those_imported(ws):
    files = [(f"n{i}.png", _png(_rgb(8, 8, 20 + i))) for i in range(4)]
    files.append(("set.zip", _zip({"images/z.png": _png(_rgb(8, 8, 40)), "masks/z.png": _png(np.ones((8, 8), np.uint8))})))
    seen = []
    cancel = threading.Event()

    def progress(count):
        seen.append(count.text())
        if count.done == 3:
            cancel.set()  # as if the user pressed Cancel while the third file was imported

    with pytest.raises(Cancelled) as stop:
        ws.import_uploads(files, progress=progress, cancel=cancel)
    rep = stop.value.partial
    assert seen == ["0/6 files", "1/6 files · n0.png", "2/6 files · n1.png", "3/6 files · n2.png"]
    assert rep.lines() == ["n0.png: imported as n0", "n1.png: imported as n1", "n2.png: imported as n2"]
    assert rep.not_imported == ["n3.png", "set.zip: images/z.png", "set.zip: masks/z.png"]
    assert str(stop.value) == rep.cancel_note() == ("cancelled after 3 of 6 files: the 3 file(s) imported are kept; "
                                                   "3 not imported (n3.png, set.zip: images/z.png, set.zip: masks/z.png)")
    assert rep.to_json()["cancelled"] is True and rep.to_json()["not_imported"] == rep.not_imported
    assert sorted(ws.stems()) == ["keep", "n0", "n1", "n2"]  # kept, each whole; nothing half-written or hidden
    assert sorted(p.name for p in ws.images_dir.iterdir()) == ["keep.png", "n0.png", "n1.png", "n2.png"]
    assert ws.read_image("n2")[0, 0, 0] == 22

    seen.clear()
    rep = ws.import_uploads(files, progress=lambda c: seen.append(c.text()))  # again, to the end
    assert seen[-1] == "6/6 files · set.zip: masks/z.png" and not rep.cancelled and "cancelled" not in rep.to_json()
    assert [r.status for r in rep.files] == ["refused"] * 3 + ["imported"] * 3  # the first three are there already
    assert ws.read_mask("z").max() == 1


def test_load_sample_counts_and_a_cancel_keeps_the_files_copied(tmp_path):
    ws = Workspace(tmp_path / "ws", seed_sample=False)
    cancel = threading.Event()
    seen = []

    def progress(count):
        seen.append(count.text())
        if count.done == 5:
            cancel.set()

    with pytest.raises(Cancelled, match=r"cancelled after 5 of 22 sample files: the 5 copied are kept \(5 image\(s\)\); "
                                        "17 not copied"):
        ws.load_sample(progress=progress, cancel=cancel)
    assert seen[-1] == "5/22 sample files · tissue_04.png" and len(ws.stems()) == 5
    rep = ws.load_sample()  # the rest, never over the files copied
    assert len(rep.added) == 7 and len(ws.stems()) == 12 and len(list(ws.masks_dir.glob("*.png"))) == 10


def test_import_command_prints_counts_on_stderr_and_ctrl_c_keeps_what_was_imported(tmp_path):
    """Ctrl-C stops before the next file: exit 130, the files imported stay (listed on stdout as usual)
    and stderr says how many of how many."""
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(0)
    n = 400
    for i in range(n):
        (src / f"f{i:03d}.png").write_bytes(_png(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)))
    ws = tmp_path / "ws"
    code, lines, out = cli_interrupted(rf"  [1-9]\d*/{n} files · .*", "import", "--workspace", str(ws),
                                       *sorted(map(str, src.iterdir())))
    assert code == 130, lines
    assert lines[0] == f"  0/{n} files" and "cancelling after the current step (press Ctrl-C again to stop at once)" in lines
    kept = len(list((ws / "data" / "images").iterdir()))
    assert 0 < kept < n
    assert out.splitlines() == [f"{src}/f{i:03d}.png: imported as f{i:03d}" for i in range(kept)]
    assert lines[-1].startswith(f"cancelled after {kept} of {n} files: the {kept} file(s) imported are kept; "
                                f"{n - kept} not imported (")
    assert sorted(p.name for p in (ws / "data" / "images").iterdir()) == [f"f{i:03d}.png" for i in range(kept)]

    res = subprocess.run([sys.executable, "-m", "seg_core", "import", "--workspace", str(ws), "--json",
                          str(src / "f399.png")], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0 and res.stderr.splitlines() == ["  0/1 files", "  1/1 files · " + str(src / "f399.png")]
    assert json.loads(res.stdout)["imported"] == 1  # stdout: the JSON object alone


# -- helpers ------------------------------------------------------------------------------------------
def _rgb(h, w, v):
    return np.full((h, w, 3), v, np.uint8)


def _png(arr):
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()


def _tif(arr):
    b = io.BytesIO()
    tifffile.imwrite(b, arr)
    return b.getvalue()


def _snapshot(root: Path, skip: Path | None = None) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and (skip is None or skip not in p.parents)}


def _unchanged(before: dict[str, str], root: Path) -> bool:
    """Every file of ``before`` is still there with the same bytes (new files may have been added)."""
    now = _snapshot(root)
    return all(now.get(k) == v for k, v in before.items())


def _zip(files: dict, symlink=(), encrypted=(), method=None, bad_crc=(), extra=None) -> bytes:
    """A zip of ``files`` (name -> bytes or text), plus crafted entries: ``symlink`` name -> target, and
    ``extra`` entries stored with the encrypted flag, an unknown ``method`` or a broken checksum."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
        for name, target in dict(symlink).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            z.writestr(info, target)
        for name, data in (extra or {}).items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_STORED
            z.writestr(info, data)
    raw = bytearray(buf.getvalue())
    for name in encrypted:  # the "encrypted" flag bit, in the local header and the directory
        _patch_entry(raw, name, lambda r, off: struct.pack_into("<H", r, off - 2,
                                                                struct.unpack_from("<H", r, off - 2)[0] | 1))
    for name, m in (method or {}).items():
        _patch_entry(raw, name, lambda r, off: struct.pack_into("<H", r, off, m))
    for name in bad_crc:
        _patch_entry(raw, name, None, flip_data=True)
    return bytes(raw)


def _patch_entry(raw: bytearray, name: str, set_method, flip_data: bool = False) -> None:
    """Change an entry's compression method (local header and directory) or flip a byte of its data."""
    z = zipfile.ZipFile(io.BytesIO(bytes(raw)))
    info = z.getinfo(name)
    local = info.header_offset
    if flip_data:
        n, e = struct.unpack_from("<HH", raw, local + 26)
        raw[local + 30 + n + e + 20] ^= 0xFF
        return
    set_method(raw, local + 8)
    cd = raw.find(b"PK\x01\x02")
    while cd != -1:
        n = struct.unpack_from("<H", raw, cd + 28)[0]
        if raw[cd + 46: cd + 46 + n] == name.encode():
            set_method(raw, cd + 10)
        cd = raw.find(b"PK\x01\x02", cd + 4)


def zeros_zip(path: Path, entries: list[tuple[str, int]], overlap: bool = False) -> None:
    """A real zip bomb: entries of ``n`` zero bytes (``n`` a multiple of 16 MiB) with honest sizes and
    checksums, built without compressing ``n`` bytes. ``overlap``: every directory record points at the
    first entry's data, so declared sizes add up while the file stays small."""
    chunk = 1 << 24
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = co.compress(bytes(chunk)) + co.flush(zlib.Z_FULL_FLUSH)  # byte-aligned, repeatable
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    out, central, first = bytearray(), bytearray(), None
    for name, n in entries:
        assert n % chunk == 0
        crc, zeros = 0, bytes(chunk)
        for _ in range(n // chunk):
            crc = zlib.crc32(zeros, crc)
        nm = name.encode()
        if overlap and first is not None:
            off, size = first
        else:
            data = block * (n // chunk) + end
            off, size = len(out), len(data)
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, size, n, len(nm), 0) + nm + data
            first = first or (off, size)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, size, n, len(nm), 0, 0,
                               0, 0, 0, off) + nm
    cd_off = len(out)
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), cd_off, 0)
    Path(path).write_bytes(out)


def test_a_zip_on_disk_with_too_many_files_is_refused_before_it_is_parsed(ws, tmp_path, monkeypatch):
    """The entry count comes from the zip's end record, read before zipfile parses the whole directory (a zip
    on disk as well as an upload): zipfile is never asked to open it."""
    from seg_core.workspace.importing import zips

    path = tmp_path / "many.zip"
    path.write_bytes(_zip({f"images/{i}.png": _png(_rgb(4, 4, i)) for i in range(4)}))
    monkeypatch.setenv("SEG_CORE_MAX_ZIP_ENTRIES", "3")

    def parsed(*a, **k):
        raise AssertionError("the zip's directory was parsed")
    monkeypatch.setattr(zips.zipfile, "ZipFile", parsed)
    (line,) = ws.import_paths([path]).lines()
    assert line.endswith("many.zip: refused: the zip holds 4 files, more than the limit of 3 files (files in one "
                         "zip); split it into smaller zips, or raise the limit with the environment variable "
                         "SEG_CORE_MAX_ZIP_ENTRIES (now 3)")
    assert sorted(ws.stems()) == ["keep"]


# -- stacks -----------------------------------------------------------------------------------------
def test_a_stack_imports_as_its_planes_named_by_axis_each_as_stored(ws, tmp_path):
    """A z-stack, a time series, a hyperstack and a NIfTI volume: each plane an image named <stem>_z<NN>,
    <stem>_t<NN> or <stem>_t<NN>_z<NN>, its values and bit depth kept; a plane with NaN is refused by name,
    the others of its stack imported."""
    import nibabel

    planes = (np.arange(12 * 16 * 20) % 4000).reshape(12, 16, 20).astype(np.uint16)
    tifffile.imwrite(z := tmp_path / "cells.tif", planes, imagej=True, metadata={"axes": "ZYX"})
    tifffile.imwrite(t := tmp_path / "movie.tif", planes[:3], imagej=True, metadata={"axes": "TYX"})
    tifffile.imwrite(tz := tmp_path / "hyper.tif", planes[:6].reshape(2, 3, 16, 20), ome=True,
                     metadata={"axes": "TZYX"})
    vol = planes[:4].astype(np.float32)
    vol[2, 5, 5] = np.nan
    nibabel.save(nibabel.Nifti1Image(np.transpose(vol, (2, 1, 0)), np.eye(4)), nii := tmp_path / "brain.nii.gz")
    rep = ws.import_paths([z, t, tz, nii])
    names = [r.name for r in rep.files if r.status == "imported"]
    assert names == ([f"cells_z{i:02d}" for i in range(12)] + ["movie_t00", "movie_t01", "movie_t02"]
                     + [f"hyper_t{a:02d}_z{b:02d}" for a in range(2) for b in range(3)]
                     + ["brain_z00", "brain_z01", "brain_z03"])
    assert rep.problems == [f"{nii}, plane z02: holds 1 NaN or infinite value(s); replace them (e.g. with 0) and "
                            "import it again"]
    stored = tifffile.imread(ws.image_path("cells_z07"))
    assert stored.dtype == np.uint16 and np.array_equal(stored, planes[7])  # the values as they are
    assert ws.read_image("hyper_t01_z02").shape == (16, 20, 3)
    again = ws.import_paths([z])  # the same stack again: every plane is already there
    assert {r.reason for r in again.files} == {f"identical to cells_z{i:02d}.tif, already in the workspace"
                                               for i in range(12)}


def test_the_planes_of_a_stack_of_channels_keep_their_channels_and_names(tmp_path):
    """An RGB stack with a near-infrared band: its planes read as red, green, blue, channel 4; a 2-channel stack
    whose file names its channels: each plane 2 channels, so named; each plane's values as they are."""
    rgbn = np.random.default_rng(0).integers(0, 60000, (3, 16, 20, 4), dtype=np.uint16)
    tifffile.imwrite(a := tmp_path / "field.tif", rgbn, photometric="rgb", extrasamples=["unspecified"],
                     metadata={"axes": "ZYXS"})
    ws = Workspace(tmp_path / "ws1", seed_sample=False)
    rep = ws.import_paths([a])
    assert [r.name for r in rep.files] == ["field_z00", "field_z01", "field_z02"], rep.problems
    raw, names, _ = ws.read_stored("field_z01")
    assert names == ["red", "green", "blue", "channel 4"] and np.array_equal(raw, rgbn[1])
    other = Workspace(tmp_path / "ws2", seed_sample=False)
    two = rgbn[:, :, :, :2].transpose(0, 3, 1, 2).copy()
    tifffile.imwrite(b := tmp_path / "cells.tif", two, ome=True,
                     metadata={"axes": "ZCYX", "Channel": {"Name": ["DAPI", "GFP"]}})
    rep = other.import_paths([b])
    assert [r.name for r in rep.files] == ["cells_z00", "cells_z01", "cells_z02"], rep.problems
    raw, names, _ = other.read_stored("cells_z02")
    assert names == ["DAPI", "GFP"] and np.array_equal(raw, rgbn[2, :, :, :2])


def test_cli_import_names_the_planes_of_a_stack(tmp_path):
    tifffile.imwrite(z := tmp_path / "emstack.tif", np.zeros((10, 8, 8), np.uint8), imagej=True,
                     metadata={"axes": "ZYX"})
    res = subprocess.run([sys.executable, "-m", "seg_core", "import", "--workspace", str(tmp_path / "ws"), str(z),
                          "--json"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    files = json.loads(res.stdout)["files"]
    assert [(f["file"], f["name"], f["status"]) for f in files] == [
        (f"{z}, plane z{i:02d}", f"emstack_z{i:02d}", "imported") for i in range(10)]
    assert sorted(p.name for p in Workspace(tmp_path / "ws").images_dir.iterdir()) == [
        f"emstack_z{i:02d}.tif" for i in range(10)]


def test_a_mask_stack_gives_each_plane_of_its_image_its_mask_or_is_refused_naming_both_counts(ws, tmp_path):
    (tmp_path / "set" / "images").mkdir(parents=True)
    (tmp_path / "set" / "masks").mkdir()
    tifffile.imwrite(img := tmp_path / "set" / "images" / "vol.tif", np.zeros((3, 8, 8), np.uint8), imagej=True,
                     metadata={"axes": "ZYX"})
    masks = np.stack([np.full((8, 8), z % 2, np.uint8) for z in range(3)])
    tifffile.imwrite(m := tmp_path / "set" / "masks" / "vol.tif", masks, imagej=True, metadata={"axes": "ZYX"})
    rep = ws.import_paths([img, m])
    assert [(r.file, r.status, r.name, r.kind) for r in rep.files if r.kind == "mask"] == [
        (f"{m}, plane z{z:02d}", "imported", f"vol_z{z:02d}", "mask") for z in range(3)]
    assert [int(ws.read_mask(f"vol_z{z:02d}").max()) for z in range(3)] == [0, 1, 0]
    tifffile.imwrite(m2 := tmp_path / "vol.tif", masks[:2], imagej=True, metadata={"axes": "ZYX"})
    (tmp_path / "masks").mkdir()
    m2 = m2.rename(tmp_path / "masks" / "vol.tif")
    rep = ws.import_paths([m2], replace=True)
    assert rep.problems == [f"{m2}: the mask stack has 2 planes but image vol has 3 (vol_z00 .. vol_z02); a mask "
                            "stack needs one plane per image plane, in the same order"]
