"""A copy of the iris kit with small limits, whose submissions are tests/hostile/submissions.

Small limits keep the hostile suite quick on two cores: a runaway submission is
stopped after seconds, a memory bomb at a few hundred megabytes.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from challenge.kit import Kit, load_kit
from tests.conftest import ROOT

IRIS = ROOT / "kits" / "iris"
SUBMISSIONS = Path(__file__).resolve().parent / "submissions"
# timeout: the storm runs 33 containers six at a time on two cores, the first five
# spinning until killed; a label hunter that reads every file of the image (about 10,000)
# behind them needs more than 25 s of wall clock once every fold runs under its own user,
# and on Podman (whose containers cost more to start) a plain submission queued behind
# the spinners took just over 40 s in a full CI run
SMALL_LIMITS = {"timeout": 60, "memory": "400m", "cpus": 1, "pids": 64, "tmpfs": "16m",
                "max_output_bytes": 2_000_000, "log_bytes": 8000}


def small_kit(folder: Path, **limits) -> Kit:
    if not (IRIS / "data" / "train.csv").is_file():
        raise FileNotFoundError("kits/iris/data is missing: run `make data` "
                                "(python -m kits.make_data) first")
    raw = yaml.safe_load((IRIS / "challenge.yml").read_text())
    raw["limits"] = {**SMALL_LIMITS, **limits}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "challenge.yml").write_text(yaml.safe_dump(raw, sort_keys=False))
    (folder / "data").symlink_to(IRIS / "data")
    (folder / "submissions").symlink_to(SUBMISSIONS)
    return load_kit(folder)
