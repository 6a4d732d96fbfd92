"""The ``preimage`` command line: a thin front end over the public API.

Every subcommand prints a human-readable report, or with ``--json`` one JSON object: the
whole of stdout (progress and logs go to stderr). Errors from the library print one line to
stderr and exit 2; so do bad arguments, refused by the parser before any work. Negative
numbers and lists starting with one are values (``--box -1,1``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._cli_common import ArgumentParser as _ArgumentParser
from ._cli_common import console as _console
from ._cli_common import emit_json as _emit_json
from ._cli_common import positive_float as _positive_float
from ._cli_common import positive_int as _positive_int
from ._cli_common import timeout_seconds as _timeout_seconds
from ._cli_common import writable_file as _writable_file
from .errors import InvalidInputError, PreimageError

__all__ = ["main", "EXIT_OK", "EXIT_ERROR", "EXIT_BAD_INPUT", "EXIT_BUDGET", "EXIT_INTERRUPTED"]

#: exit codes of every subcommand (the table is in the README)
EXIT_OK = 0           # done: the answer is complete
EXIT_ERROR = 1        # a check failed (`figures`), or an unexpected internal error (a bug: please report it)
EXIT_BAD_INPUT = 2    # bad input or a library error: one line on stderr, nothing computed
EXIT_BUDGET = 3       # stopped by --timeout / --max-pieces: what was found is saved, `preimage resume` continues
EXIT_INTERRUPTED = 130  # stopped by SIGINT (Ctrl-C) or SIGTERM: what was found is saved, `preimage resume` continues

log = logging.getLogger("preimage.cli")

#: the domain of `preimage activity` when none is given: the box x ± 1
DEFAULT_ACTIVITY_RADIUS = 1.0


# -- helpers ---------------------------------------------------------------------------------------






def _parse_vector(text: str, name: str) -> np.ndarray:
    """A comma-separated list, or a path to a ``.npy``/``.txt`` file."""
    p = Path(text)
    if p.suffix in (".npy", ".txt", ".csv") and p.exists():
        arr = (
            _load_array(str(p), name)
            if p.suffix == ".npy"
            else np.loadtxt(p, delimiter="," if p.suffix == ".csv" else None)
        )
        return np.asarray(arr, dtype=np.float64).reshape(-1)
    try:
        return np.array([float(v) for v in text.replace(" ", "").split(",") if v != ""], dtype=np.float64)
    except ValueError as exc:
        raise InvalidInputError(
            f"{name} must be comma-separated numbers or a .npy/.txt/.csv file, got {text!r}"
        ) from exc


def _parse_input(text: str, width: int, shape: Sequence[int] | None = None, name: str = "--input") -> np.ndarray:
    """One input of ``width`` numbers (a file may hold it in any shape with that many entries).

    Errors report the shape as given (not flattened) and the shape expected.
    """
    p = Path(text)
    if p.suffix == ".npy" and p.exists():
        raw = np.asarray(_load_array(str(p), name), dtype=np.float64)
    else:
        raw = _parse_vector(text, name)
    if raw.size != width:
        want = f"{tuple(shape)} ({width} numbers)" if shape is not None and tuple(shape) != (width,) else f"({width},)"
        raise InvalidInputError(f"{name} has shape {raw.shape} ({raw.size} numbers); one input of shape {want} "
                                f"is expected")
    if not np.all(np.isfinite(raw)):
        raise InvalidInputError(f"{name} must be finite numbers, got NaN or infinite values")
    return raw.reshape(-1)


def _load_array(path: str, name: str) -> np.ndarray:
    p = Path(path)
    if not p.exists():
        raise InvalidInputError(f"{name} file {path!r} does not exist")
    try:
        return np.load(p, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{name} file {path!r} is not a .npy array: {exc}") from exc


def _load_network(model: str):
    from .network import load

    return load(model)


def _layer_arrays(args) -> tuple[np.ndarray, np.ndarray, str, Any]:
    """(W, b, description, network) from ``MODEL --layer K`` or ``--weights/--bias``."""
    if args.weights:
        W = _load_array(args.weights, "--weights")
        b = _load_array(args.bias, "--bias") if args.bias else np.zeros(np.shape(W)[0])
        return W, b, f"weights {args.weights}", None
    if not args.model:
        raise InvalidInputError("give a MODEL with --layer, or --weights W.npy [--bias b.npy]")
    net = _load_network(args.model)
    k = net._check_layer(args.layer, allow_input=False)
    lay = net.layers[k - 1]
    return lay.dense_weight, lay.bias, f"layer {k} of {args.model}", net


def _layer_activation(args, net):
    """The activation of ``--layer`` of the model (``None``: ``--weights``, a ReLU layer)."""
    return None if net is None else net.layers[args.layer - 1].activation


def _activity(args, W: np.ndarray, b: np.ndarray, net) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The activity ``y`` (given, or computed from ``--input``) and the layer input if known."""
    if getattr(args, "activity", None):
        return _parse_vector(args.activity, "--activity"), None
    if getattr(args, "input", None):
        if net is None:
            h = _parse_input(args.input, W.shape[1], name="--input (an input of the --weights layer)")
        else:
            x = _parse_input(args.input, net.input_dim, net.input_shape)
            h = net.activations(x, layer=args.layer - 1)
        if h.shape[0] != W.shape[1]:
            raise InvalidInputError(f"--input gives a layer input of width {h.shape[0]}, the layer takes {W.shape[1]}")
        return _apply_activation(W, b, h, _layer_activation(args, net)), h
    return None, None


