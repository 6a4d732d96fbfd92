"""An interactive explorer: one self-contained HTML page for a 2-D or 3-D result.

:func:`explore` draws every piece of a :class:`~preimage.PreimageResult` or
:class:`~preimage.PolyhedralSet` (or a saved result ``.npz``/``.json``) from its own
vertices — polygons, segments and points in 2-D; polytopes (their faces), polygons,
segments and points in 3-D — and writes a page on which

* hovering a piece shows its index, dimension, activation pattern and the affine map the
  network has on it;
* clicking a piece selects it and highlights its neighbours: the pieces sharing a facet
  with it (see :func:`piece_adjacency`), computed here, exactly, and embedded as JSON;
* in 3-D, dragging rotates the view.

The page is hand-written SVG and vanilla JavaScript, all inline: no server, no CDN, no
plotly.js (a few kB of script instead of 3.5 MB; no WebGL, so it works in any browser,
headless ones included, and every piece is one ``<g class="piece">`` element that can be
inspected, styled and tested).

Results living in more than 3 dimensions are refused: compute them on a 2-D or 3-D
:class:`~preimage.Slice` (``domain=preimage.Slice.through(points)``; the pieces are then in
slice coordinates) and explore that.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import tolerances
from ..errors import AmbiguousGeometryError, InvalidInputError

__all__ = ["explore", "explorer_data", "piece_adjacency", "render_page"]

_DIM_NAMES = {0: "point", 1: "segment", 2: "polygon", 3: "polytope"}


# -- the data --------------------------------------------------------------------------------------


def _as_set(result: Any):
    """(PolyhedralSet, metadata) from a result, a set, or a path to a saved one."""
    from ..polyhedra import Box, Piece, PolyhedralSet, Polyhedron

    meta: dict[str, Any] = {}
    if isinstance(result, (str, os.PathLike)):
        from ..engine.result_file import load_geometry

        meta["source"] = os.fspath(result)
        result = load_geometry(result)
    if isinstance(result, (Polyhedron, Box, Piece)):
        result = PolyhedralSet([result])
    if isinstance(result, PolyhedralSet):
        return result, meta
    inner = getattr(result, "set", None)
    if isinstance(inner, PolyhedralSet):  # a PreimageResult
        meta["layer"] = int(getattr(result, "layer", -1))
        meta["complete"] = bool(getattr(result, "complete", True))
        stopped = getattr(result, "stopped_by", None)
        if stopped:
            meta["stopped_by"] = str(stopped)
        return inner, meta
    raise InvalidInputError(
        "explore takes a PreimageResult, a PolyhedralSet, or the path of a saved result (.npz/.json); "
        f"got {type(result).__name__}"
    )


def _check_dim(n: int) -> None:
    if n not in (2, 3):
        raise InvalidInputError(
            f"the result lives in R^{n}, and the explorer draws results in R^2 or R^3: compute it on a 2-D or 3-D "
            "preimage.Slice (e.g. domain=preimage.Slice.through(points), or `preimage regions MODEL --through "
            "POINTS.npy`; the pieces are then in slice coordinates) and explore that"
        )


def _dim_of(P) -> int:
    """Dimension of a polyhedron (the affine hull); from its vertices when the LP cannot tell."""
    try:
        return int(P.dim)
    except AmbiguousGeometryError:
        from ._shapes import affine_dim, unique_points

        if not P.is_bounded():
            raise
        return affine_dim(unique_points(P.vertices()))


def _facets(P, V: np.ndarray, eps: float):
    """The rows of the full-dimensional polytope ``P`` (vertices ``V``) that define facets — tight
    at ``n`` or more vertices — with the bounding box of each facet's vertices."""
    n = P.ambient_dim
    if P.A.shape[0] == 0 or V.shape[0] == 0:
        return np.zeros((0, n)), np.zeros(0), np.zeros((0, n)), np.zeros((0, n))
    tight = np.abs(P.b[None, :] - V @ P.A.T) <= eps  # (k, m)
    rows = np.flatnonzero(tight.sum(axis=0) >= n)
    flo = np.array([V[tight[:, j]].min(axis=0) for j in rows]).reshape(-1, n)
    fhi = np.array([V[tight[:, j]].max(axis=0) for j in rows]).reshape(-1, n)
    return P.A[rows], P.b[rows], flo, fhi


