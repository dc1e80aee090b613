"""Which installed libraries a submission imports, read from its source without running it.

A process that forks fold processes (the local fork server, the container's
supervisor) imports them once, so that no fold pays for them. Standard library only:
this runs inside the scoring image too.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path


def library_imports(files: list[Path]) -> list[str]:
    """Modules that these Python files import at top level and that are installed
    outside the submission (its own helper modules are left out)."""
    own = {f.stem for f in files}
    names: list[str] = []
    for f in files:
        try:
            tree = ast.parse(f.read_text())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.append(node.module)
    found = []
    for name in dict.fromkeys(names):
        if name.split(".")[0] in own:
            continue
        try:
            if importlib.util.find_spec(name.split(".")[0]) is not None:
                found.append(name)
        except (ImportError, ValueError):
            pass
    return found


# Libraries a container's supervisor may import before it knows its submission, while the
# runner is still busy with the one before (scorer/backends/docker_warm.py). It takes a
# group when the submission scored before it imported that package: a runner's queue
# tends to use the same libraries, and a group nobody uses costs its import (about 1.5 s
# of CPU for scikit-learn) for nothing. A fixed list: what one submission imports only
# picks among these for the next container, it never names code to run there.
AHEAD = {
    "sklearn": ("sklearn.ensemble", "sklearn.linear_model", "sklearn.pipeline",
                "sklearn.preprocessing"),
    "scipy": ("scipy.stats",),
}


def ahead_groups(imports: list[str]) -> list[str]:
    """The groups of AHEAD that these imports (from `library_imports`) use."""
    used = {name.split(".")[0] for name in imports}
    return [group for group in AHEAD if group in used]


def import_ahead(groups: list[str]) -> None:
    """Import the modules of these AHEAD groups; a name that is not a group is ignored."""
    import_libraries([m for g in groups for m in AHEAD.get(g, ())])


def import_libraries(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # a library that fails here fails again, with a traceback, in the fold
            pass
