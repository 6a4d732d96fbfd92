"""The interactive explorer (`preimage explore`, `preimage.plotting.explore`) in a real headless browser.

The browser is Debian's chromium driven by Selenium through Debian's chromium-driver
(`make browser` installs both when run as root; CI's `.ci/run` calls it). Where no browser
can be found the browser tests are skipped, saying so; the Python-side tests always run.
"""

from __future__ import annotations

import json
import os
import re
import time

import numpy as np
import pytest

import preimage
from preimage.errors import InvalidInputError
from preimage.plotting import explore, explorer_data

CHROMIUM = os.environ.get("PREIMAGE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PREIMAGE_CHROMEDRIVER", "/usr/bin/chromedriver")


def _net(n_in, widths, seed, scale=0.5):
    rng = np.random.default_rng(seed)
    layers, d = [], n_in
    for k, w in enumerate(widths):
        layers.append((rng.normal(size=(w, d)), rng.normal(size=w) * scale, k < len(widths) - 1))
        d = w
    return preimage.Network.from_arrays(layers), layers


def _patterns(layers, X):
    """Activation patterns by a plain numpy forward pass (independent of the library)."""
    bits, h = [], np.asarray(X, dtype=np.float64)
    for W, b, relu in layers:
        z = h @ W.T + b
        if relu:
            bits.append(z > 0)
            h = np.maximum(z, 0.0)
        else:
            h = z
    return np.hstack(bits)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    box = preimage.Box([-2, -2], [2, 2])
    net2, layers2 = _net(2, [8, 8, 2], 0)
    regions = preimage.linear_regions(net2, box, backend="lp")
    netA, _ = _net(2, [6, 4, 2], 2)
    x = np.array([-0.90012253, 0.62973206])
    act = preimage.preimage(netA, preimage.Activity(netA.activations(x[None], layer=2)[0]), layer=2,
                            domain=box, backend="lp")
    net3, _ = _net(3, [4, 4, 1], 1)
    regions3 = preimage.linear_regions(net3, preimage.Box([-1] * 3, [1] * 3), backend="lp")
    d = tmp_path_factory.mktemp("explore")
    return {"regions": regions, "layers": layers2, "activity": act, "regions3": regions3, "dir": d}


