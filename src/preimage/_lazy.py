"""Names of a package that load their module on first use (keeps ``import preimage`` and the
command line's start-up fast: scipy, highspy, onnx, matplotlib load only when needed)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_attributes(package: str, namespace: dict, table: dict[str, str]) -> tuple[Callable[[str], Any],
                                                                                    Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` for ``package``: ``table`` maps a public
    name to the module defining it (absolute, or a submodule name relative to ``package``);
    a loaded name is kept in ``namespace`` (the package's ``globals()``)."""

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        path = module if module.startswith("preimage.") else f"{package}.{module}"
        value = getattr(import_module(path), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
