"""Runs inside the container, before the submission is known: imports the libraries
every submission needs, waits for its start file, then runs scorer.ingest.

A container is prepared (started, this process importing numpy, pandas and
scikit-learn) while the scorer is still busy with the previous submission, so a
submission's run does not pay the second those imports take. The start file is
written by the scorer into a read-only mount; it holds the ingestion's arguments.

    python3 -P /opt/gitramp/scorer/backends/docker_warm.py <group>

It imports nothing of gitramp but scorer.ingest (and what that imports).
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy  # noqa: F401
import pandas  # noqa: F401
import sklearn.ensemble  # noqa: F401
import sklearn.linear_model  # noqa: F401
import sklearn.pipeline  # noqa: F401
import sklearn.preprocessing  # noqa: F401
from threadpoolctl import threadpool_limits

from scorer import ingest

START = "/start"


def main(group: str) -> int:
    path = os.path.join(START, f"go_{group}.json")
    while not os.path.exists(path):
        time.sleep(0.002)
    with open(path) as f:
        order = json.load(f)
    os.environ.update(order["env"])  # for processes the submission starts
    threadpool_limits(int(order["threads"]))  # for the pools already loaded here
    sys.argv = [ingest.__file__, *order["argv"]]
    return ingest.main(order["argv"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