def _embedded(page: str) -> dict:
    m = re.search(r'<script id="explorer-data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(m.group(1).replace("<\\/", "</"))


# -- Python side ---------------------------------------------------------------------------------


def test_page_is_self_contained_and_round_trips(results, tmp_path):
    res = results["regions"]
    path = tmp_path / "r.npz"
    res.set.save(path)
    page = explore(path, tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == page
    assert "<script src" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    data = _embedded(page)
    assert len(data["pieces"]) == len(res.set)
    direct = _embedded(explore(res))
    # the file's rows are normalised again on loading (a last-bit difference): the drawn
    # coordinates agree to rounding, everything else exactly
    for p, q in zip(data["pieces"], direct["pieces"]):
        assert {k: v for k, v in p.items() if k != "polygons"} == {k: v for k, v in q.items() if k != "polygons"}
        for a, b in zip(p.get("polygons", []), q.get("polygons", [])):
            assert np.allclose(np.array(a), np.array(b), rtol=0, atol=1e-9)
    assert {k: v for k, v in data.items() if k not in ("meta", "pieces")} == \
        {k: v for k, v in direct.items() if k not in ("meta", "pieces")}
    assert [p["pattern"] for p in data["pieces"]] == ["".join("1" if b else "0" for b in p.pattern) for p in res.set]
    nb = data["neighbours"]
    assert all(i in nb[j] for i in range(len(nb)) for j in nb[i])  # symmetric


def test_lower_dimensional_pieces_are_drawn(results):
    data = explorer_data(results["activity"])
    kinds = sorted(p["kind"] for p in data["pieces"])
    assert kinds == ["point", "point", "segment"]
    # the segment's end points are the two points: each point is a neighbour of the segment
    seg = next(p["index"] for p in data["pieces"] if p["kind"] == "segment")
    assert sorted(data["neighbours"][seg]) == sorted(p["index"] for p in data["pieces"] if p["kind"] == "point")


def test_refuses_high_dimensional_results():
    S = preimage.PolyhedralSet([preimage.Box([0.0] * 4, [1.0] * 4)])
    with pytest.raises(InvalidInputError, match="Slice"):
        explore(S)
    with pytest.raises(InvalidInputError, match="PreimageResult"):
        explore(42)


def test_cli(results, tmp_path):
    from preimage.cli import main

    results["regions3"].set.save(tmp_path / "r3.npz")
    assert main(["explore", str(tmp_path / "r3.npz"), "--json"]) == 0
    assert (tmp_path / "r3.html").exists()
    preimage.PolyhedralSet([preimage.Box([0.0] * 4, [1.0] * 4)]).save(tmp_path / "r4.npz")
    assert main(["explore", str(tmp_path / "r4.npz")]) == 2


# -- in the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (it is in requirements.lock: `make test` installs it)")
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip(f"no browser: {CHROMIUM} or {CHROMEDRIVER} is missing (`make browser` as root installs "
                    "Debian's chromium and chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,900", "--allow-file-access-from-files"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()


def _open(drv, page_path):
    drv.get(page_path.as_uri())
    drv.get_log("browser")  # nothing from earlier pages
    drv.refresh()
    t0 = time.time()
    while drv.execute_script("return !!window.preimageExplorer") is not True:
        assert time.time() - t0 < 10, "the explorer's script did not run"
        time.sleep(0.05)
    errors = [e for e in drv.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == [], errors


def _move_to(drv, xy):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    ab = ActionBuilder(drv)
    ab.pointer_action.move_to_location(int(round(xy[0])), int(round(xy[1])))
    ab.perform()
    return ActionChains(drv)


def _piece_at(drv, xy):
    return drv.execute_script(
        "var e = document.elementFromPoint(arguments[0], arguments[1]);"
        "var g = e && e.closest('g.piece'); return g ? Number(g.getAttribute('data-piece')) : -1;", *xy)


def _independent_adjacency(layers, data):
    """Neighbours found by stepping just outside every drawn edge and asking a numpy forward pass
    which region the point is in (patterns → piece)."""
    index = {p["pattern"]: p["index"] for p in data["pieces"]}
    assert len(index) == len(data["pieces"])  # one region per pattern
    lo, hi = np.array(data["bounds"]["lo"]), np.array(data["bounds"]["hi"])
    pairs = set()
    t = np.linspace(0.01, 0.99, 300)[:, None]
    for p in data["pieces"]:
        poly = np.array(p["polygons"][0])
        c = poly.mean(axis=0)
        for a, b in zip(poly, np.roll(poly, -1, axis=0)):
            e = b - a
            nrm = np.array([e[1], -e[0]]) / np.linalg.norm(e)
            if nrm @ (a - c) < 0:
                nrm = -nrm
            X = a + t * e + 1e-7 * nrm
            X = X[np.all((X > lo) & (X < hi), axis=1)]
            if len(X) == 0:
                continue
            for pat in {"".join("1" if v else "0" for v in row) for row in _patterns(layers, X)}:
                pairs.add(frozenset((p["index"], index[pat])))
    return {tuple(sorted(q)) for q in pairs if len(q) == 2}


def test_browser_regions_2d(browser, results):
    res, drv = results["regions"], browser
    path = results["dir"] / "regions2d.html"
    data = _embedded(explore(res, path))
    _open(drv, path)
    assert drv.execute_script("return document.querySelectorAll('#pieces > g.piece').length") == len(res.set)
    assert drv.execute_script("return document.querySelectorAll('#pieces g.piece polygon').length") == len(res.set)
    # the embedded adjacency is the one a forward pass finds across the drawn edges
    page_pairs = {(i, j) for i, nb in enumerate(data["neighbours"]) for j in nb if i < j}
    assert page_pairs == _independent_adjacency(results["layers"], data)
    # hover: the tooltip shows the piece's pattern and map; click: its neighbours are highlighted
    checked = 0
    for i in range(0, len(res.set), max(1, len(res.set) // 6)):
        xy = drv.execute_script("return window.preimageExplorer.screenPoint(arguments[0])", i)
        assert _piece_at(drv, xy) == i
        _move_to(drv, xy)
        tip = drv.find_element("id", "tooltip")
        assert tip.is_displayed()
        pattern = "".join("1" if b else "0" for b in res.set[i].pattern)
        assert f"piece #{i} " in tip.text and pattern in tip.text and "y1 = " in tip.text
        _move_to(drv, xy).click().perform()
        assert drv.execute_script("return window.preimageExplorer.selected()") == i
        shown = drv.execute_script(
            "return Array.from(document.querySelectorAll('g.piece.neighbour')).map(g => Number(g.dataset.piece))")
        assert sorted(shown) == sorted(j for pair in page_pairs if i in pair for j in pair if j != i)
        assert drv.execute_script("return document.querySelectorAll('g.piece.selected').length") == 1
        checked += 1
    assert checked >= 6
    drv.save_screenshot(str(results["dir"] / "regions2d.png"))
    errors = [e for e in drv.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == [], errors


def test_browser_lower_dimensional(browser, results):
    res, drv = results["activity"], browser
    path = results["dir"] / "activity.html"
    explore(res, path)
    _open(drv, path)
    assert drv.execute_script("return document.querySelectorAll('#pieces > g.piece').length") == len(res.set)
    assert drv.execute_script("return document.querySelectorAll('#pieces g.piece circle').length") == 2
    assert drv.execute_script("return document.querySelectorAll('#pieces g.piece line.seg').length") == 1
    for i in range(len(res.set)):
        xy = drv.execute_script("return window.preimageExplorer.screenPoint(arguments[0])", i)
        _move_to(drv, xy)
        text = drv.find_element("id", "tooltip").text
        assert "".join("1" if b else "0" for b in res.set[i].pattern) in text
        assert f"dimension {res.set[i].polyhedron.dim}" in text


def test_browser_regions_3d(browser, results):
    res, drv = results["regions3"], browser
    path = results["dir"] / "regions3d.html"
    data = _embedded(explore(res, path))
    _open(drv, path)
    assert drv.execute_script("return document.querySelectorAll('#pieces > g.piece').length") == len(res.set)
    # a piece in front: hover and click it where it is drawn
    xy = drv.execute_script("return window.preimageExplorer.screenPoint(0)")
    canvas = drv.find_element("id", "canvas").rect
    hit = -1
    for fx, fy in [(0.5, 0.5), (0.4, 0.45), (0.6, 0.55), (0.5, 0.3)]:
        xy = (canvas["x"] + fx * canvas["width"], canvas["y"] + fy * canvas["height"])
        hit = _piece_at(drv, xy)
        if hit >= 0:
            break
    assert hit >= 0
    _move_to(drv, xy)
    assert "".join("1" if b else "0" for b in res.set[hit].pattern) in drv.find_element("id", "tooltip").text
    _move_to(drv, xy).click().perform()
    shown = drv.execute_script(
        "return Array.from(document.querySelectorAll('g.piece.neighbour')).map(g => Number(g.dataset.piece))")
    assert sorted(shown) == data["neighbours"][hit] and len(shown) > 0
    # dragging rotates the view (the faces move), and the selection stays
    before = drv.execute_script("return document.querySelector('#pieces polygon').getAttribute('points')")
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(drv).move_to_element(drv.find_element("id", "canvas")).click_and_hold() \
        .move_by_offset(60, 25).release().perform()
    assert drv.execute_script("return window.preimageExplorer.selected()") == hit
    first = drv.execute_script("return document.querySelector('#pieces polygon').getAttribute('points')")
    assert first != before
    drv.save_screenshot(str(results["dir"] / "regions3d.png"))
    errors = [e for e in drv.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == [], errors