def _common_facet_hyperplanes(F, G, eps: float, tol: float = tolerances.FACET_MATCH) -> list:
    """Whether two full-dimensional pieces (their :func:`_facets`) have opposite facet rows
    (rows are stored with unit norm) whose facets' bounding boxes overlap in ``n - 1``
    coordinates — necessary for sharing a facet: a facet's hyperplane is a row of every
    H-representation, and a common (n-1)-dimensional part has extent in n - 1 coordinates."""
    A1, b1, lo1, hi1 = F
    A2, b2, lo2, hi2 = G
    out: list = []
    if A1.shape[0] == 0 or A2.shape[0] == 0:
        return out
    scale = 1.0 + max(float(np.abs(b1).max()), float(np.abs(b2).max()))
    close = (np.abs(A1 @ A2.T + 1.0) <= tol) & (np.abs(b1[:, None] + b2[None, :]) <= tol * scale)
    n = A1.shape[1]
    for r, q in zip(*np.nonzero(close)):
        # a common (n-1)-dimensional part has extent in n - 1 coordinates at least
        overlap = np.minimum(hi1[r], hi2[q]) - np.maximum(lo1[r], lo2[q])
        if np.all(overlap >= -eps) and np.count_nonzero(overlap > eps) >= n - 1:
            out.append((A1[r], b1[r]))
    return out


def _meet_in_facet(P, Q, a: np.ndarray, b: float) -> bool:
    """For ``P`` in ``a x <= b`` and ``Q`` in ``a x >= b``: whether ``P ∩ Q`` (inside the
    hyperplane ``a x = b``) has a relative interior in it — one LP: the largest ball of the
    hyperplane inside both (radii measured with the rows projected onto it)."""
    from ..polyhedra.solver import chebyshev_center

    x, r = chebyshev_center(np.vstack([P.A, Q.A]), np.concatenate([P.b, Q.b]),
                            np.vstack([P.C, Q.C, a[None, :]]), np.concatenate([P.d, Q.d, [b]]))
    return x is not None and r > tolerances.INTERIOR


def piece_adjacency(polyhedra, dims, vertices) -> list[list[int]]:
    """Which pieces share a facet: ``out[i]`` lists the neighbours of piece ``i``.

    Pieces ``i`` and ``j`` are neighbours when their intersection has dimension
    ``max(dim_i, dim_j) - 1 >= 0``: two regions (or two polygons) across an edge, two
    polytopes across a 2-D face, two segments meeting end to end, a point ending a segment, a
    segment on a polygon's edge. Pieces touching only at a lower-dimensional set (two regions
    meeting at a vertex) are not neighbours. Exact up to the tolerances: for two
    full-dimensional pieces, each pair of opposite facet rows (unit rows ``a x <= b`` of one,
    ``-a x <= -b`` of the other, whose facets' vertex boxes overlap) is tested with one LP — the
    largest ball of the hyperplane inside both; other pairs whose bounding boxes (from
    ``vertices``, one ``(k_i, n)`` array per piece) meet get the dimension of their
    intersection (affine hull, LPs).
    """
    N = len(polyhedra)
    dims = np.asarray(dims, dtype=np.int64)
    out: list[list[int]] = [[] for _ in range(N)]
    if N < 2:
        return out
    n = polyhedra[0].ambient_dim
    lo = np.full((N, n), np.nan)
    hi = np.full((N, n), np.nan)
    for i, V in enumerate(vertices):
        if len(V):
            lo[i], hi[i] = np.min(V, axis=0), np.max(V, axis=0)
    finite = np.isfinite(lo).all(axis=1)
    scale = 1.0 + float(np.nanmax(np.abs(np.concatenate([lo[finite], hi[finite]])))) if finite.any() else 1.0
    eps = 1e3 * tolerances.VERTEX_SIGN * scale
    facets = [_facets(P, np.asarray(V, dtype=np.float64), eps) if d == n else None
              for P, V, d in zip(polyhedra, vertices, dims)]
    for i in range(N - 1):
        if dims[i] < 0:
            continue
        j = np.arange(i + 1, N)
        meet = finite[j] & np.all((lo[j] <= hi[i] + eps) & (hi[j] >= lo[i] - eps), axis=1)
        for k in j[meet].tolist():
            target = max(int(dims[i]), int(dims[k])) - 1
            if target < 0:
                continue
            P, Q = polyhedra[i], polyhedra[k]
            if dims[i] == n and dims[k] == n:
                common = _common_facet_hyperplanes(facets[i], facets[k], eps)
                if any(_meet_in_facet(P, Q, a, b) for a, b in common):
                    out[i].append(k)
                    out[k].append(i)
                continue
            if _dim_of(P.intersect(Q)) == target:
                out[i].append(k)
                out[k].append(i)
    return [sorted(v) for v in out]


