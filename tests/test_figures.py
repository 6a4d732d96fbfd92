"""The regenerated paper figures: the phenomena each one shows hold for its weights (checked
with the forward pass, sampling and exact areas — not with the figure code's own checks), and
``preimage figures`` writes every expected file as a valid, non-blank image."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import preimage  # noqa: E402
from preimage import tolerances  # noqa: E402
from preimage.errors import InvalidInputError  # noqa: E402
from preimage.plotting._shapes import shape_of  # noqa: E402
from preimage.plotting.figures import FIGURES, THREE_D, figure_function, generate  # noqa: E402

EPS = tolerances.ACTIVITY_ABSOLUTE


def forward_is(net, X, y, layer=None) -> bool:
    H = net.activations(np.atleast_2d(X), layer=net.depth if layer is None else layer)
    return bool(np.all(np.abs(H - np.asarray(y)) <= EPS))


def module(name):
    import importlib

    return importlib.import_module(f"preimage.plotting.figures.{name}")


# -- the whole command, once ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """``preimage figures --out DIR --json`` through the subcommand's own parser."""
    from preimage.plotting.cli import register

    out = tmp_path_factory.mktemp("figures")
    parser = argparse.ArgumentParser(prog="preimage")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["figures", "--out", str(out), "--json"])
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = args.func(args)
    report = json.loads(buf.getvalue().strip().splitlines()[-1])
    return out, rc, report


def test_figures_command_writes_every_file_and_all_checks_pass(generated):
    out, rc, report = generated
    assert rc == 0 and report["ok"]
    assert [f["name"] for f in report["figures"]] == list(FIGURES)
    for f in report["figures"]:
        assert f["ok"], [k for k, v in f["checks"].items() if not v]
        name = f["name"]
        expected = {f"{name}.png", f"{name}.svg", f"{name}.txt"} | ({f"{name}.html"} if name in THREE_D else set())
        assert {Path(p).name for p in f["files"]} == expected
        for p in expected:
            assert (out / p).is_file()


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_files_are_valid_non_blank_images(generated, name):
    from PIL import Image

    out, _, _ = generated
    with Image.open(out / f"{name}.png") as im:
        im.verify()
    with Image.open(out / f"{name}.png") as im:
        px = np.asarray(im.convert("RGB"), dtype=np.float64)
    assert px.shape[0] > 200 and px.shape[1] > 300
    assert px.std() > 10.0  # not blank
    assert len(np.unique(px.reshape(-1, 3), axis=0)) > 50  # many colours: something was drawn
    root = ET.parse(out / f"{name}.svg").getroot()
    assert root.tag.endswith("svg")
    assert sum(1 for el in root.iter() if el.tag.endswith("path")) > 20
    caption = (out / f"{name}.txt").read_text(encoding="utf-8")
    assert "What is shown" in caption and "Weights" in caption and "[PASS]" in caption and "[FAIL]" not in caption
    if name in THREE_D:
        html = (out / f"{name}.html").read_text(encoding="utf-8")
        assert "plotly" in html.lower() and '"type":"mesh3d"' in html.replace(" ", "")


def test_figures_command_only_and_unknown_names(tmp_path):
    from preimage.plotting.cli import register

    parser = argparse.ArgumentParser(prog="preimage")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["figures", "--out", str(tmp_path), "--only", "paper002_fig1", "--formats", "png"])
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert args.func(args) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paper002_fig1.png", "paper002_fig1.txt"]
    assert "paper002_fig1" in buf.getvalue()
    with pytest.raises(InvalidInputError, match="unknown figure"):
        generate(tmp_path, "paper002_fig5")
    with pytest.raises(InvalidInputError, match="formats"):
        generate(tmp_path, "paper002_fig1", formats=["gif"])


@pytest.mark.parametrize("name", list(FIGURES))
def test_each_figures_own_checks_pass(name):
    m = module(name)
    checks = m.checks(m.compute())
    assert checks and all(checks.values()), [k for k, v in checks.items() if not v]
    assert callable(figure_function(name))


