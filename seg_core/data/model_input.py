"""What the network reads from an image: which of its channels, in which order, and how their values become the
8-bit values the network scales to 0..1 (``ModelInput``). An image has 1 to ``MAX_CHANNELS`` channels; gray
and RGB are two cases of it.

A data folder (and a project) has one channel layout: the names of its images' channels, in order (the file's
own names, from OME ``Channel Name`` or ImageJ labels; else ``red, green, blue`` for an RGB image, ``gray`` for
one channel, ``channel 1`` .. ``channel N`` otherwise: ``channel_names``). A run reads some or all of them
(``train --channels 1,3`` or ``--channels DAPI,GFP``: ``pick_channels``), records their names in config.json
(``channels``), and every reader of the run (prediction, evaluate, rank, label next, measure, the exported
file's predictor) selects them the same way.

The network takes 3 channels for gray (repeated) and RGB images, as it always did, and N channels otherwise:
its first layer is adapted from the pretrained RGB weights (``model.input_layer``: for more than 3 channels
the RGB filters as they are for the first three, zeros for the others), so ImageNet transfer still works.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seg_core.data.intensities import Intensities

MAX_CHANNELS = 16
RGB_NAMES = ("red", "green", "blue")
GRAY_NAMES = ("gray",)


def numbered(count: int) -> tuple[str, ...]:
    """``channel 1`` .. ``channel N``."""
    return tuple(f"channel {i + 1}" for i in range(count))


def channel_names(count: int, rgb: bool = False, file_names: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The names of an image's ``count`` channels (alpha not counted): the file's own (``file_names``, one per
    channel), else red, green, blue (then ``channel 4`` ..) for an image its file says is RGB, gray for one
    channel, else ``channel 1`` .. ``channel N``."""
    if file_names and len(file_names) == count:
        return tuple(file_names)
    if count == 1:
        return GRAY_NAMES
    if rgb and count >= 3:
        return RGB_NAMES + numbered(count)[3:]
    return numbered(count)


def colour_layout(names: tuple[str, ...]) -> bool:
    """Gray or RGB: such images read each other as they always did (a gray image is its value repeated as red,
    green and blue; a run of gray images reads an RGB one as RGB)."""
    return tuple(names) in (GRAY_NAMES, RGB_NAMES)


def same_layout(names: tuple[str, ...], layout: tuple[str, ...]) -> bool:
    """An image of channels ``names`` fits a folder (or run) of channels ``layout``: as many channels, or both
    gray or RGB."""
    return len(names) == len(layout) or colour_layout(names) and colour_layout(layout)


def pick_channels(spec, layout: tuple[str, ...], where: str = "the images") -> tuple[int, ...]:
    """0-based indices into ``layout`` of the channels ``spec`` names: a list (or comma-separated text) of
    channel names or of numbers from 1, in the order the model is to read them. Raises ValueError naming the
    channels there are."""
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    items = [s for s in (str(i).strip() for i in items) if s]
    there = ", ".join(f"{i + 1} {n}" for i, n in enumerate(layout))
    if not items:
        raise ValueError(f"no channel given; {where} have {len(layout)}: {there}")
    picks = []
    for item in items:
        if item in layout:
            picks.append(layout.index(item))
        elif item.isdigit() and 1 <= int(item) <= len(layout):
            picks.append(int(item) - 1)
        else:
            raise ValueError(f"channel '{item}' is not one of the {len(layout)} channels of {where} (by number "
                             f"from 1 or by name: {there})")
    if len(set(picks)) != len(picks):
        raise ValueError(f"channels {', '.join(items)}: a channel is given twice")
    return tuple(picks)


