"""Copies caught: in the closed phase, bob takes alice's earlier submission, changes two
lines and submits it (plain, and sealed with the challenge's key); the runner flags it to
the organizers in the private ledger with both names and the share, gives it no lineage
from alice's submission, and keeps the public ledger free of the flag. A submission
written from scratch is not flagged, and neither is a team's copy of its own code."""

from __future__ import annotations

import json

import pygit2
import pytest

from challenge import lineage, plagiarism, sealing
from challenge.hub import commit_files
from challenge.ledger import Ledger
from challenge.pipeline import Options
from challenge.scan import scan
from gitramp.main import main as cli
from scorer.result import SCORED, Result
from tests.gitramp_hubs import CLOSED_NOW, KITS, example, make_hub, submit
from tests.test_lineage_honest import BOOSTED, two_lines_changed

FOLDER = "kits/iris/submissions"

# carol's submission, written from scratch: idioms aside, nothing of alice's
SCRATCH = b'''import numpy as np
from sklearn.neighbors import KNeighborsClassifier


def scaled(X):
    X = X.copy()
    for col in ["sepal_length", "sepal_width", "petal_length", "petal_width"]:
        X[col] = (X[col] - X[col].mean()) / (X[col].std() + 1e-9)
    X["petal_norm"] = np.sqrt(X["petal_length"] ** 2 + X["petal_width"] ** 2)
    return X


class Classifier:
    def __init__(self):
        self.model = KNeighborsClassifier(n_neighbors=7, weights="distance")

    def fit(self, X, y):
        self.model.fit(scaled(X), y)
        self.classes_ = self.model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(scaled(X))
'''


def copied_by_hand(repo, team: str, name: str, files: dict[str, bytes]) -> None:
    """A copy made from the pull request's diff: a branch from main, no shared history."""
    submit(repo, team, name, files)


def built_on(repo, team: str, name: str, files: dict[str, bytes], on: str) -> None:
    """A copy made by fetching the other submission's branch and committing on top of
    it, its folder moved to the new name (so the change touches one submission only):
    git ancestry, so lineage alone would make the other submission its parent."""
    parent = repo.references[on].peel(pygit2.Commit)
    source = on.rsplit("/", 1)[1]
    moved: dict[str, bytes | None] = {
        f"{FOLDER}/{source}/{e.name}": None
        for e in repo[parent.tree[f"{FOLDER}/{source}"].id]}
    moved.update({f"{FOLDER}/{name}/{f}": d for f, d in files.items()})
    commit_files(repo, f"refs/heads/submit/{team}/{name}", moved, parent=parent.id,
                 message=f"{name} by {team}", author=team)


def season(tmp, *, seal: bool, monkeypatch) -> tuple[pygit2.Repository, Ledger, Ledger]:
    """alice's submission scored first; then bob's copy built on her branch, dave's copy
    made by hand, alice's own second try and carol's from-scratch one, scored an hour
    later. With `seal`, every submission is sealed to the kit's key."""
    repo = make_hub(tmp, min_interval=0)
    public = None

    def pack(files: dict[str, bytes]) -> dict[str, bytes]:
        return sealing.seal(files, public) if public else files

    if seal:
        public, private = sealing.keygen()
        spec = repo.revparse_single("main:kits/iris/challenge.yml").data
        commit_files(repo, "refs/heads/main",
                     {"kits/iris/challenge.yml": spec + f"seal_key: {public}\n".encode()},
                     message="seal the closed phase", author="organizer")
        monkeypatch.setenv(sealing.KEY_ENV, private)
    else:
        monkeypatch.delenv(sealing.KEY_ENV, raising=False)
    submit(repo, "alice", "boosted", pack({"classifier.py": BOOSTED}))
    options = Options(private_ledger=tmp / "private", now=CLOSED_NOW, quick=True,
                      data_dir=str(KITS / "{challenge}" / "hidden"), runner="test-runner")
    assert [o.status for o in scan(tmp / "hub", options)] == [SCORED]

    copy = pack({"classifier.py": two_lines_changed(BOOSTED)})
    built_on(repo, "bob", "boosted_copy", copy, "refs/heads/submit/alice/boosted")
    copied_by_hand(repo, "dave", "my_boost", pack({"classifier.py": two_lines_changed(
        BOOSTED).replace(b"max_depth=2", b"max_depth=3")}))
    built_on(repo, "alice", "boosted_again", copy, "refs/heads/submit/alice/boosted")
    submit(repo, "carol", "knn", pack({"classifier.py": SCRATCH}))
    options.now = CLOSED_NOW.replace(hour=CLOSED_NOW.hour + 1)
    outcomes = {o.submission.name: o.status for o in scan(tmp / "hub", options)}
    assert outcomes == dict.fromkeys(["boosted_copy", "my_boost", "boosted_again", "knn"],
                                     SCORED)
    return repo, Ledger(tmp / "hub"), Ledger(tmp / "private")