def _apply_activation(W: np.ndarray, b: np.ndarray, h: np.ndarray, activation) -> np.ndarray:
    """``φ(W h + b)`` (``activation=None``: a ReLU)."""
    z = W @ h + b
    return np.maximum(z, 0.0) if activation is None else activation.evaluate(z[None, :])[0]


def _save(obj: Any, path: str | None) -> str | None:
    if not path:
        return None
    if hasattr(obj, "save"):
        obj.save(path)
    else:  # arrays
        np.savez_compressed(path, **obj)
    return path


# -- subcommands -------------------------------------------------------------------------------------
def _activation_label(spec: dict) -> str:
    """``ReLU``, ``none`` (the identity), or the activation's name and parameters."""
    name = spec.get("name", "")
    if name == "relu":
        return "ReLU"
    if name == "identity":
        return "none"
    args = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "name")
    return f"{name}({args})" if args else name


def cmd_info(args) -> int:
    net = _load_network(args.model)
    rows = net.summary()
    info = {
        "model": args.model,
        "input_shape": list(net.input_shape),
        "widths": list(net.widths),
        "relus": net.num_relus,
        "depth": net.depth,
        "layers": rows,
    }
    if args.json:
        _emit_json(info)
        return 0
    from rich.table import Table

    con = _console()
    units = "ReLUs" if all(lay.relu for lay in net.layers if lay.has_activation) else "units with an activation"
    table = Table(title=f"{args.model}: {net.depth} affine layers, {net.num_relus} {units}")
    for col in ("layer", "kind", "shape", "width", "activation", "nonzero weights", "source"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["layer"]), r["kind"], str(tuple(r["shape"])), str(r["width"]),
                      "" if r["layer"] == 0 else _activation_label(r["activation"]),
                      "" if r["layer"] == 0 else str(r["nonzero_weights"]), r.get("source", "")[:60])
    con.print(table)
    return 0


def cmd_dual_basis(args) -> int:
    from ._validation import require_relu
    from .layer import dual_basis

    W, b, what, net = _layer_arrays(args)
    require_relu(_layer_activation(args, net), "the dual basis of papers 000/002", what)
    y, _ = _activity(args, W, b, net)
    D = dual_basis(W, b, y)
    residual = float(np.abs(W @ D.vectors - np.eye(W.shape[0])).max(initial=0.0))
    if getattr(args, "activity", None):
        apex_for = "the activity y given by --activity (w_j·x* + b_j = y_j where y_j > 0, = 0 where y_j = 0)"
    elif getattr(args, "input", None):
        apex_for = (f"the activity y of --input at {what} (w_j·x* + b_j = y_j where y_j > 0, = 0 where y_j = 0); "
                    f"not the common point of the hyperplanes")
    else:
        apex_for = "no activity: the common point of the layer's hyperplanes (W x* + b = 0)"
    out = {
        "layer": what,
        "shape": list(W.shape),
        "apex": D.apex,
        "apex_for": apex_for,
        "activity": y,
        "null_space_dim": int(D.null_space.shape[1]),
        "max_abs_WE_minus_I": residual,
        "saved": _save({"vectors": D.vectors, "apex": D.apex, "null_space": D.null_space}, args.out),
    }
    if args.json:
        out["vectors"] = D.vectors if W.size <= 10_000 else None
        _emit_json(out)
        return 0
    con = _console()
    con.print(f"[bold]Dual basis[/bold] of {what} ({W.shape[0]}×{W.shape[1]})")
    con.print(f"  apex x* = {np.array2string(D.apex, precision=4, threshold=12)}")
    con.print(f"    (the apex for {apex_for})")
    con.print(f"  max |W E - I| = {residual:.2e};  null-space directions: {D.null_space.shape[1]}")
    if W.shape[0] <= 8:
        for i in range(W.shape[0]):
            con.print(f"  e_{i + 1} = {np.array2string(D.vectors[:, i], precision=4, threshold=12)}")
    if args.out:
        con.print(f"  saved to {args.out}")
    return 0


