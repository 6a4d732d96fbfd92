"""Static typing of the public API: a user's script passes ``mypy --strict``, and the lazily
loaded names of each package are written out for type checkers (``__all__`` and the
``if TYPE_CHECKING:`` imports agree with ``_LAZY``)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import preimage

SRC = Path(preimage.__file__).resolve().parent.parent

LAZY_PACKAGES = ["preimage", "preimage.conv", "preimage.plotting"]


def _type_checking_imports(package: str) -> dict[str, str]:
    """Name -> absolute module of the ``from ... import`` statements under ``if TYPE_CHECKING:``."""
    module = importlib.import_module(package)
    tree = ast.parse(Path(module.__file__).read_text())
    found: dict[str, str] = {}
    for node in tree.body:
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            continue
        for stmt in node.body:
            assert isinstance(stmt, ast.ImportFrom), ast.dump(stmt)
            base = package.split(".")
            target = ".".join(base[: len(base) - stmt.level + 1] + ([stmt.module] if stmt.module else []))
            for alias in stmt.names:
                found[alias.asname or alias.name] = target
    return found


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_names_are_written_out_for_type_checkers(package):
    module = importlib.import_module(package)
    lazy = {name: (path if path.startswith("preimage.") else f"{package}.{path}")
            for name, path in module._LAZY.items()}
    # __all__ is a literal list (no ``*_LAZY``) holding every lazy name
    tree = ast.parse(Path(module.__file__).read_text())
    (all_node,) = [n for n in tree.body if isinstance(n, ast.Assign)
                   and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)]
    literal = ast.literal_eval(all_node.value)
    assert literal == module.__all__
    assert set(lazy) <= set(literal)
    assert len(literal) == len(set(literal))
    # ... and each is imported under TYPE_CHECKING from the module _LAZY loads it from
    assert _type_checking_imports(package) == lazy
    for name in module.__all__:
        assert getattr(module, name) is not None


USER_SCRIPT = '''
from __future__ import annotations

from pathlib import Path

import numpy as np

import preimage


def regions_and_preimage() -> int:
    W = np.array([[1.0, -1.0], [1.0, 1.0]])
    net = preimage.Network.from_arrays([(W, np.array([0.0, -0.5]), True)])
    box = preimage.Box([-1.0, -1.0], [1.0, 1.0])
    regions = preimage.linear_regions(net, box)
    pieces: preimage.PolyhedralSet = regions.set
    count = 0
    for piece in pieces:
        print(piece)
        count += 1
    result = preimage.preimage(net, preimage.Activity([0.0, 0.0]), domain=box)
    assert result.complete and regions.complete
    return count + len(result.set)


def verify_model(model: Path, spec: Path) -> str:
    net: preimage.Network = preimage.load(model)
    verdict: preimage.Verdict = preimage.verify(net, preimage.load_vnnlib(spec), time_limit=10.0)
    return verdict.status


if __name__ == "__main__":
    print(regions_and_preimage())
'''


@pytest.mark.slow
def test_user_script_passes_mypy_strict(tmp_path):
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not importable: install the pinned mypy of requirements.lock to run this check")
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(USER_SCRIPT))
    env = dict(os.environ)
    # the package under test, found like an installed one (mypy reads its py.typed marker)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"),
         str(script)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