@pytest.fixture(scope="module", params=["plain", "sealed"])
def hub(request, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        tmp = tmp_path_factory.mktemp(request.param)
        repo, public, private = season(tmp, seal=request.param == "sealed", monkeypatch=mp)
        yield request.param, tmp, repo, public, private


def test_the_rule_in_numbers():
    kit = lineage.boilerplate_of_files(example("iris", "starting_kit"))
    child = lineage.own_lines({"c.py": two_lines_changed(BOOSTED).decode().splitlines()}, kit)
    source = lineage.own_lines({"c.py": BOOSTED.decode().splitlines()}, kit)
    o = lineage.overlap(child, source)
    assert (o.shared, o.child) == (18, 20)
    assert o.inherited >= plagiarism.COPY_SHARE and o.shared >= plagiarism.COPY_LINES
    scratch = lineage.own_lines({"c.py": SCRATCH.decode().splitlines()}, kit)
    # common idioms only (`import numpy as np`, `X = X.copy()`, `return X`)
    mine = lineage.overlap(scratch, source)
    assert mine.shared == 3 and mine.inherited < 0.3


def test_a_copy_is_flagged_privately_with_both_names_and_the_share(hub):
    kind, _, _, public, private = hub
    flags = {f.submission: f for f in plagiarism.read_flags(private, "iris")}
    assert set(flags) == {"boosted_copy", "my_boost"}
    bob = flags["boosted_copy"]
    assert (bob.team, bob.sealed) == ("bob", kind == "sealed")
    (source,) = bob.sources
    assert (source.team, source.submission) == ("alice", "boosted")
    assert source.inherited_share == pytest.approx(0.9)
    assert source.shared_lines == 18 and bob.own_lines == 20
    line = bob.describe()
    assert "bob/boosted_copy" in line and "alice/boosted" in line and "90%" in line
    # dave copied by hand, with no shared history: caught all the same
    dave = flags["my_boost"]
    assert {(s.team, s.submission) for s in dave.sources} >= {("alice", "boosted")}
    # the flag names a record of the private ledger, and of no public place
    assert bob.path.startswith("leaderboard_data/iris/_flags/boosted_copy/")
    head = public.head()
    assert all("_flags" not in path for path in _paths(public.repo, head.tree))
    assert b"near copy" not in b"".join(c.message.encode() for c in _log(public))


def test_the_copy_gets_no_lineage_from_what_it_copied(hub):
    _, _, _, public, _ = hub
    records = {r.submission: r for r in public.records("iris")}
    for copy in ("boosted_copy", "my_boost"):
        lin = records[copy].lineage
        assert lin["parent"] is None and lin["inherited_share"] == 0, (copy, lin)
        assert not any(a.startswith("boosted@") for a in lin["ancestors"])
    # alice's own second try, built on her first, keeps its lineage and is no copy
    again = records["boosted_again"].lineage
    assert again["parent"].startswith("boosted@") and again["parent_team"] == "alice"
    assert again["inherited_share"] == pytest.approx(0.9)


def test_from_scratch_and_the_source_are_not_flagged(hub):
    _, _, _, public, private = hub
    flagged = {f.submission for f in plagiarism.read_flags(private, "iris")}
    assert not flagged & {"knn", "boosted", "boosted_again"}
    records = {r.submission: r for r in public.records("iris")}
    assert records["knn"].lineage["parent"] is None


def test_sealed_code_stays_out_of_the_public_ledger(hub):
    kind, _, repo, public, _ = hub
    if kind != "sealed":
        pytest.skip("the plain season's code is public anyway")
    # what the runner read to compare stays on the runner: no line of it is in any object
    objects = b"\n".join(repo.odb.read(oid)[1] for oid in repo.odb)
    assert b"petal_ratio" not in objects


def test_organizers_list_the_flags(hub, capsys):
    _, tmp, _, _, _ = hub
    assert cli(["moderate", "flags", "iris", "--repo", str(tmp / "hub"),
                "--private-ledger", str(tmp / "private")]) == 0
    out = capsys.readouterr().out
    assert "bob/boosted_copy" in out and "alice/boosted" in out and "dave/my_boost" in out
    assert "carol" not in out
    assert cli(["moderate", "flags", "iris", "--repo", str(tmp / "hub"),
                "--private-ledger", str(tmp / "private"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["team"], r["submission"]) for r in rows} == {("bob", "boosted_copy"),
                                                             ("dave", "my_boost")}
    # listing the flags without the private ledger is refused with a reason
    assert cli(["moderate", "flags", "iris", "--repo", str(tmp / "hub")]) == 2


def test_lineage_recompute_keeps_the_copies_verdict_and_reads_sealed_code(hub, capsys):
    """An organizer's recompute uses the rule the runner used: sealed folders opened with
    the key, and no lineage from what a flagged copy copied (the flags are read from the
    private ledger). Nothing moves, sealed or plain."""
    _, tmp, _, _, _ = hub
    assert cli(["lineage", "recompute", "--challenge", "iris", "--repo", str(tmp / "hub"),
                "--private-ledger", str(tmp / "private"), "--json"]) == 0
    [done] = json.loads(capsys.readouterr().out)
    assert done["changed"] == [] and done["credit"] == {}, done
    # without the private ledger the flags are unknown: the command says what that costs
    assert cli(["lineage", "recompute", "--challenge", "iris", "--repo", str(tmp / "hub")]) == 0
    captured = capsys.readouterr()
    assert "near-copy flags are not read" in captured.err
    assert "boosted_copy" in captured.out  # built on alice's branch: her forest comes back
    # a mistyped private ledger is refused, not read as an empty one with no flags
    assert cli(["lineage", "recompute", "--challenge", "iris", "--repo", str(tmp / "hub"),
                "--private-ledger", str(tmp / "privat")]) == 2
    assert not (tmp / "privat").exists()


def test_near_copies_compares_only_earlier_submissions_of_other_teams():
    kit = lineage.boilerplate_of_files(example("iris", "starting_kit"))
    code = {"a": {"c.py": BOOSTED.decode().splitlines()},
            "b": {"c.py": two_lines_changed(BOOSTED).decode().splitlines()}}

    def rec(team, name, tree, at):
        return Result(challenge="iris", submission=name, status=SCORED, team=team,
                      tree=tree, submitted_at=at)
    child = rec("bob", "copy", "b", "2026-12-01T02:00:00Z")
    read = code.get
    assert plagiarism.near_copies(child, [rec("alice", "x", "a", "2026-12-01T01:00:00Z")],
                                  kit, read)
    assert not plagiarism.near_copies(child, [rec("alice", "x", "a", "2026-12-01T03:00:00Z")],
                                      kit, read)  # later: it is the other way round
    assert not plagiarism.near_copies(child, [rec("BOB", "x", "a", "2026-12-01T01:00:00Z")],
                                      kit, read)  # the team's own code


def _paths(repo, tree, prefix=""):
    for e in tree:
        if e.type_str == "tree":
            yield from _paths(repo, repo[e.id], f"{prefix}{e.name}/")
        else:
            yield prefix + e.name


def _log(ledger: Ledger):
    walker = ledger.repo.walk(ledger.head().id)
    return list(walker)
