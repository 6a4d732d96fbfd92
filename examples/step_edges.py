"""Paper 002 §3 on trained CNNs: step edges at negative-response locations keep the layer-1 activity.

Run with ``python examples/step_edges.py`` (about 20 s). For every test input of the two shipped
CNNs it builds the step edges of :func:`preimage.conv.step_edge_members` and checks, exactly,
that the input plus its step edges lies in the layer-1 preimage of the input's activity — by the
library (``preimage.layer_preimage(...).contains``) and by an independent forward pass (PyTorch
``conv1d``/``conv2d`` in float64 from the ``.pt`` weights). It writes, under ``--out`` (default
``docs/gallery``):

- ``step_edges_mnist1d.png`` — MNIST-1D test signals, the same signals with step edges overlaid,
  and their identical layer-1 activities (the 1-D CNN of ``examples/train_mnist1d.py``);
- ``step_edges_digits.png`` — digits test images, where each of the first layer's four kernels
  responds negatively, and how many positive units cover each pixel (never zero: no step edge);
- ``step_edges.json`` — the measured figures quoted in ``docs/step_edges.md``.

The script exits with status 1 if any check fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "examples" / "models"
FRACTION, MAX_HEIGHT = 0.9, 2.0   # step heights: 90% of the admissible one, at most 2 (signals have std 1)
TOL64 = 1e-9
SHOWN_SIGNALS = 3
SHOWN_DIGITS = 3


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _torch_layer1(path: Path, X: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """relu(conv(x)) of the first layer, by PyTorch in float64 from the ``.pt`` state dict."""
    import torch
    import torch.nn.functional as F

    sd = torch.load(path, weights_only=True)
    w, b = sd["0.weight"].double(), sd["0.bias"].double()
    x = torch.tensor(np.array(X), dtype=torch.float64).reshape((-1, *shape))
    with torch.no_grad():
        z = F.conv1d(x, w, b) if len(shape) == 2 else F.conv2d(x, w, b, padding=w.shape[-1] // 2)
    return torch.relu(z).reshape(len(X), -1).numpy()


def measure(net, X, pt: Path, shape) -> tuple[list, dict]:
    """Step edges for every input, checked by PyTorch float64 and by the library."""
    import preimage
    from preimage.conv import step_edge_members

    lay = net.layers[0]
    t0 = time.perf_counter()
    res = [step_edge_members(net, x, fraction=FRACTION, max_height=MAX_HEIGHT) for x in X]
    seconds = time.perf_counter() - t0
    worst_torch, in_library = 0.0, 0
    for x, s in zip(X, res, strict=True):
        members = s.partial_members()
        A = _torch_layer1(pt, np.vstack([x[None], members]), shape)
        worst_torch = max(worst_torch, float(np.abs(A[1:] - A[0]).max()))
        P = preimage.layer_preimage(lay.dense_weight, lay.bias, net.activations(x, 1), domain=None)
        in_library += bool(P.contains(members).all())
    with_steps = [s for s in res if len(s.regions)]
    stats = {
        "inputs": len(X),
        "units": int(res[0].activity.shape[0]),
        "input_dim": int(res[0].x.shape[0]),
        "positive_units_mean": float(np.mean([s.positive.sum() for s in res])),
        "positive_units_min": int(min(s.positive.sum() for s in res)),
        "null_dimension_mean": float(np.mean([s.null_dimension for s in res])),
        "null_dimension_max": int(max(s.null_dimension for s in res)),
        "inputs_with_free_pixels": int(sum(s.free.any() for s in res)),
        "inputs_with_step_edges": len(with_steps),
        "free_pixels_mean": float(np.mean([s.free.sum() for s in res])),
        "step_edges_total": int(sum(len(s.regions) for s in res)),
        "blocked_regions_total": int(sum(s.blocked for s in res)),
        "abs_height_median": float(np.median(np.abs(np.concatenate([s.heights for s in with_steps]))))
        if with_steps else 0.0,
        "max_abs_activity_change_torch_float64": worst_torch,
        "inputs_all_members_in_library_preimage": in_library,
        "seconds_step_edge_members": round(seconds, 3),
    }
    return res, stats


def figure_mnist1d(X, y, res, net, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = sorted(range(len(res)), key=lambda i: -float(np.abs(res[i].vector).sum()))
    shown, seen = [], set()
    for i in order:  # the signals with the most step area, of different classes
        if int(y[i]) not in seen:
            shown.append(i)
            seen.add(int(y[i]))
        if len(shown) == SHOWN_SIGNALS:
            break
    fig, axes = plt.subplots(3, len(shown), figsize=(5.0 * len(shown), 8.6), sharex=True,
                             gridspec_kw={"height_ratios": [3, 2, 2]})
    t = np.arange(40)
    lay = net.layers[0]
    for col, i in enumerate(shown):
        s = res[i]
        ax = axes[0, col]
        for S in s.regions:
            ax.axvspan(S.min() - 0.5, S.max() + 0.5, color="0.88", lw=0)
        ax.plot(t, s.x, color="k", lw=1.6, label="test signal x")
        ax.plot(t, s.member, color="tab:orange", lw=1.6, ls="--", label="x + step edges")
        ax.set_title(f"test signal {i} (class {int(y[i])}): {len(s.regions)} step edge"
                     f"{'s' if len(s.regions) != 1 else ''}, heights "
                     + ", ".join(f"{h:+.2f}" for h in s.heights[:4]) + (" …" if len(s.heights) > 4 else ""),
                     fontsize=9)
        if col == 0:
            ax.set_ylabel("input value")
            ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
        L = s.activity.shape[0] // 2
        centre = np.arange(L) + 2  # unit t sees samples t … t + 4
        z, zm = lay.dense_weight @ s.x + lay.bias, lay.dense_weight @ s.member + lay.bias
        a, am = net.activations(s.x, 1), net.activations(s.member, 1)
        ax = axes[1, col]
        ax.axhline(0.0, color="0.5", lw=0.8)
        for c, colr in enumerate(("tab:blue", "tab:green")):
            ax.plot(centre, z[c * L:(c + 1) * L], color=colr, lw=1.4, label=f"channel {c}: w·x + b")
            ax.plot(centre, zm[c * L:(c + 1) * L], color=colr, lw=1.4, ls="--",
                    label=f"channel {c}: w·(x + steps) + b")
        ax.text(0.99, 0.04, f"deleted units: max w·(x+steps)+b = {zm[s.deleted].max():.2f} ≤ 0",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5})
        ax = axes[2, col]
        for c, colr in enumerate(("tab:blue", "tab:green")):
            ax.plot(centre, a[c * L:(c + 1) * L], color=colr, lw=1.6, label=f"channel {c}: a(x)")
            ax.plot(centre, am[c * L:(c + 1) * L], ls="none", marker="o", ms=3.5, mfc="none", color=colr,
                    label=f"channel {c}: a(x + steps)")
        ax.set_xlabel("position (unit placed at the centre of its 5 samples)")
        ax.text(0.99, 0.95, f"max |a(x+steps) − a(x)| = {np.abs(am - a).max():.1g}", transform=ax.transAxes,
                ha="right", va="top", fontsize=8)
        if col == 0:
            axes[1, 0].set_ylabel("pre-activation")
            axes[1, 0].legend(loc="upper left", fontsize=7, framealpha=0.9)
            ax.set_ylabel("layer-1 activity")
            ax.legend(loc="upper left", fontsize=7, framealpha=0.9)
    fig.suptitle("MNIST-1D, first layer Conv1d(1, 2, 5) + ReLU: step edges (grey: samples under deleted "
                 "units only) leave the layer-1 activity unchanged", fontsize=11)
    fig.tight_layout()
    path = out / "step_edges_mnist1d.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def figure_digits(W, y, res, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(SHOWN_DIGITS, 6, figsize=(13.0, 2.35 * SHOWN_DIGITS))
    for row in range(SHOWN_DIGITS):
        s = res[row]
        ax = axes[row, 0]
        ax.imshow(s.x.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"test image {row} (class {int(y[row])})", fontsize=8)
        dele = s.deleted.reshape(4, 8, 8)
        for c in range(4):
            ax = axes[row, 1 + c]
            ax.imshow(dele[c], cmap="Reds", vmin=0, vmax=1.4)
            ax.set_title(f"kernel {c}: {int(dele[c].sum())} of 64 deleted", fontsize=8)
        ax = axes[row, 5]
        counts = np.sum(W[s.positive] != 0, axis=0)  # positive units whose receptive field holds the pixel
        im = ax.imshow(counts.reshape(8, 8), cmap="viridis", vmin=0, vmax=36)
        ax.set_title(f"positive units over each pixel (min {int(counts.min())})\n"
                     f"rank W_J = {64 - s.null_dimension}: P_1(a) = {{x}}", fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.046)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Digits CNN, first layer Conv2d(1, 4, 3, padding 1) + ReLU: deleted units (red) exist, "
                 "but every pixel lies under positive units — no step edge keeps the activity", fontsize=10)
    fig.tight_layout()
    path = out / "step_edges_digits.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "gallery"), help="output folder (default: docs/gallery)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import preimage

    tm, td = _script("train_mnist1d"), _script("train_digits")
    _, X1, _, y1 = tm.load_split()
    res1, st1 = measure(tm.load_network(), X1, MODELS / "mnist1d_cnn.pt", (1, 40))
    _, X2, _, y2 = td.load_split()
    digits_net = preimage.load(str(MODELS / "digits_cnn.onnx"))
    res2, st2 = measure(digits_net, X2, MODELS / "digits_cnn.pt", (1, 8, 8))
    report = {"fraction": FRACTION, "max_height": MAX_HEIGHT,
              "mnist1d_cnn (1000 MNIST-1D test signals)": st1, "digits_cnn (450 digits test images)": st2}
    print(json.dumps(report, indent=1))
    (out / "step_edges.json").write_text(json.dumps(report, indent=1) + "\n")
    W2 = np.asarray(digits_net.layers[0].dense_weight)
    for p in (figure_mnist1d(X1, y1, res1, tm.load_network(), out), figure_digits(W2, y2, res2, out)):
        print(f"wrote {p}")
    ok = True
    for name, st in (("mnist1d", st1), ("digits", st2)):
        if (st["max_abs_activity_change_torch_float64"] > TOL64
                or st["inputs_all_members_in_library_preimage"] != st["inputs"]):
            print(f"FAIL: {name}: a member changed the activity or left the library's preimage", file=sys.stderr)
            ok = False
    if st1["inputs_with_step_edges"] == 0:
        print("FAIL: no MNIST-1D signal has a step edge", file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