def cmd_layer_preimage(args) -> int:
    from .layer import layer_preimage

    W, b, what, net = _layer_arrays(args)
    y, h = _activity(args, W, b, net)
    if y is None:
        raise InvalidInputError("give the activity with --activity y1,y2,... or an input with --input")
    domain: Any = args.domain
    if domain == "auto":
        prev_relu = net is not None and args.layer > 1 and net.layers[args.layer - 2].relu
        domain = "orthant" if prev_relu else None
    elif domain == "none":
        domain = None
    activation = _layer_activation(args, net)
    P = layer_preimage(W, b, y, domain=domain, activation=activation)
    empty = P.is_empty()
    point = None if empty else P.polyhedron.relative_interior_point()
    reproduces = None
    if point is not None:
        reproduces = float(np.abs(_apply_activation(W, b, point, activation) - y).max(initial=0.0))
    out = {
        "layer": what,
        "form": P.form,
        "note": P.note,
        "positive_outputs": int(P.positive.sum()),
        "zero_outputs": int(P.zero.sum()),
        "domain": "none" if domain is None else (domain if isinstance(domain, str) else "polyhedron"),
        "empty": empty,
        "dim": -1 if empty else P.dim,
        "interior_point": point,
        "max_abs_activity_error_at_point": reproduces,
        "contains_given_input": None if h is None else bool(P.contains(h)),
        "saved": _save(P.polyhedron, args.out),
    }
    if args.json:
        _emit_json(out)
        return 0
    con = _console()
    con.print(f"[bold]Preimage[/bold] through {what}: {out['positive_outputs']} positive, "
              f"{out['zero_outputs']} zero outputs; domain {out['domain']}")
    con.print(f"  {P.note}")
    if empty:
        con.print("  the preimage is [bold]empty[/bold]")
    else:
        con.print(f"  dimension {out['dim']}; a relative-interior point reproduces y to {reproduces:.2e}")
        if h is not None:
            con.print(f"  the given input lies inside: {out['contains_given_input']}")
    if args.out:
        con.print(f"  saved to {args.out}")
    return 0


# -- engine commands --------------------------------------------------------------------------------
class _Progress:
    """A rich progress display fed by the engine's progress callback."""

    def __init__(self, quiet: bool, what: str) -> None:
        self.quiet = quiet
        self.what = what
        self.prog = None
        self.task = None

    def __enter__(self):
        if not self.quiet and sys.stderr.isatty() or (not self.quiet and _force_progress()):
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.prog = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"),
                                 TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                                 console=Console(stderr=True), transient=True)
            self.prog.__enter__()
            self.task = self.prog.add_task(self.what, info="starting", total=None)
        return self

    def __call__(self, stats) -> None:
        if self.prog is not None:
            rate = stats.nodes / stats.seconds if stats.seconds > 0 else 0.0
            self.prog.update(self.task, info=f"{stats.pieces} pieces, {stats.nodes} nodes, {rate:,.0f} nodes/s")

    def __exit__(self, *exc):
        if self.prog is not None:
            self.prog.__exit__(*exc)
        return False


def _force_progress() -> bool:
    import os

    return os.environ.get("PREIMAGE_PROGRESS") == "1"


