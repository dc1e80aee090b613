"""gitramp verify: a record re-run from what it names (local backend, real git)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gitramp_hubs import CLOSED_NOW, KITS, example, make_hub, submit

from challenge.ledger import Ledger
from challenge.pipeline import Options
from challenge.ranking import RankingScore, board
from challenge.scan import scan
from challenge.verify import (
    DIFFERS,
    NON_DETERMINISTIC,
    REFUSED,
    REPRODUCED,
    VerifyOptions,
    find_record,
    record_verification,
    verify,
)
from gitramp.main import main
from scorer import fingerprint as fp

HIDDEN = str(KITS / "{challenge}" / "hidden")
# A forest with no seed, as a participant writes it: it draws from numpy's global
# generator, which every fold process gets fresh (scorer/ingest.py fresh_random_state).
UNSEEDED = b"""from sklearn.ensemble import RandomForestClassifier


class Classifier:
    def fit(self, X, y):
        self.model = RandomForestClassifier(n_estimators=3, max_features=1).fit(X, y)
        self.classes_ = self.model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(X)
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("verify")
    env = pytest.MonkeyPatch()
    env.setenv(fp.KEY_ENV, "the challenge's key")
    env.setenv(fp.CACHE_ENV, str(tmp / "cache"))
    repo = make_hub(tmp)
    submit(repo, "alice", "seeded", example("iris", "random_forest"), when=CLOSED_NOW)
    submit(repo, "bob", "unseeded", {"classifier.py": UNSEEDED}, when=CLOSED_NOW)
    scan(tmp / "hub", Options(private_ledger=tmp / "private", now=CLOSED_NOW, quick=True,
                              data_dir=HIDDEN, runner="runner-1"))
    yield tmp
    env.undo()


def options(hub: Path, **kw) -> VerifyOptions:
    return VerifyOptions(**{"data_dir": HIDDEN, "private_ledger": hub / "private",
                            "runner": "auditor", "who": "organizer", **kw})


def test_the_record_names_what_a_rerun_needs(hub):
    r = find_record(Ledger(hub / "hub"), "iris", "seeded")
    p = r.provenance
    assert r.schema == 2 and p["data"]["key"] == fp.key_id(b"the challenge's key")
    assert set(p["data"]["files"]) == {"data/train.csv", "data/test.csv"}
    assert p["environment"]["source"] == "local" and p["environment"]["manifest"]
    assert p["environment"]["packages"]["scikit-learn"]
    assert p["seeds"]["cv"]["random_state"] == 42 and p["seeds"]["quick"]["folds"] == 2
    assert p["seeds"]["submission"] is None and p["machine"]["cpu"]


def test_a_seeded_submission_reproduces_and_the_verification_changes_no_record(hub):
    ledger = Ledger(hub / "hub")
    before = {path: oid for path, oid in ledger.entries("iris").items()}
    ranks = [(s.result.submission, s.rank) for s in board(
        ledger.records("iris"), RankingScore("acc"))]
    record = find_record(ledger, "iris", "seeded")
    v = verify(hub / "hub", record, options(hub, twice=True))
    assert v.verdict == REPRODUCED, v.summary()
    assert not v.deltas and not v.differences and v.unchecked == []
    path = record_verification(hub / "hub", v)
    assert "/_verifications/seeded/" in path
    after = Ledger(hub / "hub")
    assert after.entries("iris") == before  # no record touched, none added
    assert [(s.result.submission, s.rank) for s in board(
        after.records("iris"), RankingScore("acc"))] == ranks
    [kept] = after.verification_files("iris")
    assert (kept.name, kept.stem) == ("seeded", v.stem)


def test_an_unseeded_forest_is_non_deterministic_twice_and_differs_once(hub):
    record = find_record(Ledger(hub / "hub"), "iris", "unseeded")
    twice = verify(hub / "hub", record, options(hub, twice=True))
    assert twice.verdict == NON_DETERMINISTIC and twice.deltas
    once = verify(hub / "hub", record, options(hub))
    assert once.verdict == DIFFERS
    assert {d["fold"] for d in once.deltas} <= {0, 1, "bagged"}
    assert all(d["recorded"] != d["rerun"] for d in once.deltas)
    public = once.to_dict(public=True)
    assert all(d["split"] != "test" for d in public["deltas"])


def test_a_changed_hidden_data_file_is_refused_naming_it(hub, tmp_path):
    data = tmp_path / "iris"
    shutil.copytree(KITS / "iris" / "hidden", data)
    test = data / "data" / "test.csv"
    test.write_bytes(test.read_bytes() + test.read_bytes().splitlines(True)[-1])
    record = find_record(Ledger(hub / "hub"), "iris", "seeded")
    v = verify(hub / "hub", record, options(hub, data_dir=str(tmp_path / "{challenge}")))
    assert v.verdict == REFUSED
    assert v.differences == ["data file data/test.csv differs from the one the record was "
                             "scored on"]


def test_another_key_is_refused(hub, monkeypatch):
    monkeypatch.setenv(fp.KEY_ENV, "another key")
    record = find_record(Ledger(hub / "hub"), "iris", "seeded")
    v = verify(hub / "hub", record, options(hub))
    assert v.verdict == REFUSED and "use the challenge's key" in v.differences[0]


def test_a_different_environment_is_refused_naming_the_package(hub, tmp_path, monkeypatch):
    """The same library at another version first on the path: the environment's manifest
    differs in content, and the package is named."""
    site = tmp_path / "site"
    info = site / "threadpoolctl-0.0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: threadpoolctl\n"
                                   "Version: 0.0.1\n")
    (info / "RECORD").write_text("threadpoolctl-0.0.1.dist-info/METADATA,,\n")
    monkeypatch.syspath_prepend(str(site))
    fp.local_manifest.cache_clear()
    try:
        record = find_record(Ledger(hub / "hub"), "iris", "seeded")
        v = verify(hub / "hub", record, options(hub))
    finally:
        fp.local_manifest.cache_clear()
    recorded = record.provenance["environment"]["packages"]["threadpoolctl"]
    assert v.verdict == REFUSED
    assert v.differences == [f"Python package threadpoolctl: {recorded} -> 0.0.1"]


def test_the_command_records_the_verification_and_the_site_shows_it(hub, capsys):
    code = main(["verify", "--repo", str(hub / "hub"), "iris/seeded", "--data", HIDDEN,
                 "--private-ledger", str(hub / "private"), "--runner", "site-check"])
    assert code == 0
    assert "reproduced" in capsys.readouterr().out
    from site_generator.build import build

    build(hub / "hub", hub / "site")
    pages = list((hub / "site").rglob("*.html"))
    seeded = [p for p in pages if "Verified" in p.read_text()]
    assert seeded and "reproduced on site-check" in seeded[0].read_text()
    assert main(["verify", "--repo", str(hub / "hub"), "iris/unseeded", "--data", HIDDEN,
                 "--no-record"]) == 1


def test_reveal_verifies_the_top_of_the_private_board(hub, tmp_path, capsys):
    copy = tmp_path / "hub"
    shutil.copytree(hub / "hub", copy)
    code = main(["reveal", "--repo", str(copy), "--private-ledger", str(hub / "private"),
                 "--verify-top", "2", "--data", HIDDEN, "--runner", "reveal-check"])
    out = capsys.readouterr().out
    assert code == 0
    assert "iris: 1 of the top 2 reproduced; did not reproduce:" in out
    assert "iris/unseeded" in out and "private scores revealed" in out
