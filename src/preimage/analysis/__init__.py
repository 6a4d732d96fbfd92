"""Analyses of trained networks on a real data set (paper 002 §4 and its conclusion).

* :mod:`~preimage.analysis.mixing` — do the preimages of different classes mix? Per layer:
  examples of different classes with identical activity (irreversibly mixed), the dimension
  of each example's *local preimage* (the piece of the preimage that contains it) and its
  distance to the nearest example of another class;
* :mod:`~preimage.analysis.exact_mixing` — the same question measured exactly: the distance
  from an example to the *whole* preimage of another example's activity, per layer
  (:func:`preimage.nearest`), for neighbouring pairs of different and of equal classes;
* :mod:`~preimage.analysis.natural` — exact-constrained "natural" preimages: the input that
  reproduces a layer's activity exactly and minimises a convex regulariser, compared with
  gradient-based inversion in the style of Mahendran & Vedaldi;
* :mod:`~preimage.analysis.regions` — the number of linear regions in random 2-D slices
  through data points, per layer and architecture.

Data come as ``(X, y)`` arrays; :func:`load_data` gives the digits split used to train the
shipped models (``examples/train_digits.py``) or reads an ``.npz`` with arrays ``X`` and ``y``.

Examples
--------
>>> import numpy as np, preimage
>>> from preimage.analysis import check_data
>>> net = preimage.Network.from_arrays([(np.eye(2), np.zeros(2), True)])
>>> X, y = check_data(net, [[0.0, 1.0], [0.5, 0.5]], [0, 1])
>>> X.shape, y.tolist()
((2, 2), [0, 1])
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import describe
from ..errors import InvalidInputError

__all__ = [
    "load_data",
    "check_data",
    "check_index",
    "unit_box",
    "image_shape",
    # mixing
    "local_preimage",
    "class_mixing",
    "MixingReport",
    "LayerMixing",
    "plot_mixing",
    # exact mixing
    "exact_class_mixing",
    "ExactMixingReport",
    "pair_distance",
    "plot_exact_mixing",
    # natural preimages
    "REGULARISERS",
    "natural_preimage",
    "NaturalPreimage",
    "gradient_inversion",
    "GradientInversion",
    "compare_inversions",
    "InversionComparison",
    "plot_inversions",
    "regulariser_value",
    # regions
    "region_counts",
    "RegionStats",
    "slice_regions",
    "count_by_layer",
    "truncate",
    "silence_dead_neurons",
    "plot_slice_regions",
]

_LAZY = {
    "local_preimage": "preimage.analysis.mixing",
    "class_mixing": "preimage.analysis.mixing",
    "MixingReport": "preimage.analysis.mixing",
    "LayerMixing": "preimage.analysis.mixing",
    "plot_mixing": "preimage.analysis.mixing",
    "exact_class_mixing": "preimage.analysis.exact_mixing",
    "ExactMixingReport": "preimage.analysis.exact_mixing",
    "pair_distance": "preimage.analysis.exact_mixing",
    "plot_exact_mixing": "preimage.analysis.exact_mixing",
    "REGULARISERS": "preimage.analysis.natural",
    "natural_preimage": "preimage.analysis.natural",
    "NaturalPreimage": "preimage.analysis.natural",
    "gradient_inversion": "preimage.analysis.natural",
    "GradientInversion": "preimage.analysis.natural",
    "compare_inversions": "preimage.analysis.natural",
    "InversionComparison": "preimage.analysis.natural",
    "plot_inversions": "preimage.analysis.natural",
    "regulariser_value": "preimage.analysis.natural",
    "region_counts": "preimage.analysis.regions",
    "RegionStats": "preimage.analysis.regions",
    "slice_regions": "preimage.analysis.regions",
    "count_by_layer": "preimage.analysis.regions",
    "truncate": "preimage.analysis.regions",
    "silence_dead_neurons": "preimage.analysis.regions",
    "plot_slice_regions": "preimage.analysis.regions",
}

#: Names accepted by :func:`load_data` besides a path to an ``.npz`` file.
DATASETS = ("digits",)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'preimage.analysis' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


# -- data ------------------------------------------------------------------------------------------
def _digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The split of ``examples/train_digits.py``: ``(X_train, X_test, y_train, y_test)``.

    scikit-learn's bundled digits (nothing is downloaded), pixels divided by 16 (in [0, 1]),
    ``train_test_split(test_size=0.25, random_state=0, stratify=y)`` on the indices.
    """
    from .._optional import require

    load_digits = require("sklearn.datasets", "the digits data set").load_digits
    train_test_split = require("sklearn.model_selection", "the digits data set").train_test_split
    d = load_digits()
    X = np.asarray(d.data, dtype=np.float64) / 16.0
    y = np.asarray(d.target, dtype=np.int64)
    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=0.25, random_state=0, stratify=y)
    return X[idx_train], X[idx_test], y[idx_train], y[idx_test]


