"""The predictions store: real git repositories, an orphan ref of the private ledger, no
pickle, nothing in the public repository."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pygit2
import pytest
from pygit2.enums import FileMode

from challenge import predictions_store as store
from challenge.ledger import put_path


@dataclass
class Fold:
    valid_idx: np.ndarray
    valid_pred: np.ndarray
    test_pred: np.ndarray


def _folds(seed: int, n_folds: int = 3) -> list[Fold]:
    rng = np.random.default_rng(seed)
    # Folds of different sizes, as KFold makes when n is not a multiple of the folds.
    return [Fold(np.sort(rng.choice(50, 10 + i, replace=False)), rng.random((10 + i, 3)),
                 rng.random((20, 3))) for i in range(n_folds)]


@pytest.fixture
def repos(tmp_path):
    public = pygit2.init_repository(str(tmp_path / "hub"))
    sig = pygit2.Signature("t", "t@example.org")
    tree = public.TreeBuilder().write()
    public.create_commit("refs/heads/main", sig, sig, "start", tree, [])
    private = pygit2.init_repository(str(tmp_path / "private"))
    private.create_commit("refs/heads/main", sig, sig, "start", tree, [])
    return tmp_path / "hub", tmp_path / "private"


KEY = store.record_key("iris", "fork", "0123456789abcdef" * 2, "feedbeef" * 5)


def test_round_trip(repos):
    hub, private = repos
    folds = _folds(0)
    y_train, y_test = np.arange(50) % 3, np.arange(20) % 3
    store.save(private, KEY, folds, y_train, y_test=y_test, public_repo=hub)

    got = store.load(private, KEY)
    assert got.n_folds == 3
    for f, idx, valid, test in zip(folds, got.valid_idx, got.valid_preds, got.test_preds,
                                   strict=True):
        np.testing.assert_array_equal(idx, f.valid_idx)
        np.testing.assert_array_equal(valid, f.valid_pred)
        np.testing.assert_array_equal(test, f.test_pred)
    labels = store.load_labels(private, KEY)
    np.testing.assert_array_equal(labels.y_train, y_train)
    np.testing.assert_array_equal(labels.y_test, y_test)
    assert store.keys(private) == [KEY] and store.keys(private, "other") == []


def test_no_prediction_nor_label_reaches_the_public_repository(repos):
    # Predictions on hidden rows and hidden labels are computed row by row from hidden
    # data: the public repository gets none of them, not even on a ref of its own.
    hub, private = repos
    store.save(private, KEY, _folds(0), np.zeros(50), y_test=np.ones(20), public_repo=hub)
    repo = pygit2.Repository(str(hub))
    assert [r for r in repo.references if r != "refs/heads/main"] == []
    assert store.keys(hub) == [] and store.load(hub, KEY) is None
    assert store.load_labels(hub, KEY) is None


def test_the_default_branch_is_left_alone(repos):
    _, private = repos
    repo = pygit2.Repository(str(private))
    before = repo.references["refs/heads/main"].target
    store.save(private, KEY, _folds(0), np.zeros(50))
    assert repo.references["refs/heads/main"].target == before
    commit = repo.references[store.REF].peel(pygit2.Commit)
    assert commit.parents == []  # an orphan history of its own
    assert sorted(_all_paths(repo, commit.tree)) == [
        "iris/.labels/feedbeef.npz", "iris/fork/0123456789abcdef-feedbeef.npz"]


def test_same_content_is_one_blob_and_saving_twice_adds_no_commit(repos):
    _, private = repos
    store.save(private, KEY, _folds(0), np.zeros(50))
    repo = pygit2.Repository(str(private))
    tip = repo.references[store.REF].target
    store.save(private, KEY, _folds(0), np.zeros(50))
    assert repo.references[store.REF].target == tip
    other = store.record_key("iris", "copy", "ab" * 20, "feedbeef")
    store.save(private, other, _folds(0), np.zeros(50))
    tree = repo.references[store.REF].peel(pygit2.Commit).tree
    assert tree[f"{KEY}.npz"].id == tree[f"{other}.npz"].id


def test_pickled_or_object_arrays_are_refused(repos):
    _, hub = repos
    bad = [Fold(np.arange(2), np.array([{"a": 1}, None], dtype=object), np.zeros(2))]
    with pytest.raises(store.StoreError, match="Python objects"):
        store.save(hub, KEY, bad, np.zeros(50))
    # A pickled array planted on the ref is refused on load, never unpickled.
    repo = pygit2.Repository(str(hub))
    import io

    buf = io.BytesIO()
    np.savez(buf, fold_sizes=np.array([1]), valid_idx=np.arange(1),
             valid_pred=np.array([object()], dtype=object))
    blob = repo.create_blob(buf.getvalue())
    tree = put_path(repo, None, f"{KEY}.npz", blob, FileMode.BLOB)
    sig = pygit2.Signature("t", "t@example.org")
    repo.create_commit(store.REF, sig, sig, "planted", tree, [])
    with pytest.raises(store.StoreError, match="re-scor"):
        store.load(hub, KEY)


def test_concurrent_writers_lose_nothing(repos):
    _, hub = repos
    keys = [store.record_key("iris", f"s{i}", f"{i:040x}", "feedbeef") for i in range(12)]
    errors = []

    def save(key, seed):
        try:
            store.save(hub, key, _folds(seed, 1), np.zeros(50))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=save, args=(k, i)) for i, k in enumerate(keys)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.keys(hub, "iris") == sorted(keys)


def test_errors_say_what_to_do(tmp_path, repos):
    hub, private = repos
    with pytest.raises(store.StoreError, match="record_key"):
        store.save(private, "not-a-key", _folds(0), np.zeros(50))
    with pytest.raises(store.StoreError, match="not a git repository"):
        store.keys(tmp_path / "nowhere")
    with pytest.raises(store.StoreError, match="separate private"):
        store.save(hub, KEY, _folds(0), np.zeros(50), public_repo=hub)
    assert store.load(hub, KEY) is None


def test_key_from_ledger_path():
    assert store.key_from_ledger_path(
        "/x/leaderboard_data/iris/fork/0123456789abcdef-feedbeef.yml") == \
        "iris/fork/0123456789abcdef-feedbeef"


def _all_paths(repo, tree, prefix=""):
    for e in tree:
        if e.type_str == "tree":
            yield from _all_paths(repo, repo[e.id], f"{prefix}{e.name}/")
        else:
            yield f"{prefix}{e.name}"