# -- paper 002 --------------------------------------------------------------------------------------------
def test_paper002_fig1_quadrant_preimages():
    m = module("paper002_fig1")
    d = m.compute()
    W, b = m.W, m.B
    dims = [d.preimages[q].dim for q in m.OUTPUTS]
    assert dims == [0, 1, 1, 2]
    # (+,+): the unique input W⁻¹(y − b)
    y = m.OUTPUTS["(+,+)"]
    x = np.linalg.solve(W, y - b)
    assert d.preimages["(+,+)"].contains(x) and forward_is(d.net, x, y)
    # the rays: points x* − t e_j (t >= 0) map to y; x* + t e_j do not
    E = np.linalg.inv(W)
    for q, j in (("(+,0)", 1), ("(0,+)", 0)):
        y = m.OUTPUTS[q]
        xs = np.linalg.solve(W, np.where(y > 0, y, 0.0) - b)
        T = np.linspace(0.0, 3.0, 20)[:, None]
        assert forward_is(d.net, xs - T * E[:, j], y)
        assert not forward_is(d.net, xs + 0.5 * E[:, j], y)
    # the grey region is everything mapped to (0, 0): grid oracle
    X = d.view.sample(5000, seed=0)
    zero = np.all(d.net.forward(X) <= EPS, axis=1)
    assert np.array_equal(d.preimages["(0,0)"].contains(X), zero) and zero.any()


def test_paper002_fig2_grey_region_maps_to_zero_at_level_3():
    m = module("paper002_fig2")
    d = m.compute()
    assert d.net.depth == 3 and d.net.widths == (2, 2, 2, 2)
    X = d.domain.sample(20000, seed=1)
    Y = d.net.forward(X)
    zero = np.all(np.abs(Y) <= EPS, axis=1)
    inside = d.grey.set.contains(X)
    assert np.array_equal(inside, zero) and 0.1 < zero.mean() < 0.9
    assert forward_is(d.net, d.grey.set.sample(300, seed=2), [0.0, 0.0])
    assert max(p.polyhedron.dim for p in d.grey.set) == 2 and len(d.grey.set) > 1
    # non-convex: the midpoint of two grey points can leave the grey region
    G = X[zero]
    rng = np.random.default_rng(3)
    i, j = rng.integers(0, len(G), size=(2, 4000))
    mids = (G[i] + G[j]) / 2
    assert np.any(~np.all(np.abs(d.net.forward(mids)) <= EPS, axis=1))
    for k, y in m.TARGETS.items():  # axis points: piecewise linear 1-D preimages; positive point: isolated
        res = d.preimages[k]
        assert res.complete and forward_is(d.net, res.set.sample(100, seed=4), y)
        assert max(p.polyhedron.dim for p in res.set) == (1 if y.min() == 0 else 0)


def test_paper002_fig3_point_on_a_plane_has_a_ray_along_minus_e3():
    m = module("paper002_fig3")
    d = m.compute()
    W, b = m.W, m.B
    E = np.linalg.inv(W)
    labels = list(m.OUTPUTS)
    on_plane3, on_plane2, on_line = (d.preimages[k] for k in labels)
    assert (on_plane3.dim, on_plane2.dim, on_line.dim) == (1, 1, 2)
    for P, y, zeros in ((on_plane3, m.OUTPUTS[labels[0]], [2]), (on_plane2, m.OUTPUTS[labels[1]], [1]),
                        (on_line, m.OUTPUTS[labels[2]], [1, 2])):
        xs = P.apex
        assert np.allclose(W[zeros] @ xs + b[zeros], 0.0, atol=EPS)  # x* lies on the planes of the zeros
        rng = np.random.default_rng(5)
        A = rng.uniform(0.0, 2.0, size=(50, len(zeros)))
        X = xs - A @ E[:, zeros].T  # x* − Σ α_i e_i
        assert forward_is(d.net, X, y)
        assert np.all(P.contains(X))
        for i in zeros:
            assert not P.contains(xs + 0.3 * E[:, i])