def _fmt(v: float) -> str:
    s = f"{v:.4g}"
    return "0" if s in ("-0", "0") else s


def _map_lines(M: np.ndarray, c: np.ndarray, var: str, max_rows: int = 12) -> list[str]:
    """``y_r = a x1 + b x2 + c`` for each output row (the first ``max_rows``)."""
    lines = []
    for r in range(min(M.shape[0], max_rows)):
        terms = []
        for k in range(M.shape[1]):
            a = float(M[r, k])
            if a == 0.0:
                continue
            sign = "-" if a < 0 else "+"
            terms.append(f"{sign} {_fmt(abs(a))} {var}{k + 1}")
        cc = float(c[r])
        if cc != 0.0 or not terms:
            terms.append(f"{'-' if cc < 0 else '+'} {_fmt(abs(cc))}")
        text = " ".join(terms)
        text = text[2:] if text.startswith("+ ") else "-" + text[2:]
        lines.append(f"y{r + 1} = {text}")
    if M.shape[0] > max_rows:
        lines.append(f"… ({M.shape[0] - max_rows} more outputs)")
    return lines


def _hex(rgba) -> str:
    r, g, b = (int(round(255 * float(v))) for v in rgba[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def _clean(A: np.ndarray) -> list:
    return np.round(np.asarray(A, dtype=np.float64), 12).tolist()


def _pattern_text(pattern: np.ndarray) -> str:
    """``"0110…"``: one character per unit (its branch; ``1`` = active for a boolean pattern),
    or the branch indices joined by dots when one of them has two digits."""
    values = np.asarray(pattern).astype(int).tolist()
    if any(v > 9 for v in values):
        return ".".join(str(v) for v in values)
    return "".join(str(v) for v in values)


def explorer_data(result: Any, *, view=None, variable: str = "x") -> dict:
    """What the explorer page embeds, as a JSON-ready dictionary.

    ``{"ambient_dim", "bounds": {"lo", "hi"}, "meta", "pieces": [...], "neighbours": [[...]], "pairs"}``;
    each piece: ``index``, ``dim`` (``-1`` for an empty piece, which is not drawn), ``kind``,
    ``polygons`` (what is drawn: one point, a segment's two end points, a polygon, or a
    polytope's faces, each ordered around its boundary), ``anchor`` (a point of the piece),
    ``pattern`` (``"0110…"``: the branch of every unit, ``1`` = active ReLU; branch indices
    above 9 are separated by dots; or ``None``), ``binary`` (whether the pattern is boolean),
    ``map`` (``{"M", "c", "text"}`` or
    ``None``) and ``color``. ``view`` (a :class:`~preimage.Box`) cuts unbounded pieces.
    """
    from ._shapes import shape_of
    from ._style import pattern_colours

    S, meta = _as_set(result)
    n = S.ambient_dim
    _check_dim(n)
    pieces = list(S)
    polys = []
    for p in pieces:
        P = p.polyhedron
        if view is not None:
            P = P.intersect(view)
        polys.append(P)
    shapes = [shape_of(P) for P in polys]
    N = len(pieces)
    dims = [s.dim for s in shapes]
    neighbours = piece_adjacency(polys, dims, [s.vertices for s in shapes])

    drawn = [s.vertices for s in shapes if not s.is_empty]
    if view is not None:
        blo, bhi = np.asarray(view.lo, float), np.asarray(view.hi, float)
    elif drawn:
        blo, bhi = np.vstack(drawn).min(axis=0), np.vstack(drawn).max(axis=0)
    else:
        blo, bhi = np.zeros(n), np.ones(n)
    flat = (bhi - blo) <= tolerances.ZERO_ROW * (1.0 + np.abs(blo))  # a flat view: give it some extent
    blo, bhi = np.where(flat, blo - 0.5, blo), np.where(flat, bhi + 0.5, bhi)

    patterns = [p.pattern for p in pieces]
    with_pattern = [i for i, pat in enumerate(patterns) if pat is not None]
    colours = ["#1f77b4"] * N
    if with_pattern:
        for i, col in zip(with_pattern, pattern_colours([patterns[i] for i in with_pattern])):
            colours[i] = _hex(col)
    if len(with_pattern) < N:
        from matplotlib import colormaps

        cm = colormaps["tab10"]
        for i in range(N):
            if patterns[i] is None:
                colours[i] = _hex(cm(i % 10))

    out_pieces = []
    for i, (p, s) in enumerate(zip(pieces, shapes)):
        amap = p.affine_map
        out_pieces.append({
            "index": i,
            "dim": int(s.dim),
            "kind": s.kind,
            "polygons": [_clean(poly) for poly in s.polygons],
            "anchor": None if s.is_empty else _clean(s.vertices.mean(axis=0)),
            "pattern": None if p.pattern is None else _pattern_text(p.pattern),
            "binary": p.pattern is None or p.pattern.dtype == np.bool_,
            "map": None if amap is None else {"M": _clean(amap.M), "c": _clean(amap.c),
                                              "text": _map_lines(amap.M, amap.c, variable)},
            "color": colours[i],
        })
    dim_counts: dict[str, int] = {}
    for d in dims:
        key = _DIM_NAMES.get(d, "empty") if d >= 0 else "empty"
        dim_counts[key] = dim_counts.get(key, 0) + 1
    meta = dict(meta, dim_counts=dim_counts, variable=variable)
    return {
        "format": "preimage.explorer",
        "version": 1,
        "ambient_dim": n,
        "bounds": {"lo": _clean(blo), "hi": _clean(bhi)},
        "meta": meta,
        "pieces": out_pieces,
        "neighbours": neighbours,
        "pairs": int(sum(len(v) for v in neighbours) // 2),
    }


# -- the page --------------------------------------------------------------------------------------


def explore(result: Any, path: str | os.PathLike | None = None, *, title: str | None = None, view=None,
            variable: str = "x") -> str:
    """Write one self-contained HTML page exploring a 2-D or 3-D result; returns the HTML.

    Parameters
    ----------
    result : a :class:`~preimage.PreimageResult`, a :class:`~preimage.PolyhedralSet`, or the
        path of a saved result (``res.set.save("r.npz")``, the engine's ``out=``; see
        ``docs/formats.md``).
    path : where to write the page (``None``: only return it).
    title : the page's title (default: the file name, or "preimage explorer").
    view : a :class:`~preimage.Box` cutting unbounded pieces (results of the engine are bounded).
    variable : the input variable's name in the affine maps (``"t"`` suits slice coordinates).

    Raises
    ------
    InvalidInputError
        When the result does not live in R^2 or R^3 (compute it on a 2-D or 3-D
        :class:`~preimage.Slice`), or is not a result.

    Examples
    --------
    >>> import numpy as np, preimage
    >>> from preimage.plotting import explore
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, -1.0], [1.0, 1.0]]), [0.0, -0.5], True)])
    >>> page = explore(preimage.linear_regions(net, preimage.Box([-1, -1], [1, 1])))
    >>> page.startswith("<!DOCTYPE html>"), page.count("<script src=")
    (True, 0)
    """
    page = render_page(explorer_data(result, view=view, variable=variable), title)
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


def render_page(data: dict, title: str | None = None) -> str:
    """The HTML page for :func:`explorer_data`'s dictionary (all script and data inline)."""
    if title is None:
        src = data["meta"].get("source")
        title = f"preimage explorer — {Path(src).name}" if src else "preimage explorer"
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return (_TEMPLATE.replace("@@TITLE@@", html.escape(title))
            .replace("@@CSS@@", _CSS).replace("@@JS@@", _JS).replace("@@DATA@@", payload))


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@@TITLE@@</title>
<link rel="icon" href="data:,">
<style>@@CSS@@</style>
</head>
<body>
<header><h1>@@TITLE@@</h1><p id="summary"></p></header>
<main>
<section id="view">
<svg id="canvas" viewBox="0 0 640 640" width="640" height="640" role="img" aria-label="the pieces of the result">
<g id="frame"></g><g id="pieces"></g>
</svg>
<div id="controls">
<label><input type="checkbox" id="focus"> only the selection and its neighbours</label>
<label>select piece <input type="number" id="goto" min="0" step="1"></label>
<button type="button" id="clear">clear</button>
<button type="button" id="reset" hidden>reset view</button>
</div>
<p id="hint"></p>
</section>
<aside id="panel"><h2>Piece</h2><div id="info">Hover a piece to see its activation pattern and affine map; click it to select it and highlight its neighbours.</div></aside>
</main>
<div id="tooltip" hidden></div>
<script id="explorer-data" type="application/json">@@DATA@@</script>
<script>@@JS@@</script>
</body>
</html>
"""

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:8px 16px;border-bottom:1px solid #ddd;background:#fff}
h1{font-size:18px;margin:0}h2{font-size:15px;margin:0 0 6px}
#summary{margin:4px 0 0;color:#555}
main{display:flex;flex-wrap:wrap;gap:16px;padding:12px 16px}
#view{flex:0 1 660px;min-width:0}
#canvas{background:#fff;border:1px solid #ccc;user-select:none;touch-action:none;max-width:100%;height:auto}
#controls{margin-top:6px;display:flex;gap:12px;flex-wrap:wrap;align-items:center}
#goto{width:5em}#hint{color:#777;margin:4px 0}
#panel{flex:1;min-width:280px;overflow-wrap:anywhere;max-width:520px;background:#fff;border:1px solid #ddd;padding:10px;align-self:flex-start}
#panel code,#tooltip code{font:12px/1.35 ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
#panel .map,#tooltip .map{white-space:pre;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace;overflow-x:auto}
#panel a{color:#c25400;margin-right:6px}
#tooltip{position:fixed;pointer-events:none;background:rgba(255,255,255,.96);border:1px solid #888;border-radius:4px;padding:6px 8px;max-width:420px;box-shadow:0 2px 6px rgba(0,0,0,.2);z-index:10}
g.piece{cursor:pointer}
g.piece polygon{stroke:#fff;stroke-width:.6;fill-opacity:.8}
g.piece.d3 polygon{stroke:#333;stroke-width:.5;fill-opacity:.28}
g.piece line.seg{stroke-width:3;stroke-linecap:round}
g.piece line.hit{stroke:transparent;stroke-width:12;stroke-linecap:round}
g.piece circle{stroke:#222;stroke-width:1}
g.piece.hover polygon,g.piece.hover circle{stroke:#222;stroke-width:1.5}
g.piece.hover line.seg{stroke-width:5}
g.piece.neighbour polygon,g.piece.neighbour circle{stroke:#ff7f0e;stroke-width:3}
g.piece.neighbour line.seg{stroke:#ff7f0e !important;stroke-width:5}
g.piece.selected polygon,g.piece.selected circle{stroke:#000;stroke-width:3.5;fill-opacity:.95}
g.piece.d3.selected polygon{fill-opacity:.6}
g.piece.selected line.seg{stroke:#000 !important;stroke-width:6}
g.piece.dimmed{opacity:.25}
g.piece.hidden{display:none}
#frame line,#frame rect{stroke:#bbb;fill:none}
#frame text{fill:#666;font-size:11px}
"""

_JS = r"""
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("explorer-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("canvas"), layer = document.getElementById("pieces");
  var frame = document.getElementById("frame"), tip = document.getElementById("tooltip");
  var info = document.getElementById("info"), focusBox = document.getElementById("focus");
  var W = 640, H = 640, PAD = 48, n = DATA.ambient_dim, pieces = DATA.pieces, nbrs = DATA.neighbours;
  var lo = DATA.bounds.lo, hi = DATA.bounds.hi, v = DATA.meta.variable || "x";
  var center = lo.map(function (l, i) { return (l + hi[i]) / 2; });
  var YAW0 = -0.65, PITCH0 = 0.45, yaw = YAW0, pitch = PITCH0;
  var selected = -1, hovered = -1, groups = [], items = [];
  var radius = 0;
  for (var i = 0; i < n; i++) radius += Math.pow((hi[i] - lo[i]) / 2, 2);
  radius = Math.sqrt(radius);
  var s2 = (W - 2 * PAD) / Math.max(hi[0] - lo[0], n > 1 ? hi[1] - lo[1] : 0);
  var s3 = (W - 2 * PAD) / (2 * radius);

  function project(p) {  // -> [screen x, screen y, depth toward the viewer]
    if (n === 2) return [W / 2 + (p[0] - center[0]) * s2, H / 2 - (p[1] - center[1]) * s2, 0];
    var q0 = p[0] - center[0], q1 = p[1] - center[1], q2 = p[2] - center[2];
    var x1 = Math.cos(yaw) * q0 - Math.sin(yaw) * q1, y1 = Math.sin(yaw) * q0 + Math.cos(yaw) * q1;
    var up = Math.sin(pitch) * y1 + Math.cos(pitch) * q2;
    var toward = -Math.cos(pitch) * y1 + Math.sin(pitch) * q2;
    return [W / 2 + x1 * s3, H / 2 - up * s3, toward];
  }
  function el(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(x) { var s = Number(x).toPrecision(3); return String(parseFloat(s)); }

  // -- frame: the 2-D box with its bounds, or the 3-D box's edges and axis names ----------------
  var frameLines = [];
  function drawFrame() {
    if (n === 2) {
      var a = project(lo), b = project(hi);
      el("rect", {x: a[0], y: b[1], width: b[0] - a[0], height: a[1] - b[1]}, frame);
      var labels = [[fmt(lo[0]), a[0], a[1] + 16, "middle"], [fmt(hi[0]), b[0], a[1] + 16, "middle"],
                    [v + "1", (a[0] + b[0]) / 2, a[1] + 30, "middle"], [fmt(lo[1]), a[0] - 6, a[1] + 4, "end"],
                    [fmt(hi[1]), a[0] - 6, b[1] + 4, "end"], [v + "2", a[0] - 8, (a[1] + b[1]) / 2, "end"]];
      labels.forEach(function (t) {
        el("text", {x: t[1], y: t[2], "text-anchor": t[3]}, frame).textContent = t[0];
      });
      return;
    }
    for (var m = 0; m < 8; m++) {
      for (var ax = 0; ax < 3; ax++) {
        if (m & (1 << ax)) continue;
        var p = [0, 1, 2].map(function (k) { return (m & (1 << k)) ? hi[k] : lo[k]; });
        var q = p.slice(); q[ax] = hi[ax];
        frameLines.push({p: p, q: q, e: el("line", {}, frame)});
      }
    }
    frameLines.labels = [0, 1, 2].map(function (ax) {
      var t = el("text", {"text-anchor": "middle"}, frame); t.textContent = v + (ax + 1); return t;
    });
  }
  function placeFrame() {
    if (n === 2) return;
    frameLines.forEach(function (f) {
      var a = project(f.p), b = project(f.q);
      f.e.setAttribute("x1", a[0]); f.e.setAttribute("y1", a[1]);
      f.e.setAttribute("x2", b[0]); f.e.setAttribute("y2", b[1]);
    });
    frameLines.labels.forEach(function (t, ax) {
      var p = lo.slice(); p[ax] = hi[ax] + 0.08 * (hi[ax] - lo[ax]);
      var a = project(p); t.setAttribute("x", a[0]); t.setAttribute("y", a[1]);
    });
  }

  // -- the pieces: one <g class="piece"> each ---------------------------------------------------
  pieces.forEach(function (pc, i) {
    var g = el("g", {"class": "piece d" + Math.max(pc.dim, 0) + " n" + n, "data-piece": i, "data-dim": pc.dim});
    var parts = [];
    pc.polygons.forEach(function (poly) {
      if (poly.length === 1) {
        parts.push({pts: poly, e: el("circle", {r: 5, fill: pc.color}, g)});
      } else if (poly.length === 2) {
        parts.push({pts: poly, e: el("line", {"class": "seg", stroke: pc.color}, g)});
        parts.push({pts: poly, e: el("line", {"class": "hit"}, g)});
      } else {
        parts.push({pts: poly, e: el("polygon", {fill: pc.color}, g)});
      }
    });
    groups.push(g);
    items.push(parts);
  });

  function place() {
    var depth = new Array(pieces.length);
    items.forEach(function (parts, i) {
      var dsum = 0, dn = 0;
      parts.forEach(function (part) {
        var P = part.pts.map(project), e = part.e, d = 0;
        P.forEach(function (q) { d += q[2]; });
        part.depth = d / P.length; dsum += part.depth; dn += 1;
        if (e.tagName === "circle") { e.setAttribute("cx", P[0][0]); e.setAttribute("cy", P[0][1]); }
        else if (e.tagName === "line") {
          e.setAttribute("x1", P[0][0]); e.setAttribute("y1", P[0][1]);
          e.setAttribute("x2", P[1][0]); e.setAttribute("y2", P[1][1]);
        } else e.setAttribute("points", P.map(function (q) { return q[0].toFixed(2) + "," + q[1].toFixed(2); }).join(" "));
      });
      depth[i] = dn ? dsum / dn : 0;
      if (n === 3 && parts.length > 1) {
        parts.slice().sort(function (a, b) { return a.depth - b.depth; })
          .forEach(function (part) { groups[i].appendChild(part.e); });
      }
    });
    // drawing order: full-dimensional pieces below lower-dimensional ones; far ones first (3-D);
    // in 2-D the selection and its neighbours above their peers
    var rank = function (i) { return i === selected ? 2 : (nbrs[i] && selected >= 0 && nbrs[selected].indexOf(i) >= 0 ? 1 : 0); };
    var order = pieces.map(function (_, i) { return i; });
    order.sort(function (a, b) {
      var da = pieces[a].dim === n ? 0 : 1, db = pieces[b].dim === n ? 0 : 1;
      if (da !== db) return da - db;
      if (n === 3) return depth[a] - depth[b];
      return rank(a) - rank(b) || a - b;
    });
    order.forEach(function (i) { layer.appendChild(groups[i]); });
    placeFrame();
  }

  // -- what a piece is -------------------------------------------------------------------------
  var KIND = {0: "point", 1: "segment", 2: "polygon", 3: "polytope"};
  function esc(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }
  function describe(i, long) {
    var pc = pieces[i], h = "<b>piece #" + i + "</b> &middot; dimension " + pc.dim +
      " (" + (KIND[pc.dim] || "empty") + ")<br>";
    if (pc.pattern !== null) {
      if (pc.binary) {
        var on = pc.pattern.split("").filter(function (c) { return c === "1"; }).length;
        h += "pattern <code class=\"pattern\">" + pc.pattern + "</code> <span>(" + on + " of " +
          pc.pattern.length + " units active)</span><br>";
      } else h += "pattern <code class=\"pattern\">" + pc.pattern + "</code> <span>(the branch of every unit)</span><br>";
    } else h += "no activation pattern stored<br>";
    if (pc.map !== null) h += "affine map on the piece:<div class=\"map\">" + esc(pc.map.text.join("\n")) + "</div>";
    else h += "no affine map stored<br>";
    if (long) {
      var nb = nbrs[i];
      h += "<p class=\"neighbours\">" + nb.length + " neighbour" + (nb.length === 1 ? "" : "s") + " (sharing a facet): " +
        nb.map(function (j) { return "<a href=\"#\" data-goto=\"" + j + "\">#" + j + "</a>"; }).join(" ") + "</p>";
    }
    return h;
  }
  function showInfo() {
    var i = selected >= 0 ? selected : hovered;
    if (i < 0) { info.innerHTML = "Hover a piece to see its activation pattern and affine map; click it to select it and highlight its neighbours."; return; }
    info.innerHTML = (selected >= 0 ? "<i>selected</i><br>" : "") + describe(i, true);
  }

  // -- selection -------------------------------------------------------------------------------
  function select(i) {
    i = Number(i);
    if (!(i >= 0 && i < pieces.length)) return clear();
    selected = i;
    var nb = {}; nbrs[i].forEach(function (j) { nb[j] = true; });
    groups.forEach(function (g, j) {
      g.classList.toggle("selected", j === i);
      g.classList.toggle("neighbour", !!nb[j]);
      var other = j !== i && !nb[j];
      g.classList.toggle("dimmed", other && !focusBox.checked);
      g.classList.toggle("hidden", other && focusBox.checked);
    });
    document.getElementById("goto").value = i;
    place(); showInfo();
  }
  function clear() {
    selected = -1;
    groups.forEach(function (g) { g.classList.remove("selected", "neighbour", "dimmed", "hidden"); });
    document.getElementById("goto").value = "";
    place(); showInfo();
  }

  // -- events ----------------------------------------------------------------------------------
  function pieceOf(target) {
    var g = target && target.closest ? target.closest("g.piece") : null;
    return g ? Number(g.getAttribute("data-piece")) : -1;
  }
  var drag = null;
  svg.addEventListener("pointerdown", function (e) {
    drag = {x: e.clientX, y: e.clientY, yaw: yaw, pitch: pitch, moved: false};
  });
  window.addEventListener("pointerup", function () { setTimeout(function () { drag = null; }, 0); });
  svg.addEventListener("pointermove", function (e) {
    if (drag && n === 3 && e.buttons) {
      var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) {
        yaw = drag.yaw - dx * 0.01;
        pitch = Math.max(-1.55, Math.min(1.55, drag.pitch + dy * 0.01));
        tip.hidden = true; place(); return;
      }
    }
    var i = pieceOf(e.target);
    if (i !== hovered) {
      if (hovered >= 0) groups[hovered].classList.remove("hover");
      hovered = i;
      if (i >= 0) groups[i].classList.add("hover");
      if (selected < 0) showInfo();
    }
    if (i < 0) { tip.hidden = true; return; }
    tip.innerHTML = describe(i, false);
    tip.hidden = false;
    var x = e.clientX + 14, y = e.clientY + 14;
    if (x + tip.offsetWidth > window.innerWidth) x = e.clientX - tip.offsetWidth - 14;
    if (y + tip.offsetHeight > window.innerHeight) y = Math.max(0, e.clientY - tip.offsetHeight - 14);
    tip.style.left = x + "px"; tip.style.top = y + "px";
  });
  svg.addEventListener("pointerleave", function () {
    tip.hidden = true;
    if (hovered >= 0) groups[hovered].classList.remove("hover");
    hovered = -1; if (selected < 0) showInfo();
  });
  svg.addEventListener("click", function (e) {
    if (drag && drag.moved) return;
    var i = pieceOf(e.target);
    if (i >= 0) select(i); else clear();
  });
  info.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a[data-goto]") : null;
    if (a) { e.preventDefault(); select(a.getAttribute("data-goto")); }
  });
  document.getElementById("goto").addEventListener("change", function (e) {
    if (e.target.value === "") clear(); else select(e.target.value);
  });
  document.getElementById("clear").addEventListener("click", clear);
  focusBox.addEventListener("change", function () { if (selected >= 0) select(selected); });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") clear(); });
  var reset = document.getElementById("reset");
  reset.addEventListener("click", function () { yaw = YAW0; pitch = PITCH0; place(); });

  // -- summary ---------------------------------------------------------------------------------
  var meta = DATA.meta, parts = [];
  parts.push(pieces.length + " piece" + (pieces.length === 1 ? "" : "s") + " in R" + (n === 2 ? "²" : "³"));
  var dc = meta.dim_counts || {};
  var kinds = Object.keys(dc).map(function (k) { return dc[k] + " " + k + (dc[k] === 1 ? "" : "s"); });
  if (kinds.length) parts.push(kinds.join(", "));
  parts.push(DATA.pairs + " neighbour pair" + (DATA.pairs === 1 ? "" : "s"));
  if (meta.layer !== undefined) parts.push("layer " + meta.layer + (meta.complete ? "" : " — INCOMPLETE (" + (meta.stopped_by || "stopped") + ")"));
  if (meta.source) parts.push(esc(meta.source));
  document.getElementById("summary").innerHTML = parts.join(" &middot; ");
  document.getElementById("goto").max = Math.max(pieces.length - 1, 0);
  document.getElementById("hint").textContent = n === 3 ?
    "Drag to rotate; hover a piece for its pattern and map; click to select (Esc clears). Inner pieces: select by number, then tick 'only the selection'." :
    "Hover a piece for its pattern and map; click to select it and highlight its neighbours (Esc clears).";
  if (n === 3) reset.hidden = false;

  drawFrame();
  place();

  // for scripts and tests: the data, the selection, and where a piece is on the screen
  window.preimageExplorer = {
    data: DATA, select: select, clear: clear,
    selected: function () { return selected; },
    screenPoint: function (i) {
      var a = project(pieces[i].anchor), pt = svg.createSVGPoint();
      pt.x = a[0]; pt.y = a[1];
      var q = pt.matrixTransform(svg.getScreenCTM());
      return [q.x, q.y];
    }
  };
})();
"""
