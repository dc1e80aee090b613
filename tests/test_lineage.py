"""Lineage: the parent across teams, read from git ancestry, and the inherited share."""

from __future__ import annotations

from collections import Counter

from challenge import lineage
from challenge.hub import commit_files
from challenge.ledger import version_label
from gitramp.demo import improve
from scorer.result import Result
from tests.gitramp_hubs import example, make_hub, submit

RF = example("iris", "random_forest")


def record(hub, commit, team, name) -> Result:
    tree = str(hub[commit].tree[f"kits/iris/submissions/{name}"].id)
    return Result(challenge="iris", submission=name, status="scored", team=team,
                  commit=str(commit), tree=tree, scoring_hash="ab" * 8)


def independent_share(hub, parent_blob, child_blob) -> float:
    """The child's non-blank lines that are the parent's too (as a multiset, whitespace
    stripped), over the child's non-blank lines (no starting kit given: none left out)."""
    def lines(blob):
        return Counter(ln.strip() for ln in hub[blob].data.decode().splitlines() if ln.strip())
    child = lines(child_blob)
    return sum((child & lines(parent_blob)).values()) / sum(child.values())


def test_a_branch_from_another_teams_submission_has_it_as_parent(tmp_path):
    hub = make_hub(tmp_path)
    a = submit(hub, "alice", "rf", RF)
    plus = {"classifier.py": improve(RF["classifier.py"])}
    b = submit(hub, "bob", "rf_plus", plus, parent=a)
    lin = lineage.compute(hub, str(b), record(hub, b, "bob", "rf_plus").tree, "iris",
                          [record(hub, a, "alice", "rf")])
    assert lin.parent == version_label("rf", record(hub, a, "alice", "rf").tree)
    assert lin.parent_team == "alice"
    assert lin.ancestors == [lin.parent]
    parent_blob = hub[a].tree["kits/iris/submissions/rf/classifier.py"].id
    child_blob = hub[b].tree["kits/iris/submissions/rf_plus/classifier.py"].id
    expected = independent_share(hub, parent_blob, child_blob)
    assert 0.3 < expected < 0.9
    assert abs(lin.inherited_share - expected) < 1e-9
    assert lin.to_dict()["inherited_share"] == round(expected, 4)


def test_the_nearest_of_several_ancestors_is_the_parent(tmp_path):
    hub = make_hub(tmp_path)
    a = submit(hub, "alice", "rf", RF)
    b = submit(hub, "bob", "rf2", {"classifier.py": RF["classifier.py"] + b"# bob\n"}, parent=a)
    c = submit(hub, "carol", "rf3", {"classifier.py": RF["classifier.py"] + b"# carol\n"},
               parent=b)
    records = [record(hub, a, "alice", "rf"), record(hub, b, "bob", "rf2")]
    lin = lineage.compute(hub, str(c), record(hub, c, "carol", "rf3").tree, "iris", records)
    assert lin.parent_team == "bob"
    assert [x.split("@")[0] for x in lin.ancestors] == ["rf2", "rf"]


def test_descending_without_sharing_code_is_no_lineage(tmp_path):
    """After the open phase merges everything, a fresh branch descends from all of it."""
    hub = make_hub(tmp_path)
    a = submit(hub, "alice", "rf", RF)
    main = commit_files(hub, "refs/heads/main", {"kits/iris/submissions/rf/classifier.py":
                                                 RF["classifier.py"]}, message="merge rf")
    sig = hub[main].author
    merge = hub.create_commit("refs/heads/main", sig, sig, "open", hub[main].tree.id,
                              [main, a])
    own = {"classifier.py": b"from sklearn.svm import SVC\n\n\nclass Classifier:\n"
                            b"    def fit(self, X, y):\n        pass\n"}
    c = submit(hub, "carol", "mine", own, parent=merge)
    records = [record(hub, a, "alice", "rf")]
    starting = lineage.boilerplate_of(hub, str(hub[main].tree[
        "kits/iris/submissions/starting_kit"].id))
    assert "class Classifier:" in starting
    tree = record(hub, c, "carol", "mine").tree
    assert lineage.compute(hub, str(c), tree, "iris", records, starting).parent is None
    # the same branch keeping alice's own code (both her lines beyond the starting kit)
    # derives from it; one of them alone is too little (docs/contributivity.md)
    kept = {"classifier.py": b"from sklearn.ensemble import RandomForestClassifier\n"
            + own["classifier.py"] + b"        self.model = "
            b"RandomForestClassifier(n_estimators=50, max_depth=4, random_state=0)\n"}
    d = submit(hub, "carol", "mine2", kept, parent=merge)
    tree = record(hub, d, "carol", "mine2").tree
    assert lineage.compute(hub, str(d), tree, "iris", records, starting).parent_team == "alice"
    one = {"classifier.py": own["classifier.py"] + b"        self.model = "
           b"RandomForestClassifier(n_estimators=50, max_depth=4, random_state=0)\n"}
    e = submit(hub, "carol", "mine3", one, parent=merge)
    tree = record(hub, e, "carol", "mine3").tree
    assert lineage.compute(hub, str(e), tree, "iris", records, starting).parent is None


def test_unrelated_submission_has_no_parent(tmp_path):
    hub = make_hub(tmp_path)
    a = submit(hub, "alice", "rf", RF)
    b = submit(hub, "bob", "other", RF)  # same code, but not branched from alice's
    lin = lineage.compute(hub, str(b), record(hub, b, "bob", "other").tree, "iris",
                          [record(hub, a, "alice", "rf")])
    assert lin.parent is None and lin.ancestors == [] and lin.inherited_share == 0