@dataclass(frozen=True)
class ModelInput:
    """How a run reads an image: ``layout`` the names of the data's channels (all, in file order; () for a run
    trained before channels were recorded: gray or RGB images), ``picks`` the 0-based indices of those the
    network reads, in order (() : all), ``intensities`` the fixed ranges of images stored with more than 8 bits
    (None: 8-bit values as stored, or, for an old run, each such image stretched by itself)."""

    layout: tuple[str, ...] = ()
    picks: tuple[int, ...] = ()
    intensities: Intensities | None = None

    @property
    def legacy(self) -> bool:
        """A run from before channels: gray or RGB images only."""
        return not self.layout

    @property
    def indices(self) -> tuple[int, ...]:
        return self.picks or tuple(range(len(self.layout)))

    @property
    def channels(self) -> tuple[str, ...]:
        """The names of the channels the network reads, in order."""
        return tuple(self.layout[i] for i in self.indices) if self.layout else RGB_NAMES

    @property
    def in_channels(self) -> int:
        """Channels of the network's input: 3 for gray (repeated) and RGB, else one per channel read."""
        n = len(self.indices) if self.layout else 3
        return 3 if n in (1, 3) else n

    @property
    def photometric(self) -> bool:
        """The network reads 8-bit gray or RGB values: colour jitter and the stained-tissue colour evening-out
        apply (they mean nothing for other channels, and would undo fixed intensity ranges)."""
        return self.intensities is None and (self.legacy or self.channels in (RGB_NAMES, GRAY_NAMES))

    def select(self, values: np.ndarray, name: str) -> np.ndarray:
        """(H, W, C) values as stored (alpha dropped: ``imageio.colour_values``) -> the channels read, in order.
        An image whose count of channels is not the layout's is refused naming both counts."""
        count = values.shape[-1]
        if self.legacy or colour_layout(self.layout):  # gray and RGB images read each other, as always
            if count not in (1, 3):
                raise ValueError(f"{name}: has {count} channels; the model was trained on gray or RGB images "
                                 "(1 or 3 channels)")
            keep = self.legacy or count == 1 or self.layout == GRAY_NAMES or self.indices == tuple(range(count))
            return values if keep else values[..., list(self.indices)]
        if count != len(self.layout):
            raise ValueError(f"{name}: has {count} channel(s) but the model was trained on images with "
                             f"{len(self.layout)} ({', '.join(self.layout)}); give it images with the same "
                             "channels")
        return values if self.indices == tuple(range(count)) else values[..., list(self.indices)]

    def to_config(self) -> dict:
        """config.json's (and an exported model's) ``channels`` (names read, in order), ``channel_layout`` (the
        data's channels) and ``in_channels``; the ranges are ``input_normalisation`` (``Intensities.to_dict``)."""
        return {"channels": list(self.channels), "channel_layout": list(self.layout), "in_channels": self.in_channels,
                "channel_normalisation": self.normalisation()}

    def normalisation(self) -> list[dict]:
        """How each channel read becomes 0..1, one entry per channel, in order."""
        out = []
        for i, name in enumerate(self.channels):
            if self.intensities is not None:
                out.append({"channel": name, "how": "fixed range", "low": self.intensities.low[i],
                            "high": self.intensities.high[i]})
            else:
                out.append({"channel": name, "how": "8-bit values as stored, divided by 255"})
        return out

    @classmethod
    def from_config(cls, cfg: dict) -> "ModelInput":
        """The reading a run's config.json (or an exported model's ``input``) records; raises ValueError for
        a malformed entry. A config without ``channel_layout`` is a run from before: gray or RGB."""
        intensities = Intensities.from_dict(cfg.get("input_normalisation"))
        layout = tuple(str(n) for n in cfg.get("channel_layout") or ())
        if not layout:
            return cls((), (), intensities)
        try:
            picks = pick_channels(cfg.get("channels") or list(layout), layout, "the run's data")
        except ValueError as err:
            raise ValueError(f"channels {cfg.get('channels')}: {err}") from None
        out = cls(layout, picks, intensities)
        if intensities is not None and intensities.channels != len(out.indices):
            raise ValueError(f"input normalisation has {intensities.channels} ranges for {len(out.indices)} channels")
        return out
