"""Fold predictions kept for blending, in git, off the default branch.

Predictions are blobs committed by pygit2 (no work tree) on the orphan ref
`refs/gitramp/predictions`, which a clone does not fetch unless asked, so the
default branch stays small. Paths mirror the ledger: the record
`leaderboard_data/<challenge>/<submission>/<tree16>-<hash8>.yml` has its predictions at
`<challenge>/<submission>/<tree16>-<hash8>.npz`. Each file is a compressed `.npz`
(read with allow_pickle=False) written byte-for-byte reproducibly, so equal content
is one git blob.

- Public repository: `fold_sizes`, and over the folds in order, `valid_idx` (the
  held-out training rows) and `valid_pred` (predictions on them), concatenated;
  labels once per scoring hash in `<challenge>/.labels/<hash8>.npz` (`y_train`,
  encoded as the scorer encodes it).
- Private ledger repository: `test_pred` (folds stacked), and `y_test` in the labels
  file; test predictions never reach the public repository.

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
    test_preds: list[np.ndarray] | None  # None without the private repository

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
def save(repo: str | Path, key: str, folds: Sequence[FoldPredictionsLike],
         y_train: np.ndarray, *, private_repo: str | Path | None = None,
         y_test: np.ndarray | None = None) -> None:
    """Keep one scored submission's fold predictions (public part, and private part
    in `private_repo` when given)."""
    _check_key(key)
    if not folds:
        raise StoreError(f"{key}: no fold predictions to keep (was the submission scored?)")
    if private_repo is not None and Path(private_repo).resolve() == Path(repo).resolve():
        raise StoreError(f"the private ledger {private_repo} is the public repository; "
                         f"give the separate private ledger repository")
    # Few arrays per file: folds concatenated (valid) or stacked (test), read back by size.
    public = {"fold_sizes": np.array([len(f.valid_idx) for f in folds], dtype=np.int64),
              "valid_idx": np.concatenate([np.asarray(f.valid_idx, dtype=np.int64)
                                           for f in folds]),
              "valid_pred": np.concatenate([np.asarray(f.valid_pred) for f in folds])}
    _write(repo, {f"{key}.npz": public, _labels_path(key): {"y_train": np.asarray(y_train)}},
           f"Keep fold predictions of {key}")
    if private_repo is not None:
        private = {"test_pred": np.stack([np.asarray(f.test_pred) for f in folds])}
        files = {f"{key}.npz": private}
        if y_test is not None:
            files[_labels_path(key)] = {"y_test": np.asarray(y_test)}
        _write(private_repo, files, f"Keep test predictions of {key}")


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


def keys(repo: str | Path, challenge: str | None = None) -> list[str]:
    """Keys of every stored record (of one challenge if given), sorted."""
    tree = _tree(_open(repo))
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


def load(repo: str | Path, key: str, *,
         private_repo: str | Path | None = None) -> StoredPredictions | None:
    """One record's fold predictions, or None if none were kept."""
    return load_many(repo, [key], private_repo=private_repo).get(key)


def load_many(repo: str | Path, wanted: Iterable[str], *,
              private_repo: str | Path | None = None) -> dict[str, StoredPredictions]:
    """Fold predictions of every key in `wanted` that has any (one ref lookup in all)."""
    pub_repo = _open(repo)
    pub_tree = _tree(pub_repo)
    priv_repo = _open(private_repo) if private_repo is not None else None
    priv_tree = _tree(priv_repo) if priv_repo is not None else None
    out = {}
    for key in wanted:
        _check_key(key)
        public = _read(pub_repo, pub_tree, f"{key}.npz")
        if public is None:
            continue
        try:
            bounds = np.cumsum(public["fold_sizes"])[:-1]
            idx = np.split(public["valid_idx"], bounds)
            preds = np.split(public["valid_pred"], bounds)
        except (KeyError, ValueError) as e:
            raise StoreError(f"{REF}:{key}.npz is not a predictions record ({e}); "
                             f"re-score that submission") from e
        test = None
        if priv_repo is not None:
            private = _read(priv_repo, priv_tree, f"{key}.npz")
            if private is not None and len(private.get("test_pred", ())) == len(idx):
                test = list(private["test_pred"])
        out[key] = StoredPredictions(key, idx, preds, test)
    return out


def load_labels(repo: str | Path, key: str, *,
                private_repo: str | Path | None = None) -> Labels | None:
    """The labels stored with the scoring hash of `key` (y_test only from the private one)."""
    public = _read(r := _open(repo), _tree(r), _labels_path(key))
    if public is None or "y_train" not in public:
        return None
    y_test = None
    if private_repo is not None:
        private = _read(p := _open(private_repo), _tree(p), _labels_path(key))
        y_test = private.get("y_test") if private else None
    return Labels(public["y_train"], y_test)
