"""What every paper figure shares: the result record, saving (PNG, SVG, HTML), captions, checks."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ... import tolerances
from ...errors import InvalidInputError
from .._style import DPI

__all__ = ["FigureResult", "Output", "new_figure", "maps_to", "format_array", "FORMATS", "finish", "save_scenes",
           "scenes_figure"]

#: The files each figure writes by default (``html`` only for 3-D figures).
FORMATS: tuple[str, ...] = ("png", "svg", "html")


@dataclass(frozen=True)
class FigureResult:
    """One regenerated figure.

    Attributes
    ----------
    name : e.g. ``"paper002_fig1"``.
    title : one line.
    paths : the files written (PNG, SVG, HTML for 3-D figures, and the caption ``.txt``).
    caption : the caption text (also in the ``.txt`` file): what is shown, the functions
        that computed it, the weights, and the checks.
    weights : the parameters used, by name.
    checks : the phenomena the figure shows, each checked numerically on the computed
        objects (name → passed).
    objects : the computed objects drawn (preimages, regions, cells, manifolds, ...).
    seconds : time taken.
    """

    name: str
    title: str
    paths: tuple[Path, ...]
    caption: str
    weights: dict[str, Any]
    checks: dict[str, bool]
    objects: dict[str, Any] = field(repr=False)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return all(self.checks.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "files": [str(p) for p in self.paths],
            "checks": dict(self.checks),
            "ok": self.ok,
            "seconds": self.seconds,
            "weights": {k: np.asarray(v).tolist() if isinstance(v, np.ndarray) else v for k, v in self.weights.items()},
        }


@dataclass(frozen=True)
class Output:
    """Where and how figures are written."""

    out_dir: Path
    dpi: float = DPI
    formats: tuple[str, ...] = FORMATS
    html_js: str = "inline"

    @classmethod
    def make(cls, out_dir, dpi: float | None = None, formats: Sequence[str] | None = None,
             html_js: str = "inline") -> Output:
        fmts = tuple(FORMATS if formats is None else formats)
        bad = [f for f in fmts if f not in FORMATS]
        if bad:
            raise InvalidInputError(f"formats must be among {list(FORMATS)}, got {bad}")
        if html_js not in ("inline", "directory"):
            raise InvalidInputError(f"html_js must be 'inline' or 'directory', got {html_js!r}")
        d = Path(out_dir)
        d.mkdir(parents=True, exist_ok=True)
        return cls(d, float(DPI if dpi is None else dpi), fmts, html_js)

    def save_matplotlib(self, fig, name: str) -> list[Path]:
        paths = []
        for fmt in ("png", "svg"):
            if fmt in self.formats:
                p = self.out_dir / f"{name}.{fmt}"
                fig.savefig(p, dpi=self.dpi, format=fmt)
                paths.append(p)
        return paths

    def save_plotly(self, pfig, name: str) -> list[Path]:
        if "html" not in self.formats:
            return []
        p = self.out_dir / f"{name}.html"
        pfig.write_html(p, include_plotlyjs=True if self.html_js == "inline" else "directory", full_html=True)
        return [p]


def new_figure(width: float, height: float):
    """A matplotlib ``Figure`` not registered with pyplot (no global state, no GUI backend)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def maps_to(net, X, y, layer: int | None = None) -> bool:
    """Whether every point of ``X`` has activity ``y`` at ``layer`` (within the library's
    activity tolerance) — the forward pass as the oracle of a preimage."""
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    if X.shape[0] == 0:
        return False
    H = net.activations(X, layer=net.depth if layer is None else layer)
    y = np.asarray(y, dtype=np.float64)
    tol = tolerances.ACTIVITY_ABSOLUTE + tolerances.ACTIVITY_RELATIVE * np.abs(y)
    return bool(np.all(np.abs(H - y) <= tol + tolerances.CONTAINS))


def format_array(a) -> str:
    """A compact, exact-looking rendering of a weight array for captions."""
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        return repr(a)
    return np.array2string(arr, precision=4, suppress_small=True, separator=", ", max_line_width=100)


def finish(out: Output, name: str, title: str, shown: str, computed_by: Sequence[str], weights: dict[str, Any],
           checks: dict[str, bool], objects: dict[str, Any], paths: list[Path], t0: float,
           notes: str = "") -> FigureResult:
    """Write the caption file and return the :class:`FigureResult`."""
    lines = [title, "=" * len(title), "", "What is shown", "-------------", shown.strip(), "",
             "Computed by", "-----------"]
    lines += [f"* {c}" for c in computed_by]
    lines += ["", "Weights", "-------"]
    for k, v in weights.items():
        text = format_array(v) if isinstance(v, (np.ndarray, list, tuple)) else repr(v)
        lines.append(f"{k} = {text}")
    lines += ["", "Checks (numerical, on the computed objects)", "-------------------------------------------"]
    lines += [f"[{'PASS' if ok else 'FAIL'}] {k}" for k, ok in checks.items()]
    if notes:
        lines += ["", "Notes", "-----", notes.strip()]
    caption = "\n".join(lines) + "\n"
    cap_path = out.out_dir / f"{name}.txt"
    cap_path.write_text(caption, encoding="utf-8")
    return FigureResult(name, title, tuple(paths) + (cap_path,), caption, dict(weights), dict(checks), objects,
                        time.perf_counter() - t0)


def scenes_figure(scenes, title: str, size: tuple[float, float], legend_scene: int | None = 0,
                  cols: int | None = None, legend_scenes: Sequence[int] = ()):
    """The matplotlib figure of 3-D :class:`~preimage.plotting.scene.Scene` s side by side
    (``cols`` per row; default one row). The legend gathers the entries of ``legend_scene`` and
    of ``legend_scenes`` (each label once)."""
    from ..scene import render_scene_matplotlib

    fig = new_figure(*size)
    n = len(scenes)
    ncols = n if cols is None else max(1, min(int(cols), n))
    nrows = -(-n // ncols)
    axes = [fig.add_subplot(nrows, ncols, k + 1, projection="3d") for k in range(n)]
    for ax, sc in zip(axes, scenes):
        render_scene_matplotlib(sc, ax)
    if legend_scene is not None:
        handles, labels = [], []
        for k in [legend_scene, *legend_scenes]:
            for h, lab in zip(*axes[k].get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        if handles:
            fig.legend(handles, labels, fontsize=8, loc="outside lower center", ncols=min(len(labels), 5),
                       frameon=False)
    fig.suptitle(title, fontsize=11)
    return fig


def save_scenes(out: Output, name: str, scenes, title: str, size: tuple[float, float],
                legend_scene: int | None = 0, cols: int | None = None, legend_scenes: Sequence[int] = ()
                ) -> list[Path]:
    """Render 3-D :class:`~preimage.plotting.scene.Scene` s (:func:`scenes_figure`): matplotlib
    (PNG, SVG) and one interactive plotly figure (HTML)."""
    from ..scene import plotly_figure

    fig = scenes_figure(scenes, title, size, legend_scene, cols, legend_scenes)
    paths = out.save_matplotlib(fig, name)
    if "html" in out.formats:
        n = len(scenes)
        paths += out.save_plotly(plotly_figure(scenes, title, cols=n if cols is None else cols), name)
    return paths