def test_paper002_fig6_split_and_merge():
    m = module("paper002_fig6")
    d = m.compute()
    X = m.classes()
    net = d.net
    Y1 = {k: net.activations(v, layer=1) for k, v in X.items()}
    Y2 = {k: net.activations(v, layer=2) for k, v in X.items()}

    def rank(P):
        s = np.linalg.svd(P - P.mean(axis=0), compute_uv=False)
        return int(np.sum(s > 1e-9 * max(1.0, s[0])))

    assert rank(np.vstack([X["A"], X["B1"]])) == 1  # A and B share a line at level l
    # split: level l+1 sends A and B1 to different coordinate axes
    assert np.allclose(Y1["A"][:, 1], 0) and np.all(Y1["A"][:, 0] > 0)
    assert np.allclose(Y1["B1"][:, 0], 0) and np.all(Y1["B1"][:, 1] > 0)
    assert rank(np.vstack([Y1["B1"], Y1["B2"]])) == 2  # B now on two manifolds
    # merge: level l+2 puts all of B on one line (the z1 axis), A on the other axis
    ZB = np.vstack([Y2["B1"], Y2["B2"]])
    assert rank(ZB) == 1 and np.allclose(ZB[:, 1], 0) and np.all(ZB[:, 0] > 0)
    assert np.allclose(Y2["A"][:, 0], 0) and np.all(Y2["A"][:, 1] > 0)
    # linearly separable at level l+2: z1 - z2 > 0 on B, < 0 on A
    assert np.all(ZB[:, 0] - ZB[:, 1] > 0) and np.all(Y2["A"][:, 0] - Y2["A"][:, 1] < 0)


# -- paper 000 --------------------------------------------------------------------------------------------
def test_paper000_fig1_apex_on_all_planes_and_identity_line_and_the_red_preimage():
    m = module("paper000_fig1")
    d = m.compute()
    C = np.asarray(d.circulant.dense())
    apex = np.asarray(d.circulant.apex)
    assert np.allclose(C @ apex + m.BIAS, 0, atol=EPS) and np.allclose(apex, apex[0])
    assert np.allclose(apex, -m.BIAS / m.KERNEL.sum())
    P = d.preimage
    X = P.sample(400, seed=6)
    assert np.all(X >= -EPS) and forward_is(d.net, X, m.Y)
    xs = np.linalg.solve(m.W, m.Y - m.B)  # w1·x = y1 − b1, w2·x = −b2, w3·x = −b3
    assert np.allclose(xs, d.dual.apex) and P.contains(xs)
    assert shape_of(P.polyhedron).kind == "polygon"


def test_paper000_fig2_bias_only_left_and_nesting_on_the_right():
    m = module("paper000_fig2")
    d = m.compute()
    for lay in d.left.net.layers:
        assert np.array_equal(lay.dense_weight, np.eye(2))
    biases = [float(lay.bias[0]) for lay in d.left.net.layers]
    assert len(set(biases)) == 3
    for side in (d.left, d.right):  # the major part of the input is mapped to (0, 0): Monte Carlo
        X = d.domain.sample(20000, seed=7)
        frac = float(np.mean(np.all(np.abs(side.net.forward(X)) <= EPS, axis=1)))
        assert frac > 0.5
        assert abs(frac - m.zero_fraction(side, d.domain)) < 0.02
    # right: some layers have a wider cone (b > 0, finite radius −c/b), whose boundary parts beyond it are marked
    finite = [k for k, (a, b, c) in enumerate(m.RIGHT, start=1) if b > 0]
    assert finite and all(np.all(np.isfinite(d.right.flow.radii[k - 1])) for k in finite)
    beyond = [s for s in d.right.flow.segments if not s.nested]
    assert beyond and {s.layer for s in beyond} <= set(finite)
    for s in beyond:  # zeros are not preserved there: the activity entering the layer exceeds the radius
        h = d.right.net.activations(s.points.mean(axis=0), layer=s.layer - 1)
        assert h.max() >= s.radius - EPS


