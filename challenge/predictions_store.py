"""Fold predictions kept for blending, in the private ledger repository, off its branch.

Predictions on hidden rows, and the hidden labels they are scored against, are
computed row by row from hidden data: they are kept in the private ledger repository
only (the one that stays on the runners, `--private-ledger`), never in the public
repository, its refs or anything published. Blending therefore runs where the
private ledger is: on a runner (`gitramp score`/`scan` blend after scoring), or by an
organizer with `gitramp blend --private-ledger`.

Predictions are blobs committed by pygit2 (no work tree) on the orphan ref
`refs/gitramp/predictions` of the private ledger repository (pushed with it, see
`challenge.ledger.SIDE_REFS`). Paths mirror the ledger: the record
`leaderboard_data/<challenge>/<submission>/<tree16>-<hash8>.yml` has its predictions at
`<challenge>/<submission>/<tree16>-<hash8>.npz`: `fold_sizes`, and over the folds in
order, `valid_idx` (the held-out training rows) and `valid_pred` (predictions on
them), concatenated, and `test_pred` (folds stacked). The labels are kept once per
scoring hash in `<challenge>/.labels/<hash8>.npz` (`y_train` and `y_test`, encoded as
the scorer encodes them). Each file is a compressed `.npz` (read with
allow_pickle=False) written byte-for-byte reproducibly, so equal content is one git blob.

A hub scored by an older gitramp kept the validation predictions and `y_train` on a
public `refs/gitramp/predictions`: delete that ref from the public repository
(`git push origin :refs/gitramp/predictions`) and re-score to blend again.

Writes are compare-and-swap updates of the ref (`challenge.ledger.Ledger.update`, the
ledger's own), retried, so concurrent runners never lose each other's predictions.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pygit2

from challenge.errors import GitrampError
from challenge.ledger import LEDGER_ROOT, Ledger, LedgerError, record_stem

REF = "refs/gitramp/predictions"
LABELS_DIR = ".labels"
_KEY = re.compile(r"^[^/]+/[^/]+/[0-9a-f]+-([0-9a-f]+)$")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class StoreError(GitrampError):
    """A predictions store that cannot be read or written."""


class FoldPredictionsLike(Protocol):
    valid_idx: np.ndarray
    valid_pred: np.ndarray
    test_pred: np.ndarray


@dataclass
class StoredPredictions:
    key: str
    valid_idx: list[np.ndarray]
    valid_preds: list[np.ndarray]
    test_preds: list[np.ndarray] | None  # None when none were kept

    @property
    def n_folds(self) -> int:
        return len(self.valid_idx)


@dataclass
class Labels:
    y_train: np.ndarray
    y_test: np.ndarray | None


# ----------------------------------------------------------------- keys
def record_key(challenge: str, submission: str, tree: str, scoring_hash: str) -> str:
    """The key of a ledger record, as the ledger names its file (without `.yml`)."""
    return f"{challenge}/{submission}/{record_stem(tree, scoring_hash)}"


def key_from_ledger_path(path: str | Path) -> str:
    """`leaderboard_data/<challenge>/<name>/<tree16>-<hash8>.yml` -> the store key."""
    parts = Path(path).with_suffix("").parts
    if LEDGER_ROOT in parts:
        parts = parts[parts.index(LEDGER_ROOT) + 1:]
    return "/".join(parts[-3:])


def _check_key(key: str) -> str:
    m = _KEY.match(key)
    if not m:
        raise StoreError(f"predictions key {key!r} is not <challenge>/<submission>/"
                         f"<tree16>-<hash8>; build it with record_key()")
    return m.group(1)


def _labels_path(key: str) -> str:
    return f"{key.split('/')[0]}/{LABELS_DIR}/{_check_key(key)}.npz"


# ----------------------------------------------------------------- writing
def save(private_repo: str | Path, key: str, folds: Sequence[FoldPredictionsLike],
         y_train: np.ndarray, *, y_test: np.ndarray | None = None,
         public_repo: str | Path | None = None) -> None:
    """Keep one scored submission's fold predictions and labels in the private ledger
    repository. `public_repo`, when given, is the public repository it must not be."""
    _check_key(key)
    if not folds:
        raise StoreError(f"{key}: no fold predictions to keep (was the submission scored?)")
    if public_repo is not None and Path(private_repo).resolve() == Path(public_repo).resolve():
        raise StoreError(f"the private ledger {private_repo} is the public repository; "
                         f"give the separate private ledger repository")
    # Few arrays per file: folds concatenated (valid) or stacked (test), read back by size.
    arrays = {"fold_sizes": np.array([len(f.valid_idx) for f in folds], dtype=np.int64),
              "valid_idx": np.concatenate([np.asarray(f.valid_idx, dtype=np.int64)
                                           for f in folds]),
              "valid_pred": np.concatenate([np.asarray(f.valid_pred) for f in folds]),
              "test_pred": np.stack([np.asarray(f.test_pred) for f in folds])}
    labels = {"y_train": np.asarray(y_train)}
    if y_test is not None:
        labels["y_test"] = np.asarray(y_test)
    _write(private_repo, {f"{key}.npz": arrays, _labels_path(key): labels},
           f"Keep fold predictions of {key}")


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """A compressed .npz whose bytes depend only on the arrays (fixed zip timestamps)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            arr = np.asarray(arrays[name])
            if arr.dtype.hasobject:
                raise StoreError(f"array {name!r} holds Python objects; only numbers are kept")
            member = io.BytesIO()
            np.lib.format.write_array(member, arr, allow_pickle=False)
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def _write(repo_path: str | Path, files: Mapping[str, Mapping[str, np.ndarray]],
           message: str) -> None:
    """One compare-and-swap commit on the ref, as the ledger writes its branch."""
    _open(repo_path)  # a clear error for a folder that is no repository
    try:
        Ledger(repo_path, branch=REF).write(
            {path: _npz_bytes(arrays) for path, arrays in files.items()}, message)
    except LedgerError as e:
        raise StoreError(f"could not update {REF} in {repo_path}: {e}") from e


