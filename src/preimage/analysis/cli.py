"""The ``preimage mixing`` and ``preimage invert`` subcommands: thin layers over
:mod:`preimage.analysis` (no geometry lives here).

Usage::

    preimage mixing MODEL [--data digits|FILE.npz] [--split test] [--n 100] [--json]
    preimage mixing MODEL --exact [--pairs 1] [--norm linf] [--time-limit 5] [--eps E1,E2] [--json]
    preimage invert MODEL --index I --layer K --out FILE.png [--regulariser l2|tv] [--json]

``mixing`` prints, per layer, the examples of different classes with identical activity, the
dimensions of the examples' local preimages and their distances to the nearest example of
another class (with ``--plot FILE.png``: histograms); with ``--exact``, the exact distance from
each example ``b`` to the whole preimage of a neighbouring example's activity
(:func:`~preimage.analysis.exact_mixing.exact_class_mixing`). ``invert`` computes the exact-constrained
natural preimage of one example's activity and the gradient-based inversion, per layer, and
draws the picture grid. With ``--json`` stdout is one JSON object (one line)
(:meth:`MixingReport.to_dict` / :meth:`InversionComparison.to_dict`, plus the picture path).
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

import numpy as np

from .._cli_common import ProgressBar as _ProgressBar
from .._cli_common import console as _console
from .._cli_common import emit_json as _emit_json
from .._cli_common import nonnegative_int as _nonnegative_int
from .._cli_common import positive_int as _positive_int
from .._cli_common import timeout_seconds as _timeout_seconds
from .._cli_common import writable_file as _writable_file
from ..errors import InvalidInputError

__all__ = ["register", "run_mixing", "run_invert"]

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    """Add the ``mixing`` and ``invert`` subcommands to an ``argparse`` subparsers object."""
    p = subparsers.add_parser("mixing", help="class mixing per layer: identical activities, local preimages, distances",
                              description="Paper 002 §4: do the preimages of different classes mix?")
    p.add_argument("model", help="ONNX model (.onnx) or saved network (.npz)")
    _data_options(p)
    p.add_argument("--n", type=_nonnegative_int("--n", " (0: all examples)"), default=100,
                   help="use the first N examples (0: all; default 100)")
    p.add_argument("--layers", default="", help="comma-separated layers (default: all)")
    p.add_argument("--no-dims", action="store_true", help="skip the local preimage dimensions")
    p.add_argument("--no-distances", action="store_true", help="skip the distances (QPs) to other classes")
    p.add_argument("--max-pairs", type=_nonnegative_int("--max-pairs"), default=1000,
                   help="list at most this many pairs per layer")
    p.add_argument(
        "--plot", type=_writable_file("--plot"), help="save the histograms to this picture (.png, .pdf, ...)"
    )
    g = p.add_argument_group("exact mixing (--exact): the distance from b to the whole preimage of h_k(a)")
    g.add_argument("--exact", action="store_true",
                   help="measure d_k(a, b) exactly (preimage.nearest) for neighbouring pairs instead")
    g.add_argument("--pairs", type=_positive_int("--pairs"), default=1,
                   help="per example a: this many nearest other-class and same-class examples b (default 1)")
    g.add_argument("--norm", default="linf", choices=["linf", "l1", "l2"], help="distance (default linf)")
    g.add_argument("--time-limit", type=_timeout_seconds("--time-limit"), default=5.0,
                   help="seconds per pair and layer (default 5; inf: none); budgeted answers are intervals")
    g.add_argument("--eps", default="", help="comma-separated thresholds ε (default: 0.1, 0.25, 0.5 times the "
                                             "median input distance to the nearest other-class example)")
    g.add_argument("--domain", default="unit", choices=["unit", "data"],
                   help="inputs: 'unit' ([0, 1]^n, default) or 'data' ([min X, max X] in every coordinate)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument("--json", action="store_true", help="print one JSON object (the whole of stdout)")
    p.set_defaults(func=run_mixing)

    p = subparsers.add_parser("invert", help="exact-constrained natural preimage vs gradient-based inversion",
                              description="The input reproducing an example's layer-K activity exactly and "
                                          "minimising a regulariser, compared with Mahendran & Vedaldi inversion.")
    p.add_argument("model", help="ONNX model (.onnx) or saved network (.npz)")
    _data_options(p)
    p.add_argument("--index", type=_nonnegative_int("--index"), required=True, help="the example (row of the data set)")
    p.add_argument("--layer", default="all", help="layer K, comma-separated layers, or 'all' (default)")
    p.add_argument("--out", type=_writable_file("--out"), help="save the picture grid here (.png, .pdf, ...)")
    p.add_argument("--regulariser", default="l2", help="'l2' (distance to --reference) or 'tv' (total variation)")
    p.add_argument("--reference", default="mean",
                   help="the L2 reference image: 'mean' (of the training split, default), 'zero', or a .npy file")
    p.add_argument("--timeout", type=_timeout_seconds("--timeout"), default=10.0,
                   help="seconds per layer for enumerating the preimage (default 10; inf: no limit)")
    p.add_argument("--max-pieces", type=_positive_int("--max-pieces"), default=None,
                   help="stop enumerating after this many pieces")
    p.add_argument("--steps", type=_nonnegative_int("--steps"), default=2000, help="gradient steps (default 2000)")
    p.add_argument("--weight", type=float, default=1e-3, help="regulariser weight of the gradient method")
    p.add_argument("--lr", type=float, default=0.02, help="Adam learning rate of the gradient method")
    p.add_argument("--seed", type=int, default=0, help="seed of the gradient method's starting noise")
    p.add_argument("--tol", type=float, default=1e-3,
                   help="the gradient method runs until its activity error is at most this (default 1e-3)")
    p.add_argument("--max-phases", type=_positive_int("--max-phases"), default=8,
                   help="at most this many phases of --steps steps for the gradient method (default 8)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument("--json", action="store_true", help="print one JSON object (the whole of stdout)")
    p.set_defaults(func=run_invert)


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="digits", help="'digits' (default) or an .npz file with arrays X and y")
    p.add_argument("--split", default="test", choices=["test", "train", "all"], help="digits split (default test)")








def _ints(text: str, name: str) -> list[int]:
    try:
        return [int(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError as exc:
        raise InvalidInputError(f"{name} must be comma-separated integers, got {text!r}") from exc


def _load(args):
    from ..network import load
    from . import check_data, load_data

    net = load(args.model)
    X, y = load_data(args.data, args.split)
    X, y = check_data(net, X, y)
    return net, X, y


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


# -- mixing ----------------------------------------------------------------------------------------
def run_mixing(args) -> int:
    from .mixing import class_mixing, plot_mixing

    net, X, y = _load(args)
    if args.n < 0:
        raise InvalidInputError(f"--n must be >= 0 (0: all examples), got {args.n}")
    if args.n:
        X, y = X[: args.n], y[: args.n]
    layers = _ints(args.layers, "--layers") or None
    if args.exact:
        return _run_exact(args, net, X, y, layers)
    with _ProgressBar(args.quiet or args.json, "mixing") as bar:
        report = class_mixing(net, X, y, layers=layers, dims=not args.no_dims, distances=not args.no_distances,
                              max_pairs=args.max_pairs,
                              progress=lambda k, done, n: bar.update(f"layer {k}", done, n))
    if args.plot:
        plot_mixing(report, out=args.plot)
    if args.json:
        out = report.to_dict()
        out["plot"] = args.plot
        _emit_json(out)
        return 0
    from rich.table import Table

    con = _console()
    rows = report.table()
    table = Table(title=f"class mixing: {args.model}, {report.n} examples of {args.data} ({args.split}), "
                        f"domain {report.domain}")
    cols = [("layer", "layer"), ("width", "width"), ("distinct_activities", "distinct"),
            ("identical_cross_class_pairs", "mixed pairs"), ("identical_same_class_pairs", "same-class pairs"),
            ("near_cross_class_pairs", "near mixed"), ("dim_min", "dim min"), ("dim_median", "dim median"),
            ("dim_max", "dim max"), ("distance_min", "dist min"), ("distance_median", "dist median"),
            ("qps", "QPs"), ("seconds", "s")]
    cols = [(k, h) for k, h in cols if any(k in r for r in rows)]
    for _, h in cols:
        table.add_column(h, justify="right")
    for r in rows:
        table.add_row(*[_fmt(r.get(k)) for k, _ in cols])
    con.print(table)
    for lm in report.layers:
        if lm.n_cross_pairs:
            shown = ", ".join(f"{i}({y[i]})~{j}({y[j]})" for i, j in lm.cross_pairs[:10])
            con.print(f"layer {lm.layer}: identical activity across classes: {shown}"
                      + (" ..." if lm.n_cross_pairs > 10 else ""))
    if args.plot:
        con.print(f"histograms saved to {args.plot}")
    return 0


def _eps(text: str) -> list[float] | None:
    if not text.strip():
        return None
    try:
        return [float(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError as exc:
        raise InvalidInputError(f"--eps must be comma-separated numbers, got {text!r}") from exc


def _run_exact(args, net, X, y, layers) -> int:
    from ..polyhedra import Box
    from .exact_mixing import exact_class_mixing, plot_exact_mixing

    dom = "unit" if args.domain == "unit" else Box(np.full(net.input_dim, X.min()), np.full(net.input_dim, X.max()))
    limit = None if args.time_limit is None or not np.isfinite(args.time_limit) else float(args.time_limit)
    with _ProgressBar(args.quiet or args.json, "exact mixing") as bar:
        rep = exact_class_mixing(net, X, y, layers=layers, domain=dom, norm=args.norm, pairs=args.pairs,
                                 time_limit=limit, eps=_eps(args.eps),
                                 progress=lambda k, done, n: bar.update(f"layer {k}", done, n))
    if args.plot:
        plot_exact_mixing(rep, out=args.plot)
    if args.json:
        out = rep.to_dict()
        out["plot"] = args.plot
        _emit_json(out)
        return 0
    from rich.table import Table

    con = _console()
    table = Table(title=f"exact class mixing: {args.model}, {rep.n} examples of {args.data} ({args.split}), "
                        f"{args.pairs} neighbour(s) of each kind, {rep.norm}")
    heads = ["layer", "other: median", "other: q1–q3", "other: intervals", "same: median", "same: q1–q3",
             "same: intervals", "identical mixed"] + [f"within {e:.3g}" for e in rep.eps] + ["s"]
    for h in heads:
        table.add_column(h, justify="right")
    for r in rep.table():
        cells = [str(r["layer"])]
        for kind in ("cross", "same"):
            u = r[kind]["upper"]
            cells += [_fmt(u["median"]), f"{_fmt(u['q1'])}–{_fmt(u['q3'])}", str(r[kind]["incomplete"])]
        cells.append(str(r["identical_cross_class_pairs"]))
        cells += [f"{w['proven']:.2f}" + ("" if w["possible"] == w["proven"] else f"–{w['possible']:.2f}")
                  for w in r["within_eps"]]
        cells.append(_fmt(r["seconds"]))
        table.add_row(*cells)
    con.print(table)
    con.print("medians and quartiles of the upper ends; 'within ε': fraction of examples a whose preimage comes "
              "within ε of an example of another class (proven–possible where budgets left intervals)")
    if args.plot:
        con.print(f"distributions saved to {args.plot}")
    return 0


# -- invert ----------------------------------------------------------------------------------------
def _reference(args, net, regulariser: str):
    if regulariser != "l2" or args.reference == "zero":
        return None, "zero"
    if args.reference == "mean":
        from . import check_data, load_data

        if str(args.data) == "digits":
            Xtr, _ = load_data("digits", "train")
        else:
            Xtr, _ = load_data(args.data)
        Xtr, _ = check_data(net, Xtr)
        return Xtr.mean(axis=0), "mean of the training data" if str(args.data) == "digits" else "mean of the data"
    path = args.reference
    if not str(path).endswith(".npy"):
        raise InvalidInputError(f"--reference must be 'mean', 'zero' or a .npy file, got {path!r}")
    try:
        ref = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"--reference file {path!r} is not a readable .npy array: {exc}") from exc
    return np.asarray(ref, dtype=np.float64).reshape(-1), str(path)


def run_invert(args) -> int:
    from . import check_index
    from .natural import REGULARISERS, compare_inversions, plot_inversions

    if args.regulariser.lower() not in REGULARISERS:
        raise InvalidInputError(f"--regulariser must be one of {list(REGULARISERS)}, got {args.regulariser!r}")
    net, X, y = _load(args)
    i = check_index(args.index, X.shape[0], "--index")
    if str(args.layer).strip().lower() == "all":
        layers = list(range(1, net.depth + 1))
    else:
        layers = _ints(str(args.layer), "--layer")
        if not layers:
            raise InvalidInputError(f"--layer must be K, K1,K2,... or 'all', got {args.layer!r}")
        for k in layers:
            net._check_layer(k, allow_input=False)
    ref, ref_text = _reference(args, net, args.regulariser.lower())
    with _ProgressBar(args.quiet or args.json, "invert") as bar:
        cmp = compare_inversions(net, X[i], layers, args.regulariser, reference=ref, time_limit=args.timeout,
                                 max_pieces=args.max_pieces, weight=args.weight, steps=args.steps, lr=args.lr,
                                 seed=args.seed, tol=args.tol, max_phases=args.max_phases, progress=bar.update)
    if args.out:
        plot_inversions(cmp, out=args.out)
    if args.json:
        out = cmp.to_dict()
        out.update(index=i, label=int(y[i]) if y is not None else None, reference=ref_text, picture=args.out)
        _emit_json(out)
        return 0
    from rich.table import Table

    con = _console()
    table = Table(title=f"inverting example {i} (class {y[i] if y is not None else '?'}) of {args.data} "
                        f"({args.split}) through {args.model}; regulariser {cmp.regulariser}"
                        + (f" (reference: {ref_text})" if cmp.regulariser == "l2" else ""))
    for h in ("layer", "exact: activity error", "exact: value", "exact: pieces", "exact: complete",
              "gradient: activity error", "gradient: value", "original value"):
        table.add_column(h, justify="right")
    for r in cmp.table():
        table.add_row(str(r["layer"]), f"{r['exact_activity_error']:.2e}", f"{r['exact_value']:.4g}",
                      str(r["exact_pieces"]), "yes" if r["exact_complete"] else "no (budget)",
                      f"{r['gradient_activity_error']:.2e}" + ("" if r["gradient_reached"] else
                                                                 f" > tol {r['gradient_tol']:.0e}"),
                      f"{r['gradient_value']:.4g}" + ("" if r["comparable"] else " (not comparable)"),
                      f"{r['original_value']:.4g}")
    con.print(table)
    if not all(r["comparable"] for r in cmp.table()):
        con.print(f"the gradient method did not reach an activity error of {args.tol:g} where marked: its "
                  "value there is not comparable with the exact one (more --steps or --max-phases)")
    if args.out:
        con.print(f"picture grid saved to {args.out}")
    return 0
