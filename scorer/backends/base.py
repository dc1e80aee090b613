"""What every backend (local process, Docker, later a batch scheduler) implements.

A backend runs the ingestion entry point (`python -m scorer.ingest`, see
scorer/ingest.py) on the folds of one submission and hands back the raw files it
wrote, as bytes. It knows processes or containers, never scores: the scorer reads
those bytes strictly (scorer/outputs.py) and computes every score itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from scorer.task import Limits


@dataclass(frozen=True)
class IngestJob:
    workflow: str
    submission_dir: Path  # the submission's files (read-only for the code)
    inputs_dir: Path  # written by scorer.inputs: training data, test features, folds
    n_folds: int
    limits: Limits
    jobs: int = 1  # folds run at once, where the backend can
    requirements_hash: str | None = None  # selects the image, for container backends
    kit_dir: Path | None = None  # the kit's folder, named in "how to build its image"


@dataclass
class IngestOutcome:
    """What came back from running an IngestJob: how it ended, and the raw bytes it
    wrote by file name (read strictly by scorer/outputs.py). No score is in here."""

    status: str  # "ok", or a failure status of scorer.result (error, timeout, oom, ...)
    outputs: dict[str, bytes] = field(default_factory=dict)
    log: str = ""  # captured stdout+stderr, capped
    log_truncated: bool = False
    message: str | None = None  # what the backend itself saw (killed after 900 s, ...;
    # on success, a note for the result: ran on the CPU, no GPU being present)
    image: str | None = None  # image digest, for container backends


FoldCallback = Callable[[int], None]


class Backend(Protocol):
    name: str

    def run(self, job: IngestJob, on_fold_done: FoldCallback | None = None) -> IngestOutcome:
        ...
