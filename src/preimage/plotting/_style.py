"""Colours and sizes shared by the plotting functions and the paper figures."""

from __future__ import annotations

import numpy as np

#: Paper-figure colours (matplotlib names).
RED = "#d62728"
DARK_RED = "#8c1515"
BLUE = "#1f77b4"
LIGHT_BLUE = "#9ecae1"
GREEN = "#2ca02c"
ORANGE = "#ff7f0e"
PURPLE = "#9467bd"
GREY = "#9a9a9a"
LIGHT_GREY = "#cfcfcf"
DARK_GREY = "#555555"
BLACK = "#000000"

#: One colour per node / hyperplane / dual vector (Π1, Π2, Π3, ...).
NODE_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")

#: Colours of successive layers in contraction flows (the paper's alternating red and blue).
LAYER_COLOURS = (RED, BLUE)

#: Default resolution of saved PNGs (the gallery uses less).
DPI = 110


def node_colour(i: int) -> str:
    return NODE_COLOURS[i % len(NODE_COLOURS)]


def pattern_colours(patterns, cmap: str = "tab20") -> list:
    """One colour per activation pattern, the same pattern always getting the same colour.

    The pattern's bits (a boolean pattern) or branch indices (an ``int8`` one) are hashed
    (Knuth's multiplicative hash, deterministic across runs) onto the colours of ``cmap``.
    """
    from .._optional import require

    colormaps = require("matplotlib", "plotting").colormaps

    cm = colormaps[cmap]
    n = getattr(cm, "N", 256)
    out = []
    for p in patterns:
        arr = np.asarray(p)
        bits = arr.astype(bool).ravel()
        data = np.packbits(bits) if arr.dtype == np.bool_ else arr.astype(np.uint8).ravel()
        key = 0
        for byte in data.tolist():
            key = (key * 257 + byte + 1) % (1 << 32)
        key = (key * 2654435761 + bits.size) % (1 << 32)
        out.append(cm((key % n) / max(n - 1, 1)) if n > 1 else cm(0.5))
    return out
