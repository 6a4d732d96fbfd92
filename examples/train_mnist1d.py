"""Train a small single-channel 1-D CNN on MNIST-1D, reproducibly, on the CPU (paper 000's setting).

Run with ``python examples/train_mnist1d.py`` (about 15 s on one CPU core). It writes, under
``--out`` (default ``examples/models/``):

- ``mnist1d_cnn.onnx``, ``mnist1d_cnn.pt`` — Conv1d(1,2,5) → ReLU → Conv1d(2,8,5) → ReLU →
  Flatten → Linear(256, 10) on signals of length 40 (input: one channel of 40 samples). The
  convolutions have no padding and stride 1, so the first layer is two stacked banded Toeplitz
  matrices of paper 002 eq. 9 (``2 · 36 × 40``). With a single channel throughout (Conv1d(1,1,5)
  twice, then the linear classifier) the test accuracy stays at 33-35%; two channels in the
  first layer and eight in the second reach about 76% while keeping the first layer wide enough
  (72 rows on 40 inputs) that most of its units are deleted on a typical signal;
- ``mnist1d_cnn.json`` — architecture, seed, data arguments, train and test accuracies,
  training seconds and the sha256 of both files.

Data: MNIST-1D (Greydanus 2020, package ``mnist1d``), generated locally by
``mnist1d.data.make_dataset()`` with its default arguments (5000 signals of length 40, seed 42,
80/20 split: 4000 training and 1000 test signals, standardised to mean 0 and std 1) — nothing is
downloaded (``get_dataset`` would fetch a pickle; it is not used). :func:`load_split` returns
the split and :func:`load_network` the trained model as a :class:`preimage.Network`, each in
one call::

    import importlib.util
    spec = importlib.util.spec_from_file_location("train_mnist1d", "examples/train_mnist1d.py")
    tm = importlib.util.module_from_spec(spec); spec.loader.exec_module(tm)
    X_train, X_test, y_train, y_test = tm.load_split()   # X: (n, 40) float64
    net = tm.load_network()                                # preimage.load of the ONNX file
    model = tm.load_torch()                                # the nn.Sequential, eval mode

Reproducibility and export follow ``examples/train_digits.py`` (whose helpers this script
reuses): fixed seeds, deterministic torch on one thread, the TorchScript ONNX exporter (opset
17, symbolic batch "N"), the ONNX file checked against PyTorch on the test set with onnxruntime.
The script exits with status 1 if the test accuracy is below :data:`MIN_ACCURACY` or the ONNX
file disagrees with the PyTorch model.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "models"
NAME = "mnist1d_cnn"

SEED = 0
LENGTH = 40
KERNEL = 5
INPUT_SHAPE = (1, LENGTH)
MIN_ACCURACY = 0.7   # ten classes; small CNNs with many channels reach ~94% (Greydanus 2020)
ONNX_TOLERANCE = 1e-4
CONFIG = {"epochs": 100, "lr": 3e-3, "batch_size": 128, "weight_decay": 0.0}
ARCHITECTURE = "Conv1d(1,2,5), ReLU, Conv1d(2,8,5), ReLU, Flatten, Linear(256,10)"


def _train_digits():
    """The helpers of ``examples/train_digits.py`` (training loop, determinism, ONNX export)."""
    spec = importlib.util.spec_from_file_location("train_digits", HERE / "train_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- data -------------------------------------------------------------------------------------------
def load_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST-1D generated locally with ``make_dataset()``'s defaults: ``(X_train, X_test, y_train, y_test)``.

    X arrays are float64 of shape (n, 40), y arrays int64 labels 0..9; 4000 train, 1000 test.
    """
    from mnist1d.data import make_dataset

    d = make_dataset()
    return (np.asarray(d["x"], dtype=np.float64), np.asarray(d["x_test"], dtype=np.float64),
            np.asarray(d["y"], dtype=np.int64), np.asarray(d["y_test"], dtype=np.int64))


# -- model ------------------------------------------------------------------------------------------
def build_cnn():
    """Conv1d(1,2,5), ReLU, Conv1d(2,8,5), ReLU, Flatten, Linear(256, 10) on (1, 40)."""
    import torch.nn as nn

    after = LENGTH - 2 * (KERNEL - 1)
    return nn.Sequential(nn.Conv1d(1, 2, KERNEL), nn.ReLU(), nn.Conv1d(2, 8, KERNEL), nn.ReLU(),
                         nn.Flatten(), nn.Linear(8 * after, 10))


