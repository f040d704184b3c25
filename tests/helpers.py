"""Helpers several test folders share: the command line run as a user runs it, and image files that hold
what a reader must refuse or read by index."""
import io
import struct
import subprocess
import sys
import zlib

import numpy as np
import tifffile
from PIL import Image

from conftest import ROOT


def cli(*args):
    return subprocess.run([sys.executable, "-m", "seg_core", *args], capture_output=True, text=True, cwd=ROOT)


COPIES = 200


def interrupted_on_copies(command: str, done: str, kept_in: str, run, image, tmp_path, flag: str = "--run"):
    """Run ``command --run RUN --images DIR --out OUT`` (``flag``: ``--model`` for an exported file given as
    ``run``) on COPIES copies of ``image`` (im000.png ...) and press
    Ctrl-C once its progress says some images are ``done`` ("predicted"); it must exit 130. Returns OUT, the
    names of the files kept in ``OUT/kept_in`` (sorted), the stderr lines and stdout."""
    import shutil

    images, out = tmp_path / "images", tmp_path / "out"
    images.mkdir()
    for i in range(COPIES):
        shutil.copy(image, images / f"im{i:03d}.png")
    code, lines, stdout = cli_interrupted(rf"  [1-9]\d*/{COPIES} images {done} · im\d+\.png", command, flag,
                                          str(run), "--images", str(images), "--out", str(out))
    assert code == 130, lines
    return out, sorted(p.name for p in (out / kept_in).iterdir()), lines, stdout


def cli_interrupted(pattern: str, *args):
    """Run the command and press Ctrl-C (SIGINT) when a line of its stderr matches ``pattern``; returns its exit
    status, its stderr lines and its stdout."""
    import re
    import signal

    proc = subprocess.Popen([sys.executable, "-m", "seg_core", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:  # progress counts come on stderr while it works
        lines.append(line.rstrip("\n"))
        if re.fullmatch(pattern, lines[-1]):
            proc.send_signal(signal.SIGINT)
            break
    stdout, err = proc.communicate(timeout=300)
    return proc.returncode, lines + err.splitlines(), stdout


def huge_tiff(path, side=30000):
    """A few hundred bytes of TIFF whose header declares side x side pixels."""
    tifffile.imwrite(path, np.zeros((16, 16), np.uint8))
    with tifffile.TiffFile(path, mode="r+b") as tif:
        tags = tif.pages[0].tags
        for t in ("ImageWidth", "ImageLength", "RowsPerStrip"):
            tags[t].overwrite(side)
    return path


def huge_png(side=25000) -> bytes:
    """A small PNG whose IHDR declares side x side pixels (its CRC fixed, so readers believe it)."""
    b = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(b, format="PNG")
    data = bytearray(b.getvalue())
    data[16:24] = struct.pack(">II", side, side)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def pa_tiff(values: np.ndarray) -> bytes:
    """A palette image with alpha (PIL's "PA"), as TIFF: each pixel a palette index, fully opaque."""
    im = Image.new("PA", (values.shape[1], values.shape[0]))
    im.putpalette([0, 0, 0] * 256)
    im.putdata([(int(v), 255) for v in values.ravel()])
    b = io.BytesIO()
    im.save(b, format="TIFF")
    return b.getvalue()