def test_paper000_fig2_right_coloured_by_the_cone_angle_criterion():
    """The paper's criterion, computed here from the hyperplane normals: the angle between a
    hyperplane of [[a, b], [b, a]] and the identity line is 90° minus the angle between its
    normal (a, b) and (1, 1); black = wider than the predecessor's (orthant: normal (1, 0))."""
    m = module("paper000_fig2")

    def angle(n):
        n = np.asarray(n, dtype=float)
        cos = abs(n @ np.ones(2)) / (np.linalg.norm(n) * np.sqrt(2))
        return np.pi / 2 - np.arccos(np.clip(cos, -1, 1))

    prev = angle([1.0, 0.0])
    expect = []
    for k, (a, b, _c) in enumerate(m.RIGHT, start=1):
        cur = angle([a, b])
        if cur > prev:
            expect.append(k)
        prev = cur
    assert tuple(expect) == m.wider_layers(m.RIGHT) == (2, 4, 6)
    assert m.wider_layers(m.LEFT) == ()
    # a wider layer turns a zero coordinate positive somewhere in [0, 2]² (beyond its radius); a
    # nested one never does: dense sampling of activities with a zero coordinate
    rng = np.random.default_rng(12)
    H = rng.uniform(0, 2, size=(20000, 2))
    H[rng.random(20000) < 0.5, 0] = 0.0
    for k, (a, b, c) in enumerate(m.RIGHT, start=1):
        Y = np.maximum(H @ np.array([[a, b], [b, a]]).T + c, 0.0)
        lost = np.any((H <= 0) & (Y > EPS), axis=1).any()
        assert lost == (k in expect)
    # the dashed flows are trajectories through the layers: a numpy forward pass
    d = m.compute()
    for side, params in ((d.left, m.LEFT), (d.right, m.RIGHT)):
        for p, T in zip(m.FLOW_STARTS, side.flows):
            h = np.asarray(p, dtype=float)
            assert np.allclose(T[0], h)
            for k, (a, b, c) in enumerate(params, start=1):
                h = np.maximum(np.array([[a, b], [b, a]]) @ h + c, 0.0)
                assert np.allclose(T[k], h, atol=1e-12)


def test_paper000_fig3_contraction_holds_for_identity_and_fails_beyond_the_axis_crossings():
    m = module("paper000_fig3")
    d = m.compute()
    rng = np.random.default_rng(8)

    def violations(W, b, R, n=6000):
        X = rng.uniform(0, R, size=(n, 3))
        X[rng.random((n, 3)) < 0.4] = 0.0  # many points on coordinate faces and axes
        Y = np.maximum(X @ W.T + b, 0)
        return X[np.count_nonzero(Y > EPS, axis=1) > np.count_nonzero(X > EPS, axis=1)]

    I, Wd = d.identity.cells, d.wide.cells
    assert len(violations(np.asarray(I.weight), np.asarray(I.bias), 1.0)) == 0
    bad = violations(np.asarray(Wd.weight), np.asarray(Wd.bias), 3.0)
    assert len(bad) > 0
    # every violation is beyond a crossing: some zero coordinate j has (W x + b)_j > 0
    Z = bad @ np.asarray(Wd.weight).T + np.asarray(Wd.bias)
    assert np.all(np.any((np.abs(bad) <= EPS) & (Z > 0), axis=1))
    # within the nesting radius, none
    assert len(violations(np.asarray(Wd.weight), np.asarray(Wd.bias), 1.0)) == 0
    # light/dark cells map to 2-D / 1-D output subspaces
    assert d.identity.light.output_subspace_dim == 2 and d.identity.dark.output_subspace_dim == 1
    # the preimage of a point on the output axis shrinks from left to right
    a_left = shape_of(d.identity.axis_preimage.polyhedron).measure()
    a_right = shape_of(d.wide.axis_preimage.polyhedron).measure()
    assert a_left == pytest.approx(0.25) and a_right < a_left


