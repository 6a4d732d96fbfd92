"""Complete nesting (paper 000, §5), every reading side by side, over random small kernels.

Run with ``python examples/nesting_table.py [--per-d 30] [--write docs/nesting.md]``.

For ``d = 2 … 8`` it draws ``--per-d`` circulant layers (fixed seed ``1000 + d``): kernel
length ``k`` uniform in ``2 … d``, the diagonal tap 1, the other taps uniform in
``[−0.6, 0.4]``, the bias uniform in ``[−1, 0.3]`` (near-singular draws are redrawn). For each
it evaluates, on the orthant, the readings of :func:`preimage.conv.nesting_report`: the
definition as written (paper orientation, "exact" and "exclusive" clauses, and the "exact"
clause with the positive orientation), the operational property, cone containment and the
angle relation. It prints (and with ``--write`` puts between the markers of the docs page):
how often each reading holds, each pair's agreement, the verdict patterns, how the
operational and containment radii compare, the two examples of issue 11 with their radii, and
the rotation table (Jacobian ranks of the cone's orientation for kernels of ``k`` taps, ``d = 8``).
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np

from preimage.conv import circulant, nested_as_written, nesting_report, orientation_freedom

NAMES = ("as_written", "as_written_exclusive", "as_written_positive", "operational", "containment", "angle")
START, END = "<!-- nesting-table:start -->", "<!-- nesting-table:end -->"


def draw(d: int, rng: np.random.Generator):
    while True:
        k = int(rng.integers(2, d + 1))
        kernel = np.concatenate([[1.0], rng.uniform(-0.6, 0.4, size=k - 1)])
        b = float(np.round(rng.uniform(-1.0, 0.3), 3))
        kernel = np.round(kernel, 3)
        layer = circulant(kernel, d, bias=b)
        if abs(kernel.sum()) > 1e-2 and layer.check_invertible().smallest_ratio > 1e-2:
            return layer


def verdicts(layer) -> tuple[dict[str, bool], object]:
    rep = nesting_report(layer, as_written_radii=False)
    v = dict(rep.verdicts)
    v["as_written_positive"] = nested_as_written(layer, orientation="positive").holds("exact")
    return v, rep


def table(per_d: int) -> str:
    rows, pair_rows, patterns, radii = [], [], Counter(), Counter()
    vacuous = Counter()
    total: Counter = Counter()
    n_all = 0
    t0 = time.perf_counter()
    for d in range(2, 9):
        rng = np.random.default_rng(1000 + d)
        counts: Counter = Counter()
        agree: Counter = Counter()
        for _ in range(per_d):
            layer = draw(d, rng)
            v, rep = verdicts(layer)
            for n in NAMES:
                counts[n] += v[n]
            for a, b in combinations(NAMES, 2):
                agree[(a, b)] += v[a] == v[b]
            if v["as_written"]:
                det = rep.as_written_detail
                vacuous["all subsets vacuous" if all(s.vacuous for s in det.subsets) else "some subset checked"] += 1
            patterns[tuple(v[n] for n in ("as_written", "operational", "containment", "angle"))] += 1
            ro, rc = rep["operational"].radius, rep["containment"].radius
            if math.isfinite(ro) and math.isfinite(rc) and ro > 0:
                radii["equal" if math.isclose(ro, rc, rel_tol=1e-7) else ("op < cont" if ro < rc else "op > cont")] += 1
            elif ro == math.inf and rc == math.inf:
                radii["both inf"] += 1
            else:
                radii["other (one inf, or never/0)"] += 1
        rows.append(f"| {d} | {per_d} | " + " | ".join(str(counts[n]) for n in NAMES) + " |")
        total.update(counts)
        pair_rows.append((d, agree))
        n_all += per_d
    elapsed = time.perf_counter() - t0
    out = [f"Random layers: {per_d} per d, {n_all} in all (computed in {elapsed:.0f} s).", "",
           "**How often each reading holds (on the orthant)**", "",
           "| d | layers | " + " | ".join(NAMES) + " |", "|" + "---|" * (len(NAMES) + 2)]
    out += rows
    out.append(f"| all | {n_all} | " + " | ".join(str(total[n]) for n in NAMES) + " |")
    out += ["", "**Pairwise agreement** (layers on which the two verdicts coincide, all d)", "",
            "| reading | " + " | ".join(NAMES) + " |", "|" + "---|" * (len(NAMES) + 1)]
    for a in NAMES:
        cells = []
        for b in NAMES:
            if a == b:
                cells.append("—")
                continue
            key = (a, b) if NAMES.index(a) < NAMES.index(b) else (b, a)
            cells.append(str(sum(agree[key] for _, agree in pair_rows)))
        out.append(f"| {a} | " + " | ".join(cells) + " |")
    out += ["", "**Verdict patterns** (as_written, operational, containment, angle)", "",
            "| as written | operational | containment | angle | layers |", "|---|---|---|---|---|"]
    for pat, n in sorted(patterns.items(), key=lambda t: -t[1]):
        out.append("| " + " | ".join("holds" if x else "fails" for x in pat) + f" | {n} |")
    out += ["", "**When the definition as written holds** (paper orientation, exact clause)", "",
            "| case | layers |", "|---|---|"]
    out += [f"| {k} | {n} |" for k, n in sorted(vacuous.items())]
    out += ["", "**Operational radius vs containment radius**", "", "| comparison | layers |", "|---|---|"]
    out += [f"| {k} | {n} |" for k, n in sorted(radii.items())]
    out += ["", "**The examples of issue 11** (`nesting_report`, radii included)", "", "```text"]
    for kernel, d, b in (([1.0, -2.0], 2, -0.1), ([1.0, 0.1, -0.1], 3, -0.1)):
        out.append(str(nesting_report(circulant(kernel, d, bias=b))))
    out += ["```", "", "**Rotation: orientation freedom of a k-tap kernel, d = 8** (`orientation_freedom`, "
            "Jacobian ranks at a random kernel, seed k)", "",
            "| k | direction rank (angle + orientation) | orientation rank | free at fixed angle | "
            "unrestricted (d − 2) |", "|---|---|---|---|---|"]
    for k in range(2, 9):
        kern = np.random.default_rng(k).normal(size=k) + 2.0 * np.eye(1, k).ravel()
        f = orientation_freedom(kern, 8)
        out.append(f"| {k} | {f.direction_rank} | {f.orientation_rank} | {f.at_fixed_angle} | {f.max_at_fixed_angle} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-d", type=int, default=30)
    ap.add_argument("--write", type=Path, default=None, help="docs page to update between its markers")
    args = ap.parse_args()
    text = table(args.per_d)
    print(text)
    if args.write is not None:
        page = args.write.read_text()
        i, j = page.index(START), page.index(END)
        args.write.write_text(page[: i + len(START)] + "\n" + text + "\n" + page[j:])


if __name__ == "__main__":
    main()
