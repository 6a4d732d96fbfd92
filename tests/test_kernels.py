"""Kernel compilation happens before the clock starts (preimage.engine.kernels)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numba
import pytest

from preimage.engine import kernels

_SCRIPT = r"""
import json
import sys
import numpy as np
import preimage

rng = np.random.default_rng(0)
net = preimage.Network.from_arrays([(rng.standard_normal((12, 2)), rng.standard_normal(12), True),
                                    (rng.standard_normal((8, 12)), rng.standard_normal(8), True),
                                    (rng.standard_normal((1, 8)), np.zeros(1), False)])
box = preimage.Box([-1.0, -1.0], [1.0, 1.0])
regions = preimage.linear_regions(net, box, time_limit=2)              # compiled walk (_walk)
y = float(net.forward(np.zeros((1, 2)))[0, 0])
pre = preimage.preimage(net, preimage.Box([y - 0.5], [y + 0.5]), domain=box, time_limit=2)  # vertex search
print(json.dumps({"regions": [regions.complete, len(regions.set)], "preimage": [pre.complete, len(pre.set)],
                  "missing": preimage.engine.kernels.missing(),
                  "patterns": sorted(p.pattern.astype(int).tolist() for p in list(regions.set) + list(pre.set)),
                  "scipy.linalg": "scipy.linalg" in sys.modules}))
"""


def _run(cache_dir=None, **env_vars) -> subprocess.CompletedProcess:
    env = dict(os.environ, **env_vars)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    return subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
def test_cold_cache_compiles_before_the_clock(tmp_path):
    """With an empty kernel cache, ``time_limit=2`` runs complete (compiling took far longer
    than 2 s, before the clocks started); the compile note is on stderr exactly once, and
    nothing but the result is on stdout. A second process finds the cache warm: no note."""
    cold = _run(tmp_path)
    assert cold.returncode == 0, cold.stderr
    out = json.loads(cold.stdout)  # stdout is the result line alone
    out.pop("scipy.linalg")  # imported when compiling, not when loading (test_fast_loading_...)
    assert out["regions"][0] and out["regions"][1] > 10
    assert out["preimage"][0] and out["preimage"][1] > 0
    assert out["missing"] == []
    assert cold.stderr.count("compiling the engine's numba kernels") == 1, cold.stderr
    assert "compiling" not in cold.stdout
    warm = _run(tmp_path)
    assert warm.returncode == 0, warm.stderr
    assert {k: v for k, v in json.loads(warm.stdout).items() if k != "scipy.linalg"} == out
    assert "compiling" not in warm.stderr, warm.stderr


def test_fast_loading_gives_the_same_results():
    """Kernels loaded without numba's compiler set-up (the default) compute what numba's own
    loading does; scipy.linalg (imported by that set-up) is then not imported at all."""
    kernels.ensure_compiled()  # the default cache is warm for the subprocesses
    fast = _run(PREIMAGE_NUMBA_FAST_LOAD="1")
    plain = _run(PREIMAGE_NUMBA_FAST_LOAD="0")
    assert fast.returncode == 0 and plain.returncode == 0, fast.stderr + plain.stderr
    a, b = json.loads(fast.stdout), json.loads(plain.stdout)
    assert b.pop("scipy.linalg") is True
    assert a.pop("scipy.linalg") is (not numba.__version__.startswith(kernels._FAST_LOAD_NUMBA))
    assert a == b


def test_kernel_list_matches_the_cache():
    """Every kernel named in KERNELS exists, with the signatures the engine calls it with:
    after a small run, no kernel has an overload that KERNELS does not list."""
    import numpy as np
    from numba.types import Literal

    import preimage

    kernels.ensure_compiled()
    rng = np.random.default_rng(1)
    net = preimage.Network.from_arrays([(rng.standard_normal((6, 2)), rng.standard_normal(6), True),
                                        (rng.standard_normal((1, 6)), np.zeros(1), False)])
    box = preimage.Box([-1.0, -1.0], [1.0, 1.0])
    preimage.linear_regions(net, box)
    preimage.preimage(net, preimage.Box([0.0], [1.0]), domain=box)
    assert kernels.missing() == []
    for label, disp, sigs in kernels._dispatchers():
        # overloads for literal arguments come from calls inside other kernels (compiled with them)
        extra = {s for s in set(disp.overloads) - set(sigs) if not any(isinstance(t, Literal) for t in s)}
        assert not extra, f"{label} was compiled for {extra}, not listed in kernels.KERNELS"
