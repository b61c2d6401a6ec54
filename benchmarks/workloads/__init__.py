"""The workload registry: every module in this package that defines ``WORKLOADS`` (a list
of ``harness.Workload``) contributes its entries, in module-name order. Adding a workload
is adding an entry to a module here, or a new module; nothing else needs to change.
"""

from __future__ import annotations

import importlib
import pkgutil

from harness import Workload


def load_all() -> dict[str, Workload]:
    found: dict[str, Workload] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for workload in getattr(module, "WORKLOADS", ()):
            if workload.name in found:
                raise ValueError(f"workload {workload.name!r} is defined twice")
            found[workload.name] = workload
    return found
