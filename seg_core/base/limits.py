"""Size limits checked before anything big is read or decoded, each a named setting with a default.

Every limit can be changed with an environment variable (set before starting the app or a command):

| setting | environment variable | default | what it bounds |
|---|---|---|---|
| ``max_pixels`` | ``SEG_CORE_MAX_PIXELS`` | 100,000,000 | pixels per image or mask (from its header) |
| ``max_upload_mb`` | ``SEG_CORE_MAX_UPLOAD_MB`` | 200 | one uploaded file, and each file in a zip |
| ``max_zip_entries`` | ``SEG_CORE_MAX_ZIP_ENTRIES`` | 10,000 | files in one zip |
| ``max_zip_total_mb`` | ``SEG_CORE_MAX_ZIP_TOTAL_MB`` | 2,048 | a zip's files together, uncompressed |
| ``max_train_pixels`` | ``SEG_CORE_MAX_TRAIN_PIXELS`` | 4,194,304 | training crop H x W x batch (16 x 512x512) |
| ``max_prob_pixels`` | ``SEG_CORE_MAX_PROB_PIXELS`` | 16,777,216 | largest image predicted with class probabilities |

Images larger than ``max_prob_pixels`` are predicted tile by tile straight into a mask, so memory stays
bounded by the tile; they get no class probabilities, hence no dense CRF. Every message names the file,
the limit and the variable that changes it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields

MB = 1024 * 1024


@dataclass(frozen=True)
class Setting:
    env: str
    what: str  # the quantity, in a user's words
    unit: str  # "pixels", "MB", "files"


SETTINGS: dict[str, Setting] = {
    "max_pixels": Setting("SEG_CORE_MAX_PIXELS", "pixels per image", "pixels"),
    "max_upload_mb": Setting("SEG_CORE_MAX_UPLOAD_MB", "size of one file", "MB"),
    "max_zip_entries": Setting("SEG_CORE_MAX_ZIP_ENTRIES", "files in one zip", "files"),
    "max_zip_total_mb": Setting("SEG_CORE_MAX_ZIP_TOTAL_MB", "uncompressed size of a zip's files together", "MB"),
    "max_train_pixels": Setting("SEG_CORE_MAX_TRAIN_PIXELS", "training crop x batch size", "pixels"),
    "max_prob_pixels": Setting("SEG_CORE_MAX_PROB_PIXELS", "pixels predicted with class probabilities", "pixels"),
}


class LimitError(ValueError):
    """A file or setting is over a limit; the message names the file, the limit and how to change it."""

    def __init__(self, message: str, setting: str):
        self.setting = setting
        super().__init__(message)


@dataclass(frozen=True)
class Limits:
    max_pixels: int = 100_000_000
    max_upload_mb: float = 200
    max_zip_entries: int = 10_000
    max_zip_total_mb: float = 2048
    max_train_pixels: int = 16 * 512 * 512
    max_prob_pixels: int = 4096 * 4096

    @classmethod
    def from_env(cls, environ=None) -> "Limits":
        """The defaults, each replaced by its environment variable when that is set."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            env = SETTINGS[f.name].env
            text = environ.get(env, "").strip().replace("_", "")
            if not text:
                continue
            try:
                v = float(text)
            except ValueError:
                raise ValueError(f"the environment variable {env}={environ[env]!r} is not a number") from None
            if not v > 0:
                raise ValueError(f"the environment variable {env}={environ[env]!r} must be more than 0")
            values[f.name] = int(v) if f.type in (int, "int") else v
        return cls(**values)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MB)

    @property
    def max_zip_total_bytes(self) -> int:
        return int(self.max_zip_total_mb * MB)

    # -- checks ---------------------------------------------------------------------------------
    def check_pixels(self, file: str, width: int, height: int, what: str = "") -> None:
        """``file`` must hold at most ``max_pixels`` pixels (checked from its header, before decoding)."""
        if width * height > self.max_pixels:
            raise exceeded(file, "max_pixels", f"{what or 'the image'} is {width}x{height} = "
                           f"{pixels_text(width * height)}", pixels_text(self.max_pixels), self.max_pixels,
                           "downscale or cut it into tiles")

    def check_file_size(self, file: str, nbytes: int) -> None:
        if nbytes > self.max_upload_bytes:
            raise exceeded(file, "max_upload_mb", f"the file is {_mb(nbytes)}", f"{_num(self.max_upload_mb)} MB",
                           self.max_upload_mb, "split it up")


def limits() -> Limits:
    """The limits in force now (read from the environment on every call, so a change applies at once)."""
    return Limits.from_env()


def exceeded(file: str, setting: str, value: str, limit: str, raw_limit, advice: str) -> LimitError:
    """A LimitError in the common wording: ``<file>: <value>, more than the limit of <limit> (<what>); <advice>,
    or raise the limit with the environment variable <ENV> (now <n>)."""
    s = SETTINGS[setting]
    prefix = f"{file}: " if file else ""
    return LimitError(f"{prefix}{value}, more than the limit of {limit} ({s.what}); {advice}, or raise the limit "
                      f"with the environment variable {s.env} (now {_num(raw_limit)})", setting)


def pixels_text(pixels: int) -> str:
    """``12.6 megapixels``, or ``9,999 pixels`` below 0.1 megapixels."""
    return f"{pixels / 1e6:.1f} megapixels" if pixels >= 100_000 else f"{pixels:,} pixels"


def _mb(nbytes: int) -> str:
    return f"{nbytes / MB:.1f} MB"


def _num(v) -> str:
    return f"{int(v)}" if float(v).is_integer() else f"{v:g}"
