"""The ``preimage figures`` subcommand: regenerate every figure of both papers.

A thin layer over :func:`preimage.plotting.figures.generate`; no geometry lives here.

Usage::

    preimage figures --out figs                         # all 8 figures: PNG, SVG, HTML (3-D), captions
    preimage figures --out figs --only paper000_fig4    # one figure (repeat --only, or comma-separate)
    preimage figures --out figs --json                  # stdout: one JSON object (one line)

The exit status is 0 when every figure's numerical checks pass, 1 when a check fails (the files
are written either way), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
import time

from .._cli_common import emit_json as _emit_json
from .._cli_common import positive_float as _positive_float
from .._cli_common import writable_dir as _writable_dir

__all__ = ["register", "run_figures"]


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``figures`` subcommand to an ``argparse`` subparsers object; returns its parser."""
    from .figures import FIGURES

    p = subparsers.add_parser(
        "figures",
        help="regenerate every figure of both papers from computation (PNG, SVG, HTML, captions)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    p.add_argument("--out", required=True, type=_writable_dir("--out"), help="output directory (created if needed)")
    p.add_argument("--only", action="append", default=None, metavar="NAME",
                   help=f"only these figures (repeatable or comma-separated): {', '.join(FIGURES)}")
    p.add_argument("--dpi", type=_positive_float("--dpi"), default=None, help="PNG resolution (default 110)")
    p.add_argument("--formats", default="png,svg,html",
                   help="comma-separated among png, svg, html (default all; HTML for the 3-D figures)")
    p.add_argument("--plotlyjs", choices=["inline", "directory"], default="inline",
                   help="HTML files self-contained (inline, default) or sharing one plotly.min.js (directory)")
    p.add_argument("--json", action="store_true", help="print one JSON object (the whole of stdout)")
    p.set_defaults(func=run_figures)
    return p


def run_figures(args: argparse.Namespace) -> int:
    """Run ``preimage figures`` (see the module notes); returns the exit status."""
    from .figures import generate

    only = None
    if args.only:
        only = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    t0 = time.perf_counter()

    def report(res) -> None:
        if not args.json:
            status = "ok" if res.ok else "CHECK FAILED"
            sys.stdout.write(f"{res.name:15s} {len(res.paths)} files  {res.seconds:5.1f} s  {status}\n")
            for k, v in res.checks.items():
                if not v:
                    sys.stdout.write(f"    FAIL: {k}\n")
            sys.stdout.flush()

    results = generate(args.out, only, dpi=args.dpi, formats=formats, html_js=args.plotlyjs, progress=report)
    seconds = time.perf_counter() - t0
    ok = all(r.ok for r in results)
    if args.json:
        _emit_json({"out": str(args.out), "ok": ok, "seconds": seconds, "figures": [r.to_dict() for r in results]})
    else:
        sys.stdout.write(f"{len(results)} figures in {seconds:.1f} s written to {args.out}"
                         f"{'' if ok else ' (some checks FAILED)'}\n")
    return 0 if ok else 1