def _domain_from_args(args, net, x=None):
    from .polyhedra import Box
    from .polyhedra.io import load_geometry

    if getattr(args, "domain", None):
        path = args.domain
        if str(path).endswith(".vnnlib"):
            from .specs import load_vnnlib

            spec = load_vnnlib(path)
            return [c.domain for c in spec.cases] if len(spec.cases) > 1 else spec.cases[0].domain
        return load_geometry(path)
    if getattr(args, "box", None):
        parts = args.box.split(":") if ":" in args.box else args.box.split(",")
        if len(parts) != 2:
            raise InvalidInputError(f"--box must be LO,HI (numbers or .npy files), got {args.box!r}")
        lo = _parse_vector(parts[0], "--box LO")
        hi = _parse_vector(parts[1], "--box HI")
        n = net.input_dim
        lo = np.full(n, lo[0]) if lo.size == 1 else lo
        hi = np.full(n, hi[0]) if hi.size == 1 else hi
        return Box(lo, hi)
    if x is not None:  # activity preimages: the box x ± radius (default 1)
        radius = DEFAULT_ACTIVITY_RADIUS if getattr(args, "radius", None) is None else args.radius
        if not radius > 0:
            raise InvalidInputError(f"--radius must be positive, got {radius}")
        return Box(x - radius, x + radius)
    raise InvalidInputError("give a bounded domain: --box LO,HI, --domain FILE (.npz/.json/.vnnlib)"
                            + (" or --radius R around the input" if x is not None else ""))


def _engine_kwargs(args) -> dict:
    checkpoint = args.checkpoint or None
    if checkpoint is None and not getattr(args, "out", None):
        # a stopped run's checkpoint must outlive this process (the library's own temporary
        # checkpoints live only as long as their result): name one, written only on a stop
        import tempfile
        import uuid

        checkpoint = str(Path(tempfile.gettempdir()) / f"preimage-{args.command}-{uuid.uuid4().hex[:10]}.checkpoint")
    kw = {"time_limit": args.timeout, "workers": args.workers, "checkpoint": checkpoint}
    if args.scheduler:
        kw["scheduler"] = args.scheduler
    return kw


def _summary_stats(stats) -> dict:
    return stats.as_dict()


def _stop_code(stopped_by: str | None) -> int:
    """The exit code of a run that stopped with ``stopped_by`` (``None``: complete)."""
    if stopped_by is None:
        return EXIT_OK
    return EXIT_INTERRUPTED if stopped_by == "interrupt" else EXIT_BUDGET


def _resume_hint(path: str | None) -> None:
    if path:
        sys.stderr.write(f"checkpoint saved; continue with: preimage resume {path}\n")


def cmd_reach(args) -> int:
    from .engine.api import verify
    from .specs import load_vnnlib

    net = _load_network(args.model)
    spec = load_vnnlib(args.spec)
    with _Progress(args.quiet or args.json, "reach") as prog:
        v = verify(net, spec, progress=prog, **_engine_kwargs(args))
    return _report_verdict(args, v)


def _report_verdict(args, v) -> int:
    out = {"status": v.status, "counterexample": None if v.counterexample is None else v.counterexample.tolist(),
           "time_s": round(v.stats.seconds, 6), "pieces": v.stats.pieces, "nodes": v.stats.nodes,
           "lps": v.stats.lps, "output": None if v.output is None else v.output.tolist(), "reason": v.reason,
           "stopped_by": v.stopped_by, "checkpoint": v.frontier_path}
    _resume_hint(v.frontier_path)
    if args.json:
        _emit_json(out)
        return _stop_code(v.stopped_by)
    con = _console()
    con.print(f"[bold]{v.status}[/bold]  ({v.stats.seconds:.2f} s, {v.stats.nodes} nodes, {v.stats.pieces} pieces)")
    if v.counterexample is not None:
        con.print(f"  counterexample x = {np.array2string(v.counterexample, precision=8)}")
        con.print(f"  output f(x)     = {np.array2string(v.output, precision=6)}")
    if v.reason:
        con.print(f"  {v.reason}")
    return _stop_code(v.stopped_by)


def _report_result(args, res, what: str) -> int:
    out = {"pieces": len(res.set), "complete": res.complete, "stopped_by": res.stopped_by,
           "layer": res.layer, "stats": _summary_stats(res.stats), "saved": args.out,
           "checkpoint": res.frontier_path,
           "dims": sorted({int(p.polyhedron.dim) for p in res.set}) if getattr(args, "dims", False) else None}
    _resume_hint(res.frontier_path)
    if args.json:
        _emit_json(out)
        return _stop_code(res.stopped_by)
    con = _console()
    state = "complete" if res.complete else f"[bold red]incomplete[/bold red] (stopped by {res.stopped_by})"
    con.print(f"[bold]{what}[/bold]: {len(res.set)} pieces, {state}, {res.stats.seconds:.2f} s, "
              f"{res.stats.nodes} nodes, {res.stats.lps} LPs")
    if args.out:
        con.print(f"  saved to {args.out}")
    return _stop_code(res.stopped_by)


