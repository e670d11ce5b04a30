"""Plain tables of named parts (graders, providers, solvers), and how a name becomes a class.

Each table maps a short name to `"module:Class"` and lives in its family's `__init__.py`
(`graders.GRADERS`, `providers.PROVIDERS`, `solvers.SOLVERS`); nothing is scanned at import time, and a
module is imported only when its name is used. Besides table names, a suite or profile may name a part by
where it lives, so a new grader or provider is one file and needs no edit anywhere else:
- `package.module:Class` (importable from the Python path), or
- `path/to/file.py:Class` (relative to the YAML file that names it, else to the current directory).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from evalharness.errors import UserError


def resolve(name: str, table: dict[str, str], *, kind: str, base_dir: Path | None = None) -> Any:
    """The class called `name` in `table`, or at `module:Class` / `file.py:Class`; UserError otherwise."""
    target = table.get(name)
    if target is None and ":" not in name:
        known = ", ".join(sorted(table))
        raise UserError(f"unknown {kind} {name!r}; known {kind}s: {known} (or module:Class, file.py:Class)")
    module_name, _, attr = (target or name).rpartition(":")
    module = _import(module_name, base_dir, kind, name)
    found = getattr(module, attr, None)
    if found is None:
        raise UserError(f"{kind} {name!r}: {module_name} has no {attr!r}")
    return found


def _import(module_name: str, base_dir: Path | None, kind: str, name: str) -> Any:
    if module_name.endswith(".py"):
        path = Path(module_name)
        candidates = [path] if path.is_absolute() else [(base_dir or Path.cwd()) / path, Path.cwd() / path]
        file = next((c for c in candidates if c.is_file()), None)
        if file is None:
            raise UserError(f"{kind} {name!r}: file {module_name} not found (relative to the YAML file or here)")
        key = "evalharness_plugin_" + hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:12]
        if key in sys.modules:
            return sys.modules[key]
        spec = importlib.util.spec_from_file_location(key, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # before exec: dataclasses and pickling look the module up by name
        spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            raise UserError(f"{kind} {name!r}: cannot import module {module_name!r}") from None
        raise
