"""What a submission writes is read as untrusted data, strictly."""

from __future__ import annotations

import io
import json
import os
import pickle

import numpy as np
import pytest

from scorer.backends.local import read_output_dir
from scorer.outputs import InvalidOutput, parse_outputs


def npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def files(train, test=None, times=None):
    return {"fold_0_train.npy": npy(train),
            "fold_0_test.npy": npy(np.full((4, 2), 0.5) if test is None else test),
            "fold_0.json": json.dumps(times or {"fit_time": 1, "predict_time": 1}).encode()}


GOOD = np.full((6, 2), 0.5)


def test_good_predictions_parse():
    (fold,) = parse_outputs(files(GOOD), 1, 6, 4, 2)
    assert fold.train.shape == (6, 2) and fold.fit_time == 1


@pytest.mark.parametrize("bad, words", [
    (np.full((5, 2), 0.5), "shape (5, 2); expected (6, 2)"),
    (np.where(np.eye(6, 2) > 0, np.nan, 0.5), "row 0 holds"),
    (np.array([["a", "b"]] * 6), "dtype <U1"),
    (np.array([[object(), 1]] * 6, dtype=object), "pickled objects are refused"),
    (np.full((6, 2), 0.4), "summing to 0.8000"),
    (np.array([[1.5, -0.5]] * 6), "outside [0, 1]"),
])
def test_bad_predictions_are_refused_saying_which_and_where(bad, words):
    with pytest.raises(InvalidOutput) as e:
        parse_outputs(files(bad), 1, 6, 4, 2)
    assert words in str(e.value)
    assert "fold_0_train.npy" in str(e.value)


def test_a_pickle_disguised_as_npy_and_unknown_files_are_refused():
    f = files(GOOD)
    f["fold_0_test.npy"] = pickle.dumps(np.zeros((4, 2)))
    with pytest.raises(InvalidOutput, match="fold_0_test.npy"):
        parse_outputs(f, 1, 6, 4, 2)
    with pytest.raises(InvalidOutput, match="unexpected output files"):
        parse_outputs({**files(GOOD), "score.json": b'{"acc": 1}'}, 1, 6, 4, 2)


def test_forged_times_are_refused():
    with pytest.raises(InvalidOutput, match="non-negative"):
        parse_outputs(files(GOOD, times={"fit_time": -5, "predict_time": 1}), 1, 6, 4, 2)


def test_local_reader_does_not_follow_links(tmp_path):
    secret = tmp_path / "labels.npy"
    np.save(secret, np.arange(6))
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(secret, out / "fold_0_train.npy")
    with pytest.raises(InvalidOutput, match="fold_0_train.npy is a link"):
        read_output_dir(out, 10_000)