def cmd_activity(args) -> int:
    from .engine.api import preimage
    from .engine.targets import Activity

    net = _load_network(args.model)
    x = _parse_input(args.input, net.input_dim, net.input_shape)
    net._check_layer(args.layer, allow_input=False)
    y = net.activations(x, layer=args.layer)
    domain = _domain_from_args(args, net, x)
    _check_input_in_domain(args, x, domain)
    with _Progress(args.quiet or args.json, "activity preimage") as prog:
        res = preimage(net, Activity(y), layer=args.layer, domain=domain, progress=prog, out=args.out, near=x,
                       max_pieces=args.max_pieces, **_engine_kwargs(args))
    if not res.set.contains(x):
        log.error("the input is not inside its own activity preimage")
    return _report_result(args, res, f"preimage of the layer-{args.layer} activity")


def _check_input_in_domain(args, x: np.ndarray, domain) -> None:
    """``preimage activity``: the input must lie in the domain, else its own activity preimage
    (intersected with the domain) cannot contain it; said before any work is done."""
    doms = domain if isinstance(domain, (list, tuple)) else [domain]
    if any(bool(d.contains(x)) for d in doms if hasattr(d, "contains")):
        return
    if getattr(args, "domain", None):
        given = f"--domain {args.domain}"
    elif getattr(args, "box", None):
        given = f"--box {args.box}"
    else:  # pragma: no cover - the box x ± radius always contains x
        given = "the domain"
    raise InvalidInputError(
        f"--input lies outside the domain ({given}): give a --box or --domain that contains it, "
        f"or leave both out for the box x ± --radius (default {DEFAULT_ACTIVITY_RADIUS:g})"
    )


def cmd_regions(args) -> int:
    from .engine.api import linear_regions
    from .engine.domain import Slice

    net = _load_network(args.model)
    if args.through:
        pts = np.load(args.through) if args.through.endswith(".npy") else np.loadtxt(args.through, delimiter=",")
        domain = Slice.through(np.asarray(pts, dtype=np.float64).reshape(-1, net.input_dim))
    else:
        domain = _domain_from_args(args, net)
    with _Progress(args.quiet or args.json, "linear regions") as prog:
        res = linear_regions(net, domain, progress=prog, out=args.out, max_pieces=args.max_pieces,
                             **_engine_kwargs(args))
    return _report_result(args, res, "linear regions")


def cmd_resume(args) -> int:
    from .engine.api import resume
    from .engine.result import Verdict

    with _Progress(args.quiet or args.json, "resume") as prog:
        res = resume(args.result, progress=prog, time_limit=args.timeout, workers=args.workers,
                     scheduler=args.scheduler or None, max_pieces=args.max_pieces)
    if isinstance(res, Verdict):
        return _report_verdict(args, res)
    saved = str(args.result)
    if saved.endswith(".checkpoint"):
        saved = saved[: -len(".checkpoint")]
    args.out = saved if Path(saved).suffix in (".npz", ".json") and Path(saved).exists() else None
    return _report_result(args, res, "resumed run")


# -- parser -----------------------------------------------------------------------------------------
_MODEL_HELP = "ONNX model (.onnx) or saved network (.npz)"


