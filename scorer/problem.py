"""A kit's optional `problem.py`: organizer code (trusted) that the scorer runs.

Its hooks: `get_train_data(path)` / `get_test_data(path)` (scorer/data.py),
`get_cv(X, y)` (scorer/cv.py) and `score_types` (scorer/score_types.py).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path
from types import ModuleType

from scorer.errors import KitError

PROBLEM_FILE = "problem.py"


def load_problem(kit_path: Path) -> ModuleType | None:
    """Import `problem.py` under a private name; organizer code, run in the scorer.

    Cached per file content, so a kit edited between two loads is seen afresh."""
    file = Path(kit_path) / PROBLEM_FILE
    if not file.is_file():
        return None
    return _import_problem(str(file), file.stat().st_mtime_ns)


@functools.cache
def _import_problem(path: str, _mtime: int) -> ModuleType:
    file = Path(path)
    name = f"_gitramp_problem_{hashlib.sha1(str(file).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        raise KitError(f"{file}: failed to import: {type(e).__name__}: {e}") from e
    return module
