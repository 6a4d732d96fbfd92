"""The plotting API: every function draws what the library computed, takes ``ax=None`` or an
axes, and returns its artists. Oracles: the network's forward pass and activation pattern,
the hyperplane equations, areas that must add up to the domain's."""

from __future__ import annotations

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import preimage  # noqa: E402
from preimage import tolerances  # noqa: E402
from preimage.errors import InvalidInputError  # noqa: E402
from preimage.plotting import (  # noqa: E402
    contraction_flow,
    plot_cone,
    plot_contraction,
    plot_contraction_flow,
    plot_dual_basis,
    plot_hyperplanes,
    plot_preimage,
    plot_regions,
)
from preimage.plotting._shapes import order_polygon, polygon_area, shape_of  # noqa: E402
from preimage.plotting.geometry import dual_basis_items, hyperplane_items  # noqa: E402
from preimage.plotting.scene import Arrow, Lines, Markers, Patch, Scene, plotly_figure  # noqa: E402

EPS = tolerances.ACTIVITY_ABSOLUTE


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def small_net(seed: int = 0, widths=(2, 5, 4, 2)):
    rng = np.random.default_rng(seed)
    specs = [(rng.normal(size=(widths[i + 1], widths[i])), 0.3 * rng.normal(size=widths[i + 1]), i < len(widths) - 2)
             for i in range(len(widths) - 1)]
    return preimage.Network.from_arrays(specs)


def ax2():
    return Figure().add_subplot()


def ax3():
    return Figure().add_subplot(projection="3d")


# -- plot_regions --------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_plot_regions_one_patch_per_region_partitioning_the_box(seed):
    net = small_net(seed)
    box = preimage.Box([-1.0, -1.5], [1.5, 1.0])
    res = preimage.linear_regions(net, box)
    ax = ax2()
    patches = plot_regions(net, box, ax, result=res)
    assert len(patches) == len(res.set) == len(ax.patches)
    # the polygons tile the box: their areas add up to the box's
    total = sum(polygon_area(p.get_xy()[:-1]) for p in patches)
    assert total == pytest.approx(float(np.prod(box.widths)), rel=1e-9)
    # each polygon's centroid has the region's activation pattern (forward-pass oracle)
    for p, piece in zip(patches, res.set):
        V = p.get_xy()[:-1]
        c = V.mean(axis=0)
        assert np.array_equal(net.activation_pattern(c), piece.pattern)
    # same pattern, same colour
    cols = [tuple(p.get_facecolor()) for p in patches]
    keys = [piece.pattern.tobytes() for piece in res.set]
    for i in range(len(keys)):
        for j in range(len(keys)):
            if keys[i] == keys[j]:
                assert cols[i] == cols[j]


def test_plot_regions_ax_none_uses_current_axes_and_computes_regions():
    net = small_net(3)
    box = preimage.Box([-1, -1], [1, 1])
    plt.figure()
    patches = plot_regions(net, box)
    assert patches and all(p.axes is plt.gca() for p in patches)
    assert len(patches) == len(preimage.linear_regions(net, box).set)


def test_plot_regions_on_a_slice_of_a_higher_dimensional_input():
    net = small_net(4, widths=(4, 6, 3))
    pts = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 0.5, -0.2, 0.3], [-0.4, 1.0, 0.8, -0.5]])
    slc = preimage.Slice.through(pts)
    res = preimage.linear_regions(net, slc)
    ax = ax2()
    patches = plot_regions(net, slc, ax, result=res)
    assert len(patches) == len(res.set)
    for p, piece in zip(patches, res.set):
        c = p.get_xy()[:-1].mean(axis=0)
        assert np.array_equal(net.activation_pattern(slc.to_input(c)[0]), piece.pattern)
    total = sum(polygon_area(p.get_xy()[:-1]) for p in patches)
    assert total == pytest.approx(float(np.prod(slc.hi - slc.lo)), rel=1e-9)