def test_paper000_fig4_pieces_map_into_the_triangle():
    m = module("paper000_fig4")
    d = m.compute()
    man, net = d.manifold, d.net
    assert man.complete and len(man) > 10
    for k, p in enumerate(man):
        X = p.polyhedron.sample(50, seed=k)
        Y = net.forward(X)
        assert np.allclose(Y.sum(axis=1), m.C, atol=EPS) and np.all(Y >= -EPS)
        zeros = np.all(np.abs(Y) <= EPS, axis=0)
        if p.target_dim == 0:  # red: a corner of the triangle
            assert zeros.sum() == 2 and np.allclose(Y, Y[0], atol=EPS)
        elif p.target_dim == 1:  # blue: an edge
            assert zeros.sum() == 1
        else:
            assert zeros.sum() == 0
    # an input outside the manifold does not map onto M
    X = preimage.Box(np.zeros(3), np.full(3, m.RADIUS)).sample(2000, seed=9)
    off = ~man.contains(X)
    assert np.all(np.abs(net.forward(X[off]).sum(axis=1) - m.C) > 0)


def test_paper000_fig4_right_half_spans_map_onto_the_triangle_through_the_remaining_layers():
    """Every span drawn in the right half (layer l's spans in the output space of layer l − 1,
    cut by its orthant) maps, through layers l … 3 (a numpy forward pass written here), onto
    M ∩ R³₊; its points with the components −e_i, i ∈ Z, put exactly the outputs Z at zero."""
    m = module("paper000_fig4")
    d = m.compute()
    specs = [(np.asarray(lay.dense_weight), np.asarray(lay.bias)) for lay in d.net.layers]
    count = {1: 0, 2: 0, 3: 0}
    for layer in (3, 2, 1):
        for i, P in m._span_regions(d, layer):
            X = P.sample(15, seed=layer * 100 + i, burn_in=40, thin=3)
            H = X
            for W, b in specs[layer - 1:]:
                H = np.maximum(H @ W.T + b, 0.0)
            assert np.allclose(H.sum(axis=1), m.C, atol=1e-9) and np.all(H >= 0)
            W, b = specs[layer - 1]
            Z = list(d.seeded.spans[i].zero)
            pre = X @ W.T + b
            assert np.all(pre[:, Z] <= 1e-9)
            count[layer] += 1
    assert count == {3: 7, 2: 19, 1: 37}


