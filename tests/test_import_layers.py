"""The packages' layers hold (the contracts under [tool.importlinter] in pyproject.toml):
scorer knows nothing above it, challenge knows scorer only, site_generator knows both,
nothing imports the command line, and no package has import cycles between its modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
