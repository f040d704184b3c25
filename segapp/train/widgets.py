"""A training setting's widget as TrainConfig declares it (``seg_core.runs.config.SETTINGS``: its label and help
text in the page's words, bounds, choices)."""
from __future__ import annotations

from seg_core.runs.config import SETTINGS, default_of


def label(name: str, suffix: str = "") -> str:
    return SETTINGS[name].page_label + suffix


def about(name: str, suffix: str = "") -> dict:
    """A setting's label in the page's words (with the page's ``suffix``) and its help text with the technical
    name, as TrainConfig declares them."""
    return {"label": label(name, suffix), "help": SETTINGS[name].page_help}


def limits(name: str) -> dict:
    """A numeric setting's declared bounds as widget limits, where the bound is itself allowed (an excluded
    bound, like a learning rate above 0, is no widget limit: Start names it)."""
    s = SETTINGS[name]
    kw = {}
    if s.min is not None and not s.above:
        kw["min_value"] = s.kind(s.min)
    if s.max is not None and not s.below:
        kw["max_value"] = s.kind(s.max)
    return kw


def widget(where, name: str, value=None, key: str | None = None, suffix: str = "", **kw):
    """The widget of setting ``name`` by its type: a checkbox, a choice of its choices, a number within its
    bounds, or a text box; ``value``: the initial value (default: the setting's default)."""
    s = SETTINGS[name]
    value = default_of(name) if value is None else value
    kw = about(name, suffix) | {"key": key or name} | kw
    if s.kind is bool:
        return where.checkbox(value=bool(value), **kw)
    if s.choices is not None:
        options = list(s.choices)
        return where.selectbox(options=options, index=options.index(value) if value in options else 0, **kw)
    if s.kind in (int, float):
        return where.number_input(value=None if value is None else s.kind(value), **(limits(name) | kw))
    return where.text_input(value="" if value is None else str(value), **kw)