def test_plot_regions_on_a_2d_face_of_a_3d_box():
    net = small_net(5, widths=(3, 5, 2))
    box = preimage.Box([-1.0, 0.25, -1.0], [1.0, 0.25, 1.0])  # x2 fixed
    patches = plot_regions(net, box, ax2())
    res = preimage.linear_regions(net, box)
    assert len(patches) == len(res.set)
    for p, piece in zip(patches, res.set):
        c2 = p.get_xy()[:-1].mean(axis=0)
        assert np.array_equal(net.activation_pattern([c2[0], 0.25, c2[1]]), piece.pattern)


def test_plot_regions_rejects_3d_domains_and_3d_axes():
    net = small_net(6, widths=(3, 4, 2))
    with pytest.raises(InvalidInputError, match="2-D box"):
        plot_regions(net, preimage.Box([-1, -1, -1], [1, 1, 1]), ax2())
    with pytest.raises(InvalidInputError, match="2-D drawing"):
        plot_regions(small_net(0), preimage.Box([-1, -1], [1, 1]), ax3())


# -- plot_preimage ----------------------------------------------------------------------------------
def test_plot_preimage_2d_pieces_are_the_exact_preimage():
    net = small_net(7)
    box = preimage.Box([-2, -2], [2, 2])
    res = preimage.preimage(net, preimage.Box([-0.5, -0.5], [0.5, 0.5]), domain=box)
    ax = ax2()
    arts = plot_preimage(res, ax, color="tab:red")
    assert len(arts) == len(res.set)
    for art, piece in zip(arts, res.set):
        V = art.get_xy()[:-1]
        assert np.all(piece.polyhedron.contains(V))
        y = net.forward(V)  # the vertices' outputs lie in the target box
        assert np.all(np.abs(y) <= 0.5 + EPS)


def test_plot_preimage_of_an_activity_draws_points_segments_and_polygons():
    W, b = np.array([[1.0, 0.4], [-0.3, 1.0]]), np.array([-0.5, -0.2])
    view = preimage.Box([-3, -3], [3, 3])
    ax = ax2()
    for y, kind in (([1.0, 0.5], "collections"), ([1.0, 0.0], "lines"), ([0.0, 0.0], "patches")):
        before = len(getattr(ax, kind))
        arts = plot_preimage(preimage.layer_preimage(W, b, y, domain=None), ax, view=view)
        assert len(arts) == 1 and len(getattr(ax, kind)) == before + 1
    seg = ax.lines[-1].get_xydata()
    net = preimage.Network.from_arrays([(W, b, True)])
    assert np.allclose(net.forward(seg), [1.0, 0.0], atol=EPS)


def test_plot_preimage_unbounded_needs_a_view():
    P = preimage.layer_preimage(np.eye(2), [0.0, 0.0], [0.0, 0.0], domain=None)
    with pytest.raises(InvalidInputError, match="unbounded"):
        plot_preimage(P, ax2())


def test_plot_preimage_3d_pieces_and_ax_none():
    W = np.array([[1.0, 0.2, 0.1], [0.1, 1.0, 0.3], [0.2, 0.1, 1.0]])
    b = np.array([-0.5, -0.4, -0.3])
    view = preimage.Box([-1, -1, -1], [1.5, 1.5, 1.5])
    P = preimage.layer_preimage(W, b, [0.0, 0.0, 0.0], domain=None)  # a 3-D cone
    ax = ax3()
    arts = plot_preimage(P, ax, view=view)
    assert len(arts) == 1 and type(arts[0]).__name__ == "Poly3DCollection"
    faces = shape_of(P.polyhedron, view).polygons
    assert len(faces) >= 4
    for F in faces:  # every face vertex is in the cone and on its boundary (or the view's)
        assert np.all(P.contains(F))
    arts = plot_preimage(P, view=view)  # ax=None: a new 3-D axes
    assert arts[0].axes.name == "3d"
    with pytest.raises(InvalidInputError, match="3-D drawing needs 3-D axes"):
        plot_preimage(P, ax2(), view=view)