# -- labels: inside the figure, not printed over each other (matplotlib's renderer) -----------------------
def _text_extents(fig, dpi=110):
    """Every text of the figure's axes (3-D texts at their projected positions) and axis labels,
    with its window extent from the Agg renderer at the PNG's resolution."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from mpl_toolkits.mplot3d import proj3d

    fig.set_dpi(dpi)
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    out = []
    for k, ax in enumerate(fig.axes):
        for t in ax.texts:
            if not t.get_text():
                continue
            x, y = t.get_position()
            if hasattr(t, "_z"):  # a 3-D text: project it as its draw() does
                xs, ys, _ = proj3d.proj_transform(x, y, t._z, ax.get_proj())
                t.set_position((xs, ys))
                ext = t.get_window_extent(r)
                t.set_position((x, y))
            else:
                ext = t.get_window_extent(r)
            out.append((k, t.get_text(), ext))
        labels = [ax.xaxis.label, ax.yaxis.label] + ([ax.zaxis.label] if hasattr(ax, "zaxis") else [])
        out += [(k, t.get_text(), t.get_window_extent(r)) for t in labels if t.get_text()]
    return out


@pytest.mark.parametrize("name", ["paper000_fig1", "paper002_fig3", "paper000_fig3"])
def test_labels_lie_inside_the_figure(name):
    m = module(name)
    fig = m.matplotlib_figure(m.compute())
    texts = _text_extents(fig)
    assert any(t in ("x3", "x3 / y3") for _, t, _ in texts)
    bb = fig.bbox
    outside = [(k, t) for k, t, e in texts if not (e.x0 >= bb.x0 and e.y0 >= bb.y0 and e.x1 <= bb.x1 and e.y1 <= bb.y1)]
    assert outside == []


def test_paper000_fig3_plane_labels_do_not_overprint():
    m = module("paper000_fig3")
    fig = m.matplotlib_figure(m.compute())
    texts = _text_extents(fig)
    for panel in (0, 1):
        labs = [(t, e) for k, t, e in texts if k == panel and (t.startswith("Π") or t.startswith("−e"))]
        assert sum(t.startswith("Π") for t, _ in labs) == 3
        for i in range(len(labs)):  # no plane label prints over another label
            for j in range(i + 1, len(labs)):
                if labs[i][0].startswith("Π") or labs[j][0].startswith("Π"):
                    assert not labs[i][1].overlaps(labs[j][1]), (panel, labs[i][0], labs[j][0])


def test_paper000_fig3_walls_translucent():
    """The orange coordinate faces (where contraction fails) are drawn see-through (alpha <= 0.05), so
    the cells behind them show; the cells are more opaque than the walls."""
    m = module("paper000_fig3")
    sc = m.scenes(m.compute())[1]
    from preimage.plotting.scene import Patch

    walls = [it for it in sc.items if isinstance(it, Patch) and it.label and it.label.startswith("coordinate faces")]
    cells = [it for it in sc.items if isinstance(it, Patch) and it.label and "cell" in it.label]
    assert walls and cells and all(w.alpha <= 0.05 for w in walls) and min(c.alpha for c in cells) > 5 * walls[0].alpha


# -- paper 002, Fig. 2: bent, not collinear, preimages of points on the output axes ---------------------
def test_paper002_fig2_curve_check_rejects_collinear_pieces():
    """The check demands non-collinear pieces: a straight line cut into collinear pieces fails it,
    a bent one passes."""
    m = module("paper002_fig2")

    def seg(a, b):  # the segment [a, b] as a polyhedron: x = a + t (b − a), 0 <= t <= 1
        a, b = np.asarray(a, float), np.asarray(b, float)
        d = b - a
        n = np.array([-d[1], d[0]])
        return preimage.Polyhedron([d, -d], [d @ b, -(d @ a)], [n], [n @ a])

    straight = [seg([0, 0], [1, 1]), seg([1, 1], [2, 2]), seg([2, 2], [2.5, 2.5])]
    assert m.bend_degrees(straight) == pytest.approx(0.0, abs=1e-4)
    assert not m.is_piecewise_linear_curve(straight)
    parallel = [seg([0, 0], [1, 0]), seg([0, 1], [1, 1])]
    assert not m.is_piecewise_linear_curve(parallel)
    slight = [seg([0, 0], [1, 0]), seg([1, 0], [2, 0.05])]  # ~2.9°: not visibly bent
    assert not m.is_piecewise_linear_curve(slight)
    bent = [seg([0, 0], [1, 0]), seg([1, 0], [2, 1])]
    assert m.bend_degrees(bent) == pytest.approx(45.0)
    assert m.is_piecewise_linear_curve(bent)


def test_paper002_fig2_axis_preimages_bend_by_root_finding():
    """Independent of the engine: along 400 vertical lines of the box, the exact points where the
    network (a numpy forward pass, piecewise linear along the line) reaches y = (t, 0) or (0, t) —
    those points do not lie on one straight line (the fitted line's residual is large), and the
    engine's preimage contains every one of them."""
    from test_conv_pullback import crossings

    m = module("paper002_fig2")
    d = m.compute()
    specs = [(W, b, True) for W, b in m.LAYERS]
    for k, y in m.TARGETS.items():
        if y.min() > 0:
            continue
        i = int(np.argmax(y))
        G = np.eye(2)[i]
        pts = []
        for x1 in np.linspace(m.DOMAIN_LO[0], m.DOMAIN_HI[0], 400):
            p = np.array([x1, m.DOMAIN_LO[1]])
            q = np.array([0.0, m.DOMAIN_HI[1] - m.DOMAIN_LO[1]])
            for x in crossings(specs, G, float(y[i]), p, q):
                h = x
                for W, b, _ in specs:
                    h = np.maximum(W @ h + b, 0.0)
                if abs(h[1 - i]) <= 1e-9:
                    pts.append(x)
        P = np.array(pts)
        assert len(P) > 20
        assert np.all(d.preimages[k].set.contains(P, 1e-6))
        s = np.linalg.svd(P - P.mean(axis=0), compute_uv=False)
        assert s[1] / s[0] > 0.05, (k, s)  # not collinear: the points spread off any line
