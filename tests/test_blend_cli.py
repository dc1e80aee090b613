"""`gitramp blend` on a real hub repository: records, stored predictions, lineage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from challenge import predictions_store as store
from challenge.hub import commit_files, init_repo, kit_files
from challenge.ledger import LEDGER_ROOT, Ledger
from challenge.repo import find_kits, load_kit_at
from gitramp.main import main
from scorer.result import ERROR, SCORED, FoldScores, Result
from scorer.score_types import bind_scores
from scorer.scoring import FoldPredictions

ROOT = Path(__file__).resolve().parent.parent
N_TRAIN, N_TEST, N_FOLDS = 60, 30, 3


class Hub:
    def __init__(self, path: Path, kit: str = "iris"):
        self.path, self.private = path / "hub", path / "private"
        self.name = kit
        repo = init_repo(self.path)
        commit_files(repo, "refs/heads/main",
                     kit_files(ROOT / "kits" / kit, prefix=f"kits/{kit}"), message="kit")
        self.ledger = Ledger(self.path)
        Ledger(self.private, create=True)
        head = self.ledger.head()
        self.kit = load_kit_at(repo, head, find_kits(repo, head.tree)[0])
        self.combined = self.kit.prediction_type == "combined"
        rng = np.random.default_rng(0)
        if self.combined:  # the scorer's truth: class index, then the quantity
            self.y_train, self.y_test = (
                np.column_stack([rng.integers(0, 4, n), rng.uniform(100, 1000, n)])
                for n in (N_TRAIN, N_TEST))
        else:
            self.y_train = rng.integers(0, 3, N_TRAIN)
            self.y_test = rng.integers(0, 3, N_TEST)
        self.folds = [np.sort(rng.choice(N_TRAIN, 20, replace=False)) for _ in range(N_FOLDS)]
        self.rng = rng
        self.count = 0

    def add(self, name: str, team: str, *, strength: float = 1.0, preds=None,
            parent: str | None = None, share: float = 0.0, status: str = SCORED,
            keep: bool = True) -> tuple[str, list]:
        self.count += 1
        tree = f"{self.count:040x}"
        result = Result(challenge=self.name, submission=name, status=status, team=team,
                        score_names=["acc"], lower_is_better={"acc": False},
                        folds=[FoldScores({"valid": {"acc": 0.5}}, 1.0, 0.1)],
                        tree=tree, commit=tree, scoring_hash=self.kit.scoring_hash(),
                        submitted_at=f"2026-12-0{self.count}T00:00:00Z",
                        lineage={"parent": parent, "parent_team": None, "ancestors": [],
                                 "inherited_share": share})
        self.ledger.record(result)
        if preds is None:
            preds = [(self._proba(self.y_train[v], strength), self._proba(self.y_test, strength))
                     for v in self.folds]
        if keep and status == SCORED:
            folds = [FoldPredictions(np.setdiff1d(np.arange(N_TRAIN), v), v, va, te)
                     for v, (va, te) in zip(self.folds, preds, strict=True)]
            key = store.record_key(self.name, name, tree, self.kit.scoring_hash())
            store.save(self.private, key, folds, self.y_train, y_test=self.y_test,
                       public_repo=self.path)
        return f"{name}@{tree[:16]}", preds

    def _proba(self, y, strength):
        if self.combined:  # drug_spectra's four class probabilities, then the quantity
            proba = self._softmax(strength * np.eye(4)[y[:, 0].astype(int)])
            quantity = y[:, 1] * np.exp(self.rng.normal(0, 0.3 / strength, len(y)))
            return np.column_stack([proba, quantity])
        return self._softmax(strength * np.eye(3)[y])

    def _softmax(self, logits):
        e = np.exp(logits + self.rng.normal(0, 1, logits.shape))
        return e / e.sum(axis=1, keepdims=True)

    def record(self, version: str) -> dict:
        name, tree = version.split("@")
        path = f"{LEDGER_ROOT}/{self.name}/{name}/{tree}-{self.kit.scoring_hash()[:8]}.yml"
        return self.ledger.read(path)


@pytest.fixture
def hub(tmp_path):
    return Hub(tmp_path)


def _contrib(hub, versions):
    return {v: hub.record(v).get("contributivity") for v in versions}


def test_blend_records_contributivity_conserved_along_lineage(hub, capsys):
    base, base_preds = hub.add("base", "ann", strength=1.5)
    other, _ = hub.add("other", "bob", strength=1.2)
    copy, _ = hub.add("copy", "cat", preds=base_preds)  # an exact copy of base
    fork, _ = hub.add("fork", "dan", strength=1.4, parent=base, share=0.5)
    failed, _ = hub.add("failed", "eve", status=ERROR)
    assert main(["blend", "--repo", str(hub.path), "--private-ledger", str(hub.private)]) == 0
    out = capsys.readouterr().out
    assert "blended acc" in out and "contributivity %" in out and "test" in out

    c = _contrib(hub, [base, other, copy, fork])
    assert c[copy] == {"blend": 0.0, "historical": 0.0}  # copying earns nothing
    assert sum(x["blend"] for x in c.values()) == pytest.approx(100, abs=1e-3)
    assert sum(x["historical"] for x in c.values()) == pytest.approx(100, abs=1e-3)
    # fork passes half of its credit to base.
    assert c[fork]["historical"] == pytest.approx(c[fork]["blend"] / 2, abs=1e-3)
    assert c[base]["historical"] == pytest.approx(c[base]["blend"] + c[fork]["blend"] / 2,
                                                  abs=1e-3)
    assert hub.record(failed).get("contributivity") in (None, {})

    summary = hub.ledger.read(f"{LEDGER_ROOT}/iris/blend.yml")
    assert summary["score"] == "acc" and summary["n_folds"] == N_FOLDS
    assert 0 <= summary["blended_valid"] <= 1
    assert "blended_test" not in summary  # private until revealed
    private = Ledger(hub.private).read(f"{LEDGER_ROOT}/iris/blend.yml")
    assert 0 <= private["blended_test"] <= 1


def test_second_run_writes_nothing_new_and_dry_run_writes_nothing(hub, capsys):
    hub.add("a", "ann", strength=1.0)
    hub.add("b", "bob", strength=1.0)
    private = ["--private-ledger", str(hub.private)]
    assert main(["blend", "--repo", str(hub.path), "--dry-run", *private]) == 0
    before = hub.ledger.head().id
    assert hub.ledger.read(f"{LEDGER_ROOT}/iris/blend.yml") is None
    assert main(["blend", "--repo", str(hub.path), *private]) == 0
    after = hub.ledger.head().id
    assert after != before
    assert main(["blend", "--repo", str(hub.path), "--kit", "iris", *private]) == 0
    assert hub.ledger.head().id == after


def test_submissions_without_stored_predictions_are_reported(hub, capsys):
    hub.add("a", "ann")
    old, _ = hub.add("old", "bob", keep=False)
    assert main(["blend", "--repo", str(hub.path), "--json", "--private-ledger",
                 str(hub.private)]) == 0
    import json

    report = json.loads(capsys.readouterr().out)[0]
    assert "re-score" in report["skipped"][old]
    # no private ledger given: no test score, and (the predictions being hidden data,
    # kept there only) nothing blended nor written
    before = hub.ledger.head().id
    assert main(["blend", "--repo", str(hub.path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)[0]
    assert report["blended_test"] is None
    assert report["blended_valid"] is None and "private ledger" in report["skipped"][old]
    assert hub.ledger.head().id == before


def test_unknown_kit_is_a_user_error(hub, capsys):
    assert main(["blend", "--repo", str(hub.path), "--kit", "nope"]) == 2
    assert "no kit named nope" in capsys.readouterr().err


def test_combined_predictions_are_blended_as_their_columns_average(tmp_path, capsys):
    """Drug-spectra predictions hold four class probabilities, then a quantity. A blend
    averages every column as it is (as their bagging and RAMP do): clipped and
    renormalised as probabilities, the quantity would be read as one, and the ranking
    score (RAMP's Combined) reads each part."""
    hub = Hub(tmp_path, "drug_spectra")
    private = ["--private-ledger", str(hub.private)]
    alone, preds = hub.add("alone", "ann", strength=1.5)
    assert main(["blend", "--repo", str(hub.path), *private]) == 0
    # one member: the blend is its predictions, each training row's held-out ones
    # averaged over the folds that held it out
    total, count = np.zeros((N_TRAIN, 5)), np.zeros(N_TRAIN)
    for idx, (valid, _) in zip(hub.folds, preds, strict=True):
        total[idx] += valid
        count[idx] += 1
    seen = count > 0
    rank = bind_scores(hub.kit)[0]
    assert rank.name == "combined"
    expected = rank(hub.y_train[seen], total[seen] / count[seen, None])
    summary = hub.ledger.read(f"{LEDGER_ROOT}/drug_spectra/blend.yml")
    assert summary["score"] == "combined"
    assert summary["blended_valid"] == pytest.approx(expected, rel=1e-9)
    assert summary["blended_valid"] == summary["best_single_valid"]

    others = [hub.add(name, team, strength=s)[0]
              for name, team, s in (("good", "bob", 2.0), ("weak", "cat", 0.5))]
    assert main(["blend", "--repo", str(hub.path), *private]) == 0
    c = _contrib(hub, [alone, *others])
    assert sum(x["blend"] for x in c.values()) == pytest.approx(100, abs=1e-3)
    summary = hub.ledger.read(f"{LEDGER_ROOT}/drug_spectra/blend.yml")
    # the greedy blend starts from the best single member and only adds what helps
    assert summary["blended_valid"] <= summary["best_single_valid"]  # lower is better
    private_summary = Ledger(hub.private).read(f"{LEDGER_ROOT}/drug_spectra/blend.yml")
    assert private_summary["blended_test"] > 0