def test_plot_preimage_through_a_slice_of_a_4d_input():
    net = small_net(8, widths=(4, 6, 2))
    box = preimage.Box(-np.ones(4), np.ones(4))
    res = preimage.preimage(net, preimage.Activity([0.0, 0.0]), domain=box)
    assert len(res.set) > 0
    x0 = res.set[0].polyhedron.relative_interior_point()
    slc = preimage.Slice(x0, np.eye(4)[:, :2], [-1.0, -1.0], [1.0, 1.0])
    with pytest.raises(InvalidInputError, match="slice"):
        plot_preimage(res, ax2())
    ax = ax2()
    arts = plot_preimage(res, ax, slice=slc)
    assert arts
    for art in arts:  # every drawn vertex, mapped back to the input, is mapped to (0, 0)
        if hasattr(art, "get_xy"):
            T = art.get_xy()[:-1]  # a polygon
        elif hasattr(art, "get_xydata"):
            T = art.get_xydata()  # a segment
        else:
            T = np.asarray(art.get_offsets())  # a point
        X = slc.to_input(T)
        assert np.allclose(net.forward(X), 0.0, atol=EPS)


# -- hyperplanes, dual basis, cone ---------------------------------------------------------------------
def test_plot_hyperplanes_2d_and_3d_lie_on_the_hyperplanes():
    W, b = np.array([[1.0, -2.0], [0.5, 1.0]]), np.array([0.3, -0.4])
    ax = ax2()
    arts = plot_hyperplanes(W, b, ax, view=preimage.Box([-2, -2], [2, 2]))
    lines = [a for a in arts if hasattr(a, "get_xydata")]
    assert len(lines) == 2
    for i, ln in enumerate(lines):
        assert np.allclose(ln.get_xydata() @ W[i] + b[i], 0.0, atol=EPS)
    W3 = np.array([[1.0, 0.2, 0.1], [0.1, 1.0, 0.3], [0.2, 0.1, 1.0]])
    b3 = np.array([-0.5, -0.4, -0.3])
    view = preimage.Box([-1, -1, -1], [1, 1, 1])
    items = hyperplane_items(W3, b3, view)
    polys = [it for it in items if isinstance(it, Patch)]
    assert len(polys) == 3
    for i, it in enumerate(polys):
        assert np.allclose(it.polygons[0] @ W3[i] + b3[i], 0.0, atol=EPS)
        assert np.all(view.contains(it.polygons[0]))
    arts3 = plot_hyperplanes(W3, b3, ax3(), view=view)
    assert sum(type(a).__name__ == "Poly3DCollection" for a in arts3) == 3
    plt.figure()
    assert plot_hyperplanes(W, b, view=preimage.Box([-2, -2], [2, 2]))[0].axes is plt.gca()


def test_plot_dual_basis_arrows_are_the_dual_basis():
    W, b = np.array([[1.0, 0.5], [0.0, 1.0]]), np.array([0.0, -1.0])
    arrows = [it for it in dual_basis_items(W, b) if isinstance(it, Arrow)]
    assert np.allclose(W @ np.column_stack([a.vector for a in arrows]), np.eye(2))
    assert np.allclose(W @ arrows[0].start + b, 0.0)
    neg = [it for it in dual_basis_items(W, b, negative=True, scale=2.0) if isinstance(it, Arrow)]
    assert np.allclose(W @ np.column_stack([a.vector for a in neg]), -2.0 * np.eye(2))
    ax = ax2()
    arts = plot_dual_basis(W, b, ax=ax)
    assert len(ax.patches) == 2 and len(arts) == 2 + 2 + 1  # arrows, their labels, the apex
    W3 = np.array([[1.0, 0.2, 0.1], [0.1, 1.0, 0.3], [0.2, 0.1, 1.0]])
    arts3 = plot_dual_basis(W3, [-0.5, -0.4, -0.3], ax=ax3())
    assert sum(type(a).__name__ == "Quiver" or "Line3DCollection" in type(a).__name__ for a in arts3) == 3