def _layer_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", nargs="?", help=_MODEL_HELP + " (or give --weights)")
    p.add_argument("--layer", type=int, default=1, help="affine layer K (1 = first; default 1)")
    p.add_argument("--weights", help="a W.npy instead of a model")
    p.add_argument("--bias", help="a b.npy to go with --weights")
    p.add_argument("--activity", help="activity y: comma-separated numbers or a .npy file")
    p.add_argument("--input", help="a network input (comma-separated or .npy); y is its activity at the layer")
    p.add_argument("--out", type=_writable_file("--out"), help="save the result (.npz or .json)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="preimage", description="Exact geometry of ReLU networks.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="layers, shapes and ReLU count of a model")
    p.add_argument("model", help=_MODEL_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("dual-basis", help="dual basis e_i and apex x* of a layer")
    _layer_options(p)
    p.set_defaults(func=cmd_dual_basis)

    p = sub.add_parser("layer-preimage", help="the exact preimage of an activity through one layer")
    _layer_options(p)
    p.add_argument("--domain", choices=["auto", "orthant", "none"], default="auto",
                   help="the layer's input range (auto: the orthant after a ReLU layer, else all of R^n)")
    p.set_defaults(func=cmd_layer_preimage)

    def engine_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--timeout", type=_timeout_seconds("--timeout"), default=None,
                       help="time budget in seconds (default: none)")
        p.add_argument("--workers", type=_positive_int("--workers"), default=1,
                       help="local worker processes (default 1)")
        p.add_argument("--scheduler", default="", help="address of a Dask scheduler to run on")
        p.add_argument("--checkpoint", default="",
                       help="where a stopped run saves its state (default: next to --out, else a temp file)")
        p.add_argument("--quiet", action="store_true", help="no progress display")
        p.add_argument("--json", action="store_true", help="print one JSON object (the whole of stdout)")

    def domain_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--box", help="domain box LO,HI (numbers or .npy files)")
        p.add_argument("--domain", help="domain file: a saved Box/Polyhedron (.npz/.json) or a .vnnlib (its input set)")
        p.add_argument("--max-pieces", type=_positive_int("--max-pieces"), default=None,
                       help="stop after this many pieces")
        p.add_argument("--out", type=_writable_file("--out"), help="stream the pieces to this .npz result file")
        p.add_argument("--dims", action="store_true", help="report the dimensions of the pieces")

    p = sub.add_parser("reach", help="decide a VNN-LIB property (exact backward reachability)")
    p.add_argument("model", help=_MODEL_HELP)
    p.add_argument("spec", help="a .vnnlib file")
    engine_options(p)
    p.set_defaults(func=cmd_reach)

    p = sub.add_parser("activity", help="the exact preimage of an input's activity at layer K")
    p.add_argument("model", help=_MODEL_HELP)
    p.add_argument("--input", required=True, help="the input x (comma-separated or .npy)")
    p.add_argument("--layer", type=int, required=True, help="layer K (1 = first affine layer)")
    p.add_argument("--radius", type=_positive_float("--radius"), default=None,
                   help=f"domain: the box x ± R (the default domain, with R = {DEFAULT_ACTIVITY_RADIUS:g})")
    domain_options(p)
    engine_options(p)
    p.set_defaults(func=cmd_activity)

    p = sub.add_parser("regions", help="every linear region of the network in a domain or a 2-D/3-D slice")
    p.add_argument("model", help=_MODEL_HELP)
    p.add_argument("--through", help="3 or 4 points (.npy or .csv, one per row): the slice through them")
    domain_options(p)
    engine_options(p)
    p.set_defaults(func=cmd_regions)

    from .conv.cli import register as register_cones

    register_cones(sub)

    from .plotting.cli import register as register_figures

    register_figures(sub)
    from .plotting.explore_cli import register as register_explore

    register_explore(sub)

    from .analysis.cli import register as register_analysis

    register_analysis(sub)

    p = sub.add_parser("resume", help="continue an interrupted run from its result file or checkpoint")
    p.add_argument("result", help="the checkpoint of a stopped run, or its --out result file")
    p.add_argument("--max-pieces", type=_positive_int("--max-pieces"), default=None,
                   help="stop once the result holds this many pieces (those found before included)")
    engine_options(p)
    p.set_defaults(func=cmd_resume)
    return parser


def _sigterm_as_interrupt(signum, frame) -> None:  # noqa: ARG001 - the signal API
    raise KeyboardInterrupt("SIGTERM")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see ``EXIT_*``).

    While the engine works it handles SIGINT and SIGTERM itself (the run stops at the next
    node, saves its checkpoint and result, and the command exits with ``EXIT_INTERRUPTED``);
    outside a run both end the command with the same code.
    """
    import signal
    import threading

    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    func: Callable[[argparse.Namespace], int] = args.func
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        return func(args)
    except PreimageError as exc:
        sys.stderr.write(f"preimage {args.command}: error: {exc}\n")
        result = getattr(exc, "result", None)  # e.g. every Dask worker lost: what was found is saved
        _resume_hint(getattr(result, "frontier_path", None))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write(f"preimage {args.command}: interrupted\n")
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
