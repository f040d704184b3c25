"""A zip's files as import entries, checked before anything is read: the entry count and uncompressed total
against the limits, and each entry's safety (no absolute paths or ``..``, no links, no encryption, a known
compression); each entry is read bounded by its declared size. Nothing is ever extracted by its path."""
from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Callable

from seg_core.base.limits import Limits, exceeded
from seg_core.workspace.importing.report import REFUSED, FileResult, Refused
from seg_core.workspace.importing.sources import Entry, parts_of

_JUNK = {".ds_store", "thumbs.db", "desktop.ini"}  # made by file managers, never the user's data
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


def open_zip(e: Entry, lim: Limits) -> tuple[zipfile.ZipFile | None, list[Entry], list[tuple[FileResult, tuple]]]:
    """The zip ``e`` opened (the caller closes it; None when refused whole), its files as entries (read later,
    one at a time) and the refusals (each result with its place in the report): the whole zip's, or its
    unsafe entries'."""
    def refuse(why: str, z: zipfile.ZipFile | None = None):
        if z is not None:
            z.close()
        return None, [], [(FileResult(e.display, REFUSED, reason=why, kind="zip"), e.order)]

    if e.size is not None and e.size > lim.max_zip_total_bytes:
        return refuse(str(exceeded("", "max_zip_total_mb", f"the zip is {e.size / 2**20:.1f} MB",
                                   f"{lim.max_zip_total_mb:g} MB", lim.max_zip_total_mb, "split it up")))
    src = e.path if e.path is not None else io.BytesIO(e.read())
    try:
        n = _declared_entries(src)
        if n is not None and n > lim.max_zip_entries:
            return refuse(_too_many(n, lim))
        z = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return refuse("not a zip file, or a damaged one")
    infos = z.infolist()
    if len(infos) > lim.max_zip_entries:
        return refuse(_too_many(len(infos), lim), z)
    total = sum(i.file_size for i in infos)
    if total > lim.max_zip_total_bytes:
        return refuse(str(exceeded("", "max_zip_total_mb", f"its files add up to {total / 2**20:.1f} MB "
                                   "uncompressed", f"{lim.max_zip_total_mb:g} MB", lim.max_zip_total_mb,
                                   "split it into smaller zips")), z)
    files = [i for i in infos if not i.is_dir() and not _junk(i.filename)]
    if not files:
        return refuse("the zip holds no files", z)
    base_count: dict[str, int] = {}
    for i in files:
        b = (parts_of(i.filename) or ("",))[-1]
        base_count[b] = base_count.get(b, 0) + 1
    out, refused = [], []
    for j, i in enumerate(files):
        parts = parts_of(i.filename) or (i.filename,)
        why = _unsafe_entry(i)
        short = base_count.get(parts[-1]) == 1 and not why  # the file's own name, when that is unique
        shown = f"{e.display}: {parts[-1] if short else i.filename}"
        if why:
            refused.append((FileResult(shown, REFUSED, reason=why, kind="file"), (*e.order[:1], j)))
            continue
        out.append(Entry(shown, parts, i.file_size, _zip_reader(z, i), (e.display,), order=(*e.order[:1], j)))
    return z, out, refused


def _too_many(n: int, lim: Limits) -> str:
    return str(exceeded("", "max_zip_entries", f"the zip holds {n} files", f"{lim.max_zip_entries} files",
                        lim.max_zip_entries, "split it into smaller zips"))


def _junk(name: str) -> bool:
    parts = parts_of(name)
    return not parts or "__MACOSX" in parts or parts[-1].startswith("._") or parts[-1].lower() in _JUNK


def _unsafe_entry(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in re.split(r"[/\\]+", name):
        return ("its path inside the zip is absolute or climbs out with '..'; such files are never extracted "
                "(zip the files with plain relative paths)")
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link, not a file; zip the file it points to instead"
    if info.flag_bits & 0x1:
        return "encrypted (password-protected); make the zip without a password"
    if info.compress_type not in _ZIP_METHODS:
        return (f"compressed with a method we cannot read (zip method {info.compress_type}); make the zip with "
                "standard Deflate compression")
    return ""


def _zip_reader(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            with z.open(info) as f:
                data = f.read(info.file_size + 1)  # zipfile stops at the declared size; checked before
        except zipfile.BadZipFile as err:
            if "CRC" in str(err):
                raise Refused("damaged inside the zip (its checksum does not match); make the zip again") from None
            raise Refused(f"damaged inside the zip ({err}); make the zip again") from None
        except RuntimeError as err:
            if "encrypted" in str(err) or "password" in str(err):
                raise Refused("encrypted (password-protected); make the zip without a password") from None
            raise Refused(f"cannot be read from the zip ({err})") from None
        except NotImplementedError as err:
            raise Refused(f"compressed with a method we cannot read ({err}); make the zip with standard "
                          "Deflate compression") from None
        except (EOFError, zlib.error, OSError, ValueError) as err:
            raise Refused(f"damaged inside the zip ({err or type(err).__name__}); make the zip again") from None
        if len(data) != info.file_size:
            raise Refused("damaged inside the zip (its length differs from the zip's directory); make the zip again")
        return data
    return read


def _declared_entries(src) -> int | None:
    """The entry count from the zip's end record, read before zipfile parses its whole directory."""
    try:
        f = open(src, "rb") if isinstance(src, (str, Path)) else src
        try:
            rec = zipfile._EndRecData(f)  # noqa: SLF001 (stable since Python 2; handles zip64)
        finally:
            if f is not src:
                f.close()
            else:
                src.seek(0)
        return int(rec[zipfile._ECD_ENTRIES_TOTAL]) if rec else None
    except Exception:  # noqa: BLE001 (zipfile will say what is wrong)
        return None