def test_plot_cone_of_a_circulant_layer():
    from preimage.conv import circulant

    layer = circulant([1.0, -0.3, -0.2], 3, bias=-1.0)
    view = preimage.Box([0, 0, 0], [4.5, 4.5, 4.5])
    ax = ax3()
    arts = plot_cone(layer, ax, view=view)
    assert arts
    from preimage.plotting.geometry import cone_items

    items = cone_items(layer, view)
    apex = [it for it in items if isinstance(it, Markers)][0].points[0]
    assert np.allclose(apex, -layer.bias / layer.kernel_sum)
    edges = [it for it in items if isinstance(it, Lines) and it.label and it.label.startswith("edge")]
    E = np.asarray(layer.dual_basis_matrix())
    for k, it in enumerate(edges):  # the cone's edges run from the apex along e_k
        seg = it.paths[0]
        d = seg[1] - seg[0]
        assert np.linalg.norm(np.cross(d, E[:, k])) <= 1e-9 * np.linalg.norm(d) * np.linalg.norm(E[:, k])
    arts2 = plot_cone(circulant([1.0, -0.4], 2, bias=-0.5), ax2(), view=preimage.Box([0, 0], [3, 3]))
    assert arts2
    with pytest.raises(InvalidInputError):
        plot_cone(circulant([1.0, -0.4, 0.1, 0.0], 4, bias=-0.5), ax3(), view=view)


# -- contraction -------------------------------------------------------------------------------------
def test_plot_contraction_draws_the_profile_means():
    from preimage.conv import contraction_profile

    net = preimage.Network.from_arrays([(np.eye(2), [-0.5, -0.5], True), (np.eye(2), [0.0, -0.3], True)])
    X = np.random.default_rng(0).uniform(0, 1, size=(50, 2))
    prof = contraction_profile(net, X)
    ax = ax2()
    arts = plot_contraction(prof, ax)
    assert np.allclose(arts[0].get_ydata(), prof.nonzero.mean(axis=0))
    assert np.allclose(arts[1].get_ydata(), prof.local_dim.mean(axis=0))
    plt.figure()
    assert plot_contraction(prof)[0].axes is plt.gca()
    with pytest.raises(InvalidInputError):
        plot_contraction(np.zeros(3), ax2())


def test_contraction_flow_segments_lie_on_their_layers_zero_sets():
    from preimage.plotting.figures.paper000_fig2 import RIGHT, network

    net = network(RIGHT)
    box = preimage.Box([0, 0], [2, 2])
    flow = contraction_flow(net, box)
    assert flow.depth == net.depth and len(flow.segments) > 0
    for s in flow.segments:
        for x in np.vstack([s.points, s.points.mean(axis=0, keepdims=True)]):
            assert abs(net.pre_activations(x, layer=s.layer)[s.node]) <= EPS
    ax = ax2()
    arts = plot_contraction_flow(flow, ax)
    assert len(arts) == len(flow.segments)
    black = [a for a in arts if a.get_color() in ("#000000", "k")]
    assert len(black) == sum(not s.nested for s in flow.segments) > 0


# -- helpers, renderers, laziness -----------------------------------------------------------------------
def test_order_polygon_gives_a_simple_polygon_in_3d():
    rng = np.random.default_rng(1)
    ang = np.sort(rng.uniform(0, 2 * np.pi, 7))
    P = np.column_stack([np.cos(ang), np.sin(ang), np.zeros(7)]) @ np.linalg.qr(rng.normal(size=(3, 3)))[0]
    Q = order_polygon(P[rng.permutation(7)])
    assert polygon_area(Q) == pytest.approx(polygon_area(P), rel=1e-12)


def test_plotly_renderer_makes_3d_traces():
    W = np.array([[1.0, 0.2, 0.1], [0.1, 1.0, 0.3], [0.2, 0.1, 1.0]])
    b = np.array([-0.5, -0.4, -0.3])
    view = preimage.Box([-1, -1, -1], [1, 1, 1])
    items = hyperplane_items(W, b, view) + dual_basis_items(W, b)
    fig = plotly_figure([Scene(tuple(items), "a", view.lo, view.hi), Scene(tuple(items), "b", view.lo, view.hi)])
    kinds = {tr.type for tr in fig.data}
    assert {"mesh3d", "scatter3d", "cone"} <= kinds
    assert "plotly" in fig.to_html(include_plotlyjs=False)


def test_importing_preimage_or_the_plotting_package_does_not_import_matplotlib_or_plotly():
    code = ("import sys, preimage, preimage.plotting, preimage.plotting.figures; "
            "print(','.join(m for m in ('matplotlib', 'plotly') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