def load_data(data: str | Path = "digits", split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """A labelled data set ``(X, y)``: ``X`` float64 ``(n, d)``, ``y`` int64 ``(n,)``.

    Parameters
    ----------
    data : ``"digits"`` (scikit-learn's 8×8 digits, pixels in [0, 1], split exactly as the
        shipped digits models were trained) or the path of an ``.npz`` file holding arrays
        ``X`` (one example per row, any trailing shape is flattened) and ``y``.
    split : ``"test"`` (450 images), ``"train"`` (1347) or ``"all"``; ignored for files.
    """
    if split not in ("test", "train", "all"):
        raise InvalidInputError(f"split must be 'test', 'train' or 'all', got {split!r}")
    if str(data) == "digits":
        X_train, X_test, y_train, y_test = _digits_split()
        if split == "test":
            return X_test, y_test
        if split == "train":
            return X_train, y_train
        return np.vstack([X_train, X_test]), np.concatenate([y_train, y_test])
    path = Path(data)
    if path.suffix != ".npz" or not path.exists():
        raise InvalidInputError(
            f"data must be one of {list(DATASETS)} or an existing .npz file with arrays X and y, got {str(data)!r}"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            X, y = np.asarray(z["X"], dtype=np.float64), np.asarray(z["y"])
    except (KeyError, OSError, ValueError) as exc:
        raise InvalidInputError(f"{str(path)!r} must be an .npz file with arrays 'X' and 'y': {exc}") from exc
    return X.reshape(X.shape[0], -1), y


def check_data(net, X, y=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Check a data set against a network: ``X`` becomes float64 ``(n, input_dim)``.

    Raises :class:`~preimage.InvalidInputError` when the width of the examples is not the
    network's input width, when ``X`` holds NaN/inf, or when ``y`` does not give one integer
    label per example.
    """
    try:
        arr = np.array(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"X must be an array of examples, got {describe(X)}") from exc
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim > 2:
        arr = arr.reshape(arr.shape[0], -1)
    if arr.shape[1] != net.input_dim:
        raise InvalidInputError(
            f"the data have examples of width {arr.shape[1]}, but the model takes inputs of width "
            f"{net.input_dim} (input shape {tuple(net.input_shape)}): use data made for this model"
        )
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError("X must be finite, but it contains NaN or infinite values")
    labels = None
    if y is not None:
        lab = np.asarray(y)
        if lab.ndim != 1 or lab.shape[0] != arr.shape[0]:
            raise InvalidInputError(f"y must give one label per example ({arr.shape[0]}), got {describe(lab)}")
        if lab.size and not (np.issubdtype(lab.dtype, np.integer) or np.all(lab == np.round(lab))):
            raise InvalidInputError("y must hold integer class labels")
        labels = lab.astype(np.int64)
    return arr, labels


def check_index(index, n: int, what: str = "index") -> int:
    """``index`` as an int in ``[0, n)``, else :class:`~preimage.InvalidInputError`."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= int(index) < n:
        raise InvalidInputError(
            f"{what} must be an integer between 0 and {n - 1} (the data have {n} examples), got {index!r}"
        )
    return int(index)


def unit_box(n: int):
    """The box ``[0, 1]^n`` — the pixel range of the digits data, the default domain here."""
    from ..polyhedra import Box

    return Box(np.zeros(n), np.ones(n))


def image_shape(net, shape=None) -> tuple[int, int, int]:
    """``(channels, height, width)`` of the network's input seen as an image.

    From ``shape`` if given, else the network's own input shape (``(c, h, w)`` or ``(h, w)``),
    else a square single-channel image when the input width is a perfect square.
    """
    n = net.input_dim
    cand = tuple(int(v) for v in (shape if shape is not None else net.input_shape))
    if len(cand) == 2:
        cand = (1, *cand)
    if len(cand) == 1:
        side = int(round(np.sqrt(cand[0])))
        if side * side != cand[0]:
            raise InvalidInputError(
                f"cannot see inputs of width {n} as an image: give image_shape=(channels, height, width)"
            )
        cand = (1, side, side)
    if len(cand) != 3 or int(np.prod(cand)) != n or min(cand) < 1:
        raise InvalidInputError(f"image_shape must be (channels, height, width) with {n} entries in all, got {shape!r}")
    return cand  # type: ignore[return-value]


if TYPE_CHECKING:  # pragma: no cover
    from .exact_mixing import ExactMixingReport, exact_class_mixing, pair_distance, plot_exact_mixing
    from .mixing import LayerMixing, MixingReport, class_mixing, local_preimage, plot_mixing
    from .natural import (
        REGULARISERS,
        GradientInversion,
        InversionComparison,
        NaturalPreimage,
        compare_inversions,
        gradient_inversion,
        natural_preimage,
        plot_inversions,
        regulariser_value,
    )
    from .regions import (
        RegionStats,
        count_by_layer,
        plot_slice_regions,
        region_counts,
        silence_dead_neurons,
        slice_regions,
        truncate,
    )
