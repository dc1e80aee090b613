"""Scores checked against scikit-learn computed independently on the same folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score
from sklearn.model_selection import KFold, StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from challenge.kit import load_kit
from scorer.scoring import score_submission
from tests.conftest import ROOT

IRIS = ROOT / "kits" / "iris"
DIABETES = ROOT / "kits" / "diabetes"


def _iris_reference():
    train = pd.read_csv(IRIS / "data" / "train.csv")
    test = pd.read_csv(IRIS / "data" / "test.csv")
    X, y = train.drop(columns="species"), train["species"].to_numpy()
    Xt, yt = test.drop(columns="species"), test["species"].to_numpy()
    labels = ["setosa", "versicolor", "virginica"]
    folds = list(StratifiedShuffleSplit(n_splits=5, test_size=0.2, random_state=42).split(X, y))
    return X, y, Xt, yt, labels, folds


def test_iris_scores_match_sklearn_on_the_same_folds_bagging_included():
    X, y, Xt, yt, labels, folds = _iris_reference()
    result = score_submission(load_kit(IRIS), IRIS / "submissions" / "starting_kit").result
    assert result.status == "scored"
    y_idx = np.array([labels.index(v) for v in y])
    yt_idx = np.array([labels.index(v) for v in yt])
    valid_sum, valid_n, test_preds = np.zeros((len(y), 3)), np.zeros(len(y)), []
    for fold, (tr, va) in zip(result.folds, folds, strict=True):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500))
        model.fit(X.iloc[tr], y[tr])
        assert list(model.classes_) == labels
        p_va, p_te = model.predict_proba(X.iloc[va]), model.predict_proba(Xt)
        assert fold.scores["valid"]["acc"] == pytest.approx(
            accuracy_score(y_idx[va], p_va.argmax(1)))
        assert fold.scores["valid"]["nll"] == pytest.approx(
            log_loss(y_idx[va], p_va, labels=[0, 1, 2]), rel=1e-6)
        assert fold.scores["test"]["nll"] == pytest.approx(
            log_loss(yt_idx, p_te, labels=[0, 1, 2]), rel=1e-6)
        valid_sum[va] += p_va
        valid_n[va] += 1
        test_preds.append(p_te)
    seen = valid_n > 0
    bagged_valid = valid_sum[seen] / valid_n[seen, None]
    assert result.bagged["valid"]["nll"] == pytest.approx(
        log_loss(y_idx[seen], bagged_valid, labels=[0, 1, 2]), rel=1e-6)
    assert result.bagged["test"]["acc"] == pytest.approx(
        accuracy_score(yt_idx, np.mean(test_preds, axis=0).argmax(1)))
    means = result.mean("valid")
    assert means["acc"] == pytest.approx(np.mean([f.scores["valid"]["acc"]
                                                 for f in result.folds]))


def test_regression_scores_match_sklearn_and_parallel_folds_change_nothing():
    train = pd.read_csv(DIABETES / "data" / "train.csv")
    test = pd.read_csv(DIABETES / "data" / "test.csv")
    X, y = train.drop(columns="progression"), train["progression"].to_numpy(float)
    Xt, yt = test.drop(columns="progression"), test["progression"].to_numpy(float)
    kit = load_kit(DIABETES)
    sub = DIABETES / "submissions" / "gradient_boosting"
    serial = score_submission(kit, sub, jobs=1).result
    parallel = score_submission(kit, sub, jobs=2).result
    test_preds = []
    for fold, (tr, _) in zip(serial.folds, KFold(5, shuffle=True, random_state=0).split(X),
                             strict=True):
        model = GradientBoostingRegressor(n_estimators=150, max_depth=2, learning_rate=0.05,
                                          subsample=0.8, random_state=0).fit(X.iloc[tr], y[tr])
        pred = model.predict(Xt)
        assert fold.scores["test"]["rmse"] == pytest.approx(
            np.sqrt(mean_squared_error(yt, pred)), rel=1e-9)
        test_preds.append(pred)
    assert serial.bagged["test"]["r2"] == pytest.approx(r2_score(yt, np.mean(test_preds, 0)))
    for a, b in zip(serial.folds, parallel.folds, strict=True):
        assert a.scores == b.scores


def test_quick_test_really_subsamples_and_runs_two_folds(tmp_path):
    import shutil

    kit_dir = tmp_path / "iris"
    shutil.copytree(IRIS, kit_dir, ignore=shutil.ignore_patterns("hidden"))
    big = pd.concat([pd.read_csv(kit_dir / "data" / "train.csv")] * 20, ignore_index=True)
    big.to_csv(kit_dir / "data" / "train.csv", index=False)  # 1,440 rows
    seen_rows = []
    problem = kit_dir / "problem.py"
    problem.write_text("from sklearn.model_selection import StratifiedKFold\n"
                       "SEEN = []\n"
                       "def get_cv(X, y):\n"
                       "    SEEN.append(len(X))\n"
                       "    return StratifiedKFold(4).split(X, y)\n")
    spec = kit_dir / "challenge.yml"  # get_cv and a cv key together are an error
    spec.write_text("".join(line for line in spec.read_text().splitlines(keepends=True)
                            if not line.startswith("cv:")))
    kit = load_kit(kit_dir)
    result = score_submission(kit, kit_dir / "submissions" / "starting_kit", quick=True).result
    seen_rows = kit.problem().SEEN
    assert seen_rows == [200]
    assert len(result.folds) == 2
    assert result.status == "scored"
