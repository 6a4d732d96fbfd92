"""Every figure of both papers, regenerated from computation (``preimage figures --out DIR``).

Paper 002 (Carlsson et al., *The Preimage of Rectifier Network Activities*): Figs. 1, 2, 3, 6.
Paper 000 (*Geometry of Deep Convolutional Networks*): Figs. 1, 2, 3, 4. (Figs. 4 and 5 of
paper 002 are hand-drawn sketches of hypothetical image manifolds, with no network to compute.)

Each figure is a function ``figure_<name>(out_dir) -> FigureResult`` in its own module: it
computes the geometry with the library (preimages, regions, cells, manifolds, cones — never
hand-placed coordinates), checks numerically that the phenomenon the paper describes holds for
the weights used, and writes a PNG, an SVG, for 3-D figures an interactive HTML (plotly), and a
caption ``.txt`` (what is shown, the functions used, the weights, the checks). Each module also
exposes ``compute()`` and ``checks(data)``, which the tests use without drawing.

Examples
--------
>>> from preimage.plotting.figures import FIGURES
>>> sorted(FIGURES)[:2]
['paper000_fig1', 'paper000_fig2']
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path

from ...errors import InvalidInputError
from ._common import FORMATS, FigureResult

__all__ = ["FIGURES", "FigureResult", "FORMATS", "generate", "figure_function", "THREE_D"]

log = logging.getLogger(__name__)

#: Figure name -> module (in :mod:`preimage.plotting.figures`), in the papers' order.
FIGURES: dict[str, str] = {
    "paper002_fig1": "paper002_fig1",
    "paper002_fig2": "paper002_fig2",
    "paper002_fig3": "paper002_fig3",
    "paper002_fig6": "paper002_fig6",
    "paper000_fig1": "paper000_fig1",
    "paper000_fig2": "paper000_fig2",
    "paper000_fig3": "paper000_fig3",
    "paper000_fig4": "paper000_fig4",
}

#: The 3-D figures (they also write an interactive HTML).
THREE_D: frozenset[str] = frozenset({"paper002_fig3", "paper000_fig1", "paper000_fig3", "paper000_fig4"})


def figure_function(name: str) -> Callable[..., FigureResult]:
    """The function ``figure_<name>`` that regenerates figure ``name``."""
    if name not in FIGURES:
        raise InvalidInputError(f"unknown figure {name!r}; the figures are {', '.join(FIGURES)}")
    module = import_module(f"{__name__}.{FIGURES[name]}")
    return getattr(module, f"figure_{name}")


def generate(out_dir, only: Sequence[str] | str | None = None, *, dpi: float | None = None,
             formats: Sequence[str] | None = None, html_js: str = "inline",
             progress: Callable[[FigureResult], None] | None = None) -> list[FigureResult]:
    """Regenerate figures into ``out_dir``.

    Parameters
    ----------
    out_dir : directory (created if needed).
    only : a figure name or names (default: all of :data:`FIGURES`).
    dpi : resolution of the PNGs (default 110).
    formats : among ``"png"``, ``"svg"``, ``"html"`` (default all; HTML only for 3-D figures).
    html_js : ``"inline"`` (each HTML self-contained, ~5 MB) or ``"directory"`` (one shared
        ``plotly.min.js`` next to them).
    progress : called with each :class:`FigureResult` as it is done.

    Returns
    -------
    list of FigureResult, in the order of :data:`FIGURES`.
    """
    names = list(FIGURES) if only is None else ([only] if isinstance(only, str) else list(only))
    for n in names:
        if n not in FIGURES:
            raise InvalidInputError(f"unknown figure {n!r}; the figures are {', '.join(FIGURES)}")
    from ..._optional import require

    require("matplotlib", "preimage figures")
    if formats is None or "html" in [str(f).strip().lower() for f in formats]:
        require("plotly", "preimage figures (HTML; leave it out with formats=['png', 'svg'])")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    results = []
    for n in [f for f in FIGURES if f in names]:
        t0 = time.perf_counter()
        res = figure_function(n)(out_dir, dpi=dpi, formats=formats, html_js=html_js)
        log.info("%s: %d files in %.2f s, checks %s", n, len(res.paths), time.perf_counter() - t0,
                 "pass" if res.ok else "FAIL")
        results.append(res)
        if progress is not None:
            progress(res)
    return results
