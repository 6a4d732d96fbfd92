"""The ``preimage explore`` subcommand: one self-contained interactive HTML page for a result.

A thin layer over :func:`preimage.plotting.explore`; no geometry lives here.

Usage::

    preimage regions net.onnx --box=-2,-2:2,2 --out regions.npz     # (any 2-D or 3-D result file)
    preimage explore regions.npz                                    # writes regions.html
    preimage explore regions.npz --out page.html --json             # one JSON object as the last line

Results in more than 3 dimensions are refused (exit status 2): compute them on a 2-D or
3-D slice (``preimage regions MODEL --through POINTS.npy``) and explore that.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = ["register", "run_explore"]


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``explore`` subcommand to an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "explore",
        help="an interactive HTML page (hover: pattern and affine map; click: neighbours) for a 2-D/3-D result",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    p.add_argument("result", help="a saved result: .npz or .json (e.g. the --out of `preimage regions/activity`)")
    p.add_argument("--out", help="the page to write (default: RESULT with the suffix .html)")
    p.add_argument("--title", help="the page's title (default: from the file name)")
    p.add_argument(
        "--variable", default="x", help="the input variable's name in the affine maps (default x; t suits slices)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.set_defaults(func=run_explore)
    return p


def run_explore(args: argparse.Namespace) -> int:
    """Run ``preimage explore`` (see the module notes); returns the exit status."""
    from .explore import explorer_data, render_page

    out = Path(args.out) if args.out else Path(args.result).with_suffix(".html")
    t0 = time.perf_counter()
    data = explorer_data(args.result, variable=args.variable)
    out.write_text(render_page(data, args.title), encoding="utf-8")
    seconds = time.perf_counter() - t0
    counts = data["meta"]["dim_counts"]
    if args.json:
        sys.stdout.write(json.dumps({"out": str(out), "pieces": len(data["pieces"]), "ambient_dim": data["ambient_dim"],
                                     "dims": counts, "neighbour_pairs": data["pairs"], "seconds": seconds}) + "\n")
    else:
        kinds = ", ".join(f"{v} {k}{'' if v == 1 else 's'}" for k, v in counts.items()) or "no pieces"
        sys.stdout.write(f"{out}: {len(data['pieces'])} pieces in R^{data['ambient_dim']} ({kinds}), "
                         f"{data['pairs']} neighbour pairs, {seconds:.1f} s\n")
    return 0

