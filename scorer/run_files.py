"""Names of the files a run shares with its container, known to both sides.

The scorer writes each fold's training labels into inputs/FOLD_LABELS (scorer/inputs.py)
and the ingestion reads them (scorer/ingest.py); the ingestion writes predictions,
times and errors into the output folder and the scorer accepts only the names on
OUTPUT_ALLOWLIST (scorer/outputs.py, and the backends that copy the folder out). Kept
free of numerical libraries: a Slurm job's driver, which only stages and copies these
folders, then starts without loading them.
"""

from __future__ import annotations

import re
from pathlib import Path

FOLD_LABELS = "fold_labels"
OUTPUT_ALLOWLIST = re.compile(r"^(fold_\d{1,3}_(train|test)\.npy|fold_\d{1,3}\.json|error\.json)$")


def fold_label_file(folder: Path, fold: int) -> Path:
    return Path(folder) / f"fold_{fold}.npy"