def load_torch(path: str | Path | None = None):
    """The trained PyTorch model (``build_cnn`` with the ``.pt`` state dict), in eval mode."""
    import torch

    model = build_cnn()
    model.load_state_dict(torch.load(Path(path) if path else DEFAULT_OUT / f"{NAME}.pt", weights_only=True))
    return model.eval()


def load_network(path: str | Path | None = None):
    """The trained model as a :class:`preimage.Network` (``preimage.load`` of the ONNX file)."""
    import preimage

    return preimage.load(str(Path(path) if path else DEFAULT_OUT / f"{NAME}.onnx"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: examples/models)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import mnist1d
    import onnx
    import onnxruntime
    import torch

    td = _train_digits()
    X_train, X_test, y_train, y_test = load_split()
    print(f"MNIST-1D: {len(y_train)} train, {len(y_test)} test signals of length {X_train.shape[1]}")
    td.set_determinism(SEED, threads=1)
    model = build_cnn()
    t0 = time.perf_counter()
    td.train(model, X_train, y_train, INPUT_SHAPE, seed=SEED, **CONFIG)
    seconds = time.perf_counter() - t0
    acc_train = td.accuracy(td.logits(model, X_train, INPUT_SHAPE), y_train)
    test_logits = td.logits(model, X_test, INPUT_SHAPE)
    acc_test = td.accuracy(test_logits, y_test)

    pt_path, onnx_path = out / f"{NAME}.pt", out / f"{NAME}.onnx"
    torch.save(model.state_dict(), pt_path)
    onnx_bytes = td.export_onnx(model, INPUT_SHAPE)
    diff = float(np.abs(td.onnxruntime_logits(onnx_bytes, X_test, INPUT_SHAPE) - test_logits).max())
    onnx_path.write_bytes(onnx_bytes)
    ops = [n.op_type for n in onnx.load_from_string(onnx_bytes).graph.node]
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{ARCHITECTURE}  ({n_params} parameters)")
    print(f"  trained in {seconds:.2f} s ({CONFIG['epochs']} epochs, Adam lr={CONFIG['lr']}, "
          f"batch {CONFIG['batch_size']}, 1 thread)")
    print(f"  accuracy: train {acc_train:.4f}, test {acc_test:.4f}")
    print(f"  ONNX ops {ops}; max |onnxruntime - torch| on the test set = {diff:.2e}")
    meta = {
        "dataset": "MNIST-1D, mnist1d.data.make_dataset() with default arguments (generated locally)",
        "split": {"n_train": int(len(y_train)), "n_test": int(len(y_test)), "length": LENGTH,
                  "make_dataset_seed": 42, "train_split": 0.8},
        "architecture": f"nn.Sequential({ARCHITECTURE})",
        "builder": "build_cnn",
        "parameters": int(n_params),
        "input_shape": list(INPUT_SHAPE),
        "input_layout": "X.reshape(-1, 1, 40), X from load_split()",
        "training": {"optimizer": "Adam", "loss": "cross_entropy", "seed": SEED, "torch_threads": 1, **CONFIG},
        "train_accuracy": acc_train,
        "test_accuracy": acc_test,
        "training_seconds": round(seconds, 3),
        "onnx_ops": ops,
        "onnx_opset": td.OPSET,
        "onnx_max_abs_diff_test": diff,
        "versions": {"torch": torch.__version__, "mnist1d": getattr(mnist1d, "__version__", "0.0.2.post1"),
                     "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
                     "numpy": np.__version__, "python": sys.version.split()[0]},
        "files": {p.name: {"sha256": _sha256(p), "bytes": p.stat().st_size} for p in (onnx_path, pt_path)},
    }
    (out / f"{NAME}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"files written to {out}/")
    ok = True
    if acc_test < MIN_ACCURACY:
        print(f"FAIL: test accuracy {acc_test:.4f} < {MIN_ACCURACY}", file=sys.stderr)
        ok = False
    if not diff < ONNX_TOLERANCE:
        print(f"FAIL: ONNX differs from torch by {diff:.2e}", file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
