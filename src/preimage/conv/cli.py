"""The ``preimage cones`` subcommand: the cone geometry of circulant (convolutional) layers.

A thin layer over :func:`preimage.conv.cone_geometry`; no geometry lives here.

Usage::

    preimage cones --kernel 1,-0.5,0.2 --size 16 --bias -0.1 --json
    preimage cones --kernel -1,0.5 --size 8                   # a kernel may start with '-'
    preimage cones --kernel "1,0.5;0.25,0" --size 8,8          # a 2-D kernel, rows split by ';'
    preimage cones MODEL.onnx [--max-slices 64] [--json]

With ``--json`` stdout is one JSON object (one line). For a kernel it has the keys of
:meth:`ConeGeometry.to_dict` — among them ``apex`` (list, or ``null`` when the kernel sums to
0), ``angle`` (radians), ``nesting_radius``, ``invertible``, ``symmetry_max_deviation`` and
``kernel_sum``. ``nesting_radius`` is a number, the string ``"inf"`` (zeros are preserved for
every input range) or the string ``"never"`` (``b > 0``). For a model, ``layers`` lists every
convolution layer with one entry per ``(out_channel, in_channel)`` kernel slice, analysed as a
circulant on the layer's input spatial size with the out channel's bias (there, ``apex_value``
replaces the full ``apex`` list). Negative numbers work as values: ``--kernel -1,2 --bias -0.5``.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

import numpy as np

from .._cli_common import emit_json as _emit_json
from .._cli_common import positive_int as _positive_int
from ..errors import AmbiguousGeometryError, InvalidInputError

__all__ = ["register", "run_cones"]

log = logging.getLogger(__name__)


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``cones`` subcommand to an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "cones",
        help="cone geometry of circulant/convolutional layers: apex, angle, nesting radius",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    p.add_argument("model", nargs="?", help="ONNX model (.onnx) or saved network (.npz) with convolution layers")
    p.add_argument("--kernel", help="kernel: comma-separated numbers; 2-D rows separated by ';' (e.g. -1,0.5)")
    p.add_argument("--size", help="signal length d, or h,w for a 2-D kernel")
    p.add_argument("--bias", type=float, default=0.0, help="the uniform bias b (default 0)")
    p.add_argument(
        "--origin", default="0", help="kernel index on the diagonal (default 0; e.g. 1 for a centred 3-tap kernel)"
    )
    p.add_argument("--max-slices", type=_positive_int("--max-slices"), default=64,
                   help="analyse at most this many (out, in) kernel slices per model layer (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the symmetry check's random points")
    p.add_argument("--json", action="store_true", help="print one JSON object (the whole of stdout)")
    p.set_defaults(func=run_cones)
    return p


def _numbers(text: str, name: str) -> list[float]:
    try:
        return [float(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError as exc:
        raise InvalidInputError(f"{name} must be comma-separated numbers, got {text!r}") from exc


def _parse_kernel(text: str) -> np.ndarray:
    rows = [_numbers(r, "--kernel") for r in text.split(";") if r.strip()]
    if not rows or not any(rows):
        raise InvalidInputError(f"--kernel must list at least one number, got {text!r}")
    if len(rows) == 1:
        return np.array(rows[0], dtype=np.float64)
    if len({len(r) for r in rows}) != 1:
        raise InvalidInputError(f"--kernel rows (split by ';') must have equal lengths, got {[len(r) for r in rows]}")
    return np.array(rows, dtype=np.float64)


def _parse_ints(text: str, name: str) -> tuple[int, ...]:
    vals = _numbers(text, name)
    if not vals or any(v != int(v) for v in vals):
        raise InvalidInputError(f"{name} must be one or two integers (e.g. 16 or 8,8), got {text!r}")
    return tuple(int(v) for v in vals)




def _emit(obj: dict) -> None:
    """One strict JSON line: non-finite floats become the strings "inf", "-inf", "nan"."""
    _emit_json(obj, finite=True)


def run_cones(args: argparse.Namespace) -> int:
    """Run ``preimage cones`` (see the module notes); returns the exit status."""
    if args.model and args.kernel:
        raise InvalidInputError("give either a MODEL or --kernel/--size, not both")
    if args.model:
        report = _model_report(args)
        if args.json:
            _emit(report)
        else:
            _print_model(report)
        return 0
    if not args.kernel or not args.size:
        raise InvalidInputError("give --kernel and --size (e.g. --kernel=1,-0.5,0.2 --size 16), or a MODEL")
    from .circulant import circulant
    from .cone import cone_geometry

    kernel = _parse_kernel(args.kernel)
    size = _parse_ints(args.size, "--size")
    origin = _parse_ints(args.origin, "--origin")
    layer = circulant(kernel, size, bias=args.bias, origin=origin if len(origin) > 1 else origin[0])
    info = cone_geometry(layer, seed=args.seed).to_dict()
    if args.json:
        _emit(info)
    else:
        _print_kernel(info)
    return 0


def _slice_report(kernel: np.ndarray, spatial: tuple[int, ...], bias: float, origin: tuple[int, ...],
                  seed: int) -> dict[str, Any]:
    from .circulant import circulant
    from .cone import cone_geometry

    if not np.any(kernel):
        return {"skipped": "zero kernel slice (no hyperplanes)"}
    if any(k > n for k, n in zip(kernel.shape, spatial)):
        return {"skipped": f"kernel extent {kernel.shape} exceeds the spatial size {spatial}"}
    try:
        layer = circulant(kernel, spatial, bias=bias, origin=origin)
        return cone_geometry(layer, seed=seed).to_dict(full_apex=False)
    except AmbiguousGeometryError as exc:
        return {"error": str(exc)}


def _model_report(args: argparse.Namespace) -> dict[str, Any]:
    from ..network import load

    net = load(args.model)
    conv_layers = [(k, lay) for k, lay in enumerate(net.layers, start=1) if lay.conv is not None]
    if not conv_layers:
        raise InvalidInputError(
            f"model {args.model!r} has no convolutional layer (no affine layer is exactly one convolution; "
            f".npz files do not record convolutions)"
        )
    if args.max_slices < 1:
        raise InvalidInputError(f"--max-slices must be at least 1, got {args.max_slices}")
    layers_out = []
    complete = True
    for k, lay in conv_layers:
        info = lay.conv
        assert info is not None
        entry: dict[str, Any] = {"layer": k, "name": lay.name, "in_shape": list(info.in_shape),
                                 "out_shape": list(info.out_shape), "kernel_shape": list(info.kernel.shape)}
        nd = info.spatial_dims
        spatial = tuple(info.in_shape[1:])
        if lay.has_activation and not lay.relu:
            entry["skipped"] = (f"activation {lay.activation!r}: the cone geometry is that of ReLU layers, "
                                f"relu(W x + b)")
        elif nd not in (1, 2):
            entry["skipped"] = f"{nd}-D convolution: circulant layers cover 1-D signals and 2-D images"
        elif any(s != 1 for s in info.stride):
            entry["skipped"] = f"stride {info.stride}: the circulant model assumes stride 1 (no subsampling)"
        else:
            per_channel = np.asarray(lay.bias).reshape(info.out_shape[0], -1)
            c_out, c_in_g = info.kernel.shape[:2]
            entry["square"] = tuple(info.out_shape[1:]) == spatial
            slices = []
            total = c_out * c_in_g
            for oc in range(c_out):
                for ic in range(c_in_g):
                    if len(slices) >= args.max_slices:
                        break
                    group = oc // (c_out // info.groups)
                    kern = _dilate(info.kernel[oc, ic], info.dilation)
                    origin = tuple(min(p[0], n - 1) for p, n in zip(info.padding, kern.shape))
                    row = {"out_channel": oc, "in_channel": group * c_in_g + ic}
                    b_oc = per_channel[oc]
                    if np.any(b_oc != b_oc[0]):
                        row["skipped"] = "the layer's bias is not uniform over the out channel"
                    else:
                        row.update(_slice_report(kern, spatial, float(b_oc[0]), origin, args.seed))
                    slices.append(row)
            entry["slices_total"] = total
            entry["slices_analysed"] = len(slices)
            entry["slices"] = slices
            complete &= len(slices) == total
        layers_out.append(entry)
    return {"model": str(args.model), "complete": complete, "layers": layers_out}


def _dilate(kernel: np.ndarray, dilation: tuple[int, ...]) -> np.ndarray:
    """The kernel with ``dilation − 1`` zeros between taps (the same convolution)."""
    if all(dl == 1 for dl in dilation):
        return np.asarray(kernel, dtype=np.float64)
    shape = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel.shape, dilation))
    out = np.zeros(shape)
    out[tuple(slice(None, None, dl) for dl in dilation)] = kernel
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _print_kernel(info: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"cone of kernel {info['kernel']} on shape {tuple(info['shape'])}, b = {info['bias']:g}")
    table.add_column("quantity")
    table.add_column("value")
    rows = [
        ("kernel sum a", info["kernel_sum"]),
        ("apex −(b/a)·1 (each coordinate)", info["apex_value"]),
        ("apex", info["apex_reason"]),
        ("angle to the identity line", f"{info['angle']:.6g} rad = {info['angle_degrees']:.4g}°"),
        ("invertible", f"{info['invertible']} (min|λ|/max|λ| = {info['smallest_eigenvalue_ratio']:.3g} "
                       f"at frequency {tuple(info['smallest_eigenvalue_frequency'])})"),
        ("cyclic symmetry: max deviation", f"{info['symmetry_max_deviation']:.3g} ({info['symmetry_method']})"),
        ("nesting radius", info["nesting_radius"]),
        ("rotational degrees of freedom", f"{info['rotational_degrees_of_freedom']} of the kernel "
                                          f"(an unrestricted circulant: {info['max_rotational_degrees_of_freedom']})"),
    ]
    for name, value in rows:
        table.add_row(name, _fmt(value))
    Console(highlight=False, soft_wrap=True).print(table)


def _print_model(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(highlight=False, soft_wrap=True)
    for entry in report["layers"]:
        title = (f"layer {entry['layer']} {entry['name']}: kernel {tuple(entry['kernel_shape'])} "
                 f"on {tuple(entry['in_shape'])}")
        if "skipped" in entry:
            con.print(f"{title}: skipped — {entry['skipped']}")
            continue
        table = Table(title=f"{title} ({entry['slices_analysed']} of {entry['slices_total']} slices)")
        for col in ("out", "in", "a", "apex −b/a", "angle (rad)", "invertible", "symmetry dev.", "nesting radius"):
            table.add_column(col)
        for s in entry["slices"]:
            if "skipped" in s or "error" in s:
                table.add_row(str(s["out_channel"]), str(s["in_channel"]), s.get("skipped", s.get("error", ""))[:60],
                              "", "", "", "", "")
                continue
            table.add_row(str(s["out_channel"]), str(s["in_channel"]), _fmt(s["kernel_sum"]), _fmt(s["apex_value"]),
                          _fmt(s["angle"]), str(s["invertible"]), f"{s['symmetry_max_deviation']:.2g}",
                          _fmt(s["nesting_radius"]))
        con.print(table)
    if not report["complete"]:
        con.print("not every kernel slice was analysed (raise --max-slices)")
