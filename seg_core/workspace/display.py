"""How a project's images are shown, kept apart from what the model reads: per channel on or off, a colour and a
contrast range (``ChannelDisplay``), mixed into one RGB picture (``composite``) for the canvas, thumbnails and
overlays. Kept per project in ``display.json`` (``DisplaySettings``), one list of channels per count of
channels (a project has one channel layout; images of another count keep their own). 8-bit gray and RGB
images are shown as they are and have no settings. Changing the display never changes an image file, a mask or
what a model is given (``imageio.read_image``).

The first image of a count of channels shown sets its channels' ranges from its own values (``auto_range``:
the 0.5-99.5 percentiles), and they are kept: every image of the project is then shown with the same ranges,
so a dim image looks dim and an empty field dark. "Auto" sets them again from the image on screen.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from seg_core.base.atomic import atomic_write_text

DISPLAY_FILE = "display.json"
GRAY, RED, GREEN, BLUE = (255, 255, 255), (255, 0, 0), (0, 255, 0), (0, 0, 255)
CYAN, MAGENTA, YELLOW = (0, 255, 255), (255, 0, 255), (255, 255, 0)
# colours of channels not yet set: as Fiji's composites (two channels: green and magenta, told apart by everyone)
DEFAULT_COLOURS = {1: [GRAY], 2: [MAGENTA, GREEN], 3: [RED, GREEN, BLUE]}
CYCLE = [RED, GREEN, BLUE, GRAY, CYAN, MAGENTA, YELLOW]


@dataclass(frozen=True)
class ChannelDisplay:
    """One channel as shown: ``on``, its ``colour`` (RGB 0-255) and the values shown from black (``low``) to
    full colour (``high``)."""

    name: str
    colour: tuple[int, int, int]
    low: float
    high: float
    on: bool = True

    def to_json(self) -> dict:
        return asdict(self) | {"colour": list(self.colour)}

    @classmethod
    def from_json(cls, d: dict) -> "ChannelDisplay":
        colour = tuple(int(min(255, max(0, c))) for c in d["colour"])[:3]
        if len(colour) != 3:
            raise ValueError("a colour is three numbers")
        return cls(str(d["name"]), colour, float(d["low"]), float(d["high"]), bool(d.get("on", True)))


def as_shown_as_stored(raw: np.ndarray) -> bool:
    """8-bit gray or RGB (alpha aside): shown as it is, without settings."""
    return raw.dtype == np.uint8 and raw.shape[-1] in (1, 3)


def auto_range(values: np.ndarray) -> tuple[float, float]:
    """The 0.5 and 99.5 percentiles of one channel's values (a sample of at most 4 million), never empty."""
    flat = np.asarray(values, np.float64).reshape(-1)
    flat = flat[:: max(1, flat.size // 4_000_000)]
    flat = flat[np.isfinite(flat)]
    if not flat.size:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(flat, [0.5, 99.5]))
    if hi <= lo:
        lo, hi = float(flat.min()), float(flat.max())
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def default_channels(raw: np.ndarray, names: list[str] | None = None) -> list[ChannelDisplay]:
    """Settings for the channels of ``raw`` (H, W, C) no one set yet: colours by count, ranges from its values."""
    n = raw.shape[-1]
    colours = DEFAULT_COLOURS.get(n) or [CYCLE[i % len(CYCLE)] for i in range(n)]
    names = names if names and len(names) == n else [f"channel {i}" for i in range(1, n + 1)]
    return [ChannelDisplay(names[i], colours[i], *auto_range(raw[..., i])) for i in range(n)]


def composite(raw: np.ndarray, channels: list[ChannelDisplay]) -> np.ndarray:
    """``raw`` (H, W, C) as uint8 RGB: each channel that is on scaled from its ``low`` (black) to its ``high``
    (its colour), the colours added and clipped to white."""
    h, w, n = raw.shape
    if len(channels) != n:
        raise ValueError(f"display settings for {len(channels)} channels, the image has {n}")
    out = np.zeros((h, w, 3), np.float32)
    for i, ch in enumerate(channels):
        if not ch.on:
            continue
        v = np.clip((raw[..., i].astype(np.float32) - ch.low) / max(ch.high - ch.low, 1e-12), 0, 1)
        out += v[..., None] * (np.asarray(ch.colour, np.float32) / 255)
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


class DisplaySettings:
    """The project's display settings (``WS/display.json``): ``{"<channel count>": [channel, ...]}``."""

    def __init__(self, root: Path):
        self.path = Path(root) / DISPLAY_FILE

    def _all(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def get(self, count: int) -> list[ChannelDisplay] | None:
        """The settings kept for images of ``count`` channels, or None (none kept, or damaged)."""
        try:
            found = [ChannelDisplay.from_json(d) for d in self._all().get(str(count), [])]
        except (KeyError, TypeError, ValueError):
            return None
        return found if len(found) == count else None

    def save(self, channels: list[ChannelDisplay]) -> None:
        data = self._all()
        data[str(len(channels))] = [c.to_json() for c in channels]
        atomic_write_text(self.path, json.dumps(data, indent=2, ensure_ascii=False))

    def for_image(self, raw: np.ndarray, names: list[str] | None = None) -> list[ChannelDisplay]:
        """The settings for ``raw``'s channels: those kept, else set from it (``default_channels``) and kept."""
        found = self.get(raw.shape[-1])
        if found is None:
            found = default_channels(raw, names)
            self.save(found)
        return found

    def auto(self, raw: np.ndarray, channel: int | None = None) -> list[ChannelDisplay]:
        """Set the range of ``channel`` (all: None) from ``raw``'s values, keep and return the settings."""
        now = self.for_image(raw)
        new = [replace(c, low=lo, high=hi) if channel in (None, i) else c
               for i, c in enumerate(now) for lo, hi in [auto_range(raw[..., i])]]
        self.save(new)
        return new


def shown(raw: np.ndarray, alpha: bool, settings: DisplaySettings | None,
          names: list[str] | None = None) -> np.ndarray:
    """An image as stored (``imageio.read_raw``, alpha flagged) as uint8 RGB to show: 8-bit gray or RGB as it
    is, others by the project's ``settings`` (``composite``; set from this image when none are kept)."""
    raw = raw[..., :-1] if alpha and raw.shape[-1] in (2, 4) else raw
    if as_shown_as_stored(raw):
        return np.ascontiguousarray(np.repeat(raw, 3, axis=-1) if raw.shape[-1] == 1 else raw)
    if raw.dtype.kind == "f":
        raw = np.nan_to_num(raw)
    channels = settings.for_image(raw, names) if settings is not None else default_channels(raw, names)
    return composite(raw, channels)