def _open(path: str | Path) -> pygit2.Repository:
    try:
        return pygit2.Repository(str(path))
    except pygit2.GitError as e:
        raise StoreError(f"{path} is not a git repository ({e}); give the repository that "
                         f"holds the ledger") from e


# ----------------------------------------------------------------- reading
def _tree(repo: pygit2.Repository) -> pygit2.Tree | None:
    ref = repo.references.get(REF)
    return repo[ref.target].peel(pygit2.Commit).tree if ref is not None else None


def _read(repo: pygit2.Repository, tree: pygit2.Tree | None, path: str) -> dict | None:
    if tree is None:
        return None
    try:
        entry = tree[path]
    except KeyError:
        return None
    data = repo[entry.id].data
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise StoreError(f"{REF}:{path} is not a readable .npz ({e}); save that "
                         f"submission's predictions again by re-scoring it") from e


def keys(private_repo: str | Path, challenge: str | None = None) -> list[str]:
    """Keys of every stored record (of one challenge if given), sorted."""
    tree = _tree(_open(private_repo))
    out = []
    if tree is None:
        return out
    for ch in tree:
        if ch.type_str != "tree" or (challenge is not None and ch.name != challenge):
            continue
        for sub in tree[ch.name]:
            if sub.type_str != "tree" or sub.name == LABELS_DIR:
                continue
            for leaf in tree[f"{ch.name}/{sub.name}"]:
                if leaf.name.endswith(".npz"):
                    out.append(f"{ch.name}/{sub.name}/{leaf.name[:-4]}")
    return sorted(out)


def load(private_repo: str | Path, key: str) -> StoredPredictions | None:
    """One record's fold predictions, or None if none were kept."""
    return load_many(private_repo, [key]).get(key)


def load_many(private_repo: str | Path, wanted: Iterable[str]) -> dict[str, StoredPredictions]:
    """Fold predictions of every key in `wanted` that has any (one ref lookup in all).
    A file without validation predictions (an older gitramp kept only the test part
    here) counts as none kept."""
    repo = _open(private_repo)
    tree = _tree(repo)
    out = {}
    for key in wanted:
        _check_key(key)
        stored = _read(repo, tree, f"{key}.npz")
        if stored is None or "valid_idx" not in stored:
            continue
        try:
            bounds = np.cumsum(stored["fold_sizes"])[:-1]
            idx = np.split(stored["valid_idx"], bounds)
            preds = np.split(stored["valid_pred"], bounds)
        except (KeyError, ValueError) as e:
            raise StoreError(f"{REF}:{key}.npz is not a predictions record ({e}); "
                             f"re-score that submission") from e
        test = stored.get("test_pred")
        test = list(test) if test is not None and len(test) == len(idx) else None
        out[key] = StoredPredictions(key, idx, preds, test)
    return out


def load_labels(private_repo: str | Path, key: str) -> Labels | None:
    """The labels stored with the scoring hash of `key`."""
    stored = _read(r := _open(private_repo), _tree(r), _labels_path(key))
    if stored is None or "y_train" not in stored:
        return None
    return Labels(stored["y_train"], stored.get("y_test"))
