"""Validation rejects each broken rule with its own reason, before any code runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pygit2.enums import FileMode

from challenge import repo as gitrepo
from challenge.hub import commit_files
from challenge.ledger import put_path
from challenge.validate import validate_refs
from scorer.result import Result
from tests.gitramp_hubs import CLOSED_NOW, START, example, make_hub, submit

RF = example("iris", "random_forest")


def check(hub, branch, team="red", records=(), now=CLOSED_NOW):
    return validate_refs(hub, base=None, head=branch, team=team, records=list(records), now=now)


@pytest.fixture
def hub(tmp_path):
    return make_hub(tmp_path)


def rules(v):
    return [r.rule for r in v.reasons]


def test_a_clean_submission_is_valid(hub):
    submit(hub, "red", "rf", RF)
    v = check(hub, "refs/heads/submit/red/rf")
    assert v.ok, v.message()
    assert (v.submission.name, v.submission.team, v.phase) == ("rf", "red", "closed")


def test_touching_files_outside_the_submission_folder(hub):
    submit(hub, "red", "rf", RF, extra={"kits/iris/challenge.yml": b"title: hacked\n"})
    v = check(hub, "refs/heads/submit/red/rf")
    assert rules(v) == ["scope"]
    assert "kits/iris/challenge.yml" in v.reasons[0].message


def test_touching_two_submission_folders(hub):
    submit(hub, "red", "rf", RF, extra={"kits/iris/submissions/b/classifier.py": b"x = 1\n"})
    v = check(hub, "refs/heads/submit/red/rf")
    assert rules(v) == ["scope"] and "several submissions" in v.reasons[0].message


def test_missing_element_and_unexpected_file(hub):
    submit(hub, "red", "rf", {"model.py": b"x = 1\n"})
    v = check(hub, "refs/heads/submit/red/rf")
    assert rules(v) == ["files"]
    assert "missing classifier.py" in v.reasons[0].message
    assert "unexpected model.py" in v.reasons[0].message


def test_extra_files_allowed_by_the_kit(tmp_path):
    hub = make_hub(tmp_path)
    spec = gitrepo.blob_at(hub, gitrepo.head_commit(hub).tree, "kits/iris/challenge.yml")
    commit_files(hub, "refs/heads/main", {"kits/iris/challenge.yml":
                                          spec + b"extra_files: ['*.md']\n"}, message="md ok")
    submit(hub, "red", "rf", {**RF, "NOTES.md": b"why\n"})
    assert check(hub, "refs/heads/submit/red/rf").ok


def test_too_many_files_too_large_and_bad_names(hub):
    # iris allows 5 files and 100KB
    files = {**RF, **{f"helper_{i}.py": b"x = 1\n" for i in range(5)}, "big.py": b"#" * 120_000,
             "bad name!.py": b"x = 1\n"}
    hub_spec = gitrepo.blob_at(hub, gitrepo.head_commit(hub).tree, "kits/iris/challenge.yml")
    commit_files(hub, "refs/heads/main", {"kits/iris/challenge.yml":
                                          hub_spec + b"extra_files: ['*.py']\n"}, message="py")
    submit(hub, "red", "rf", files)
    v = check(hub, "refs/heads/submit/red/rf")
    assert rules(v) == ["limits"]
    msg = v.reasons[0].message
    assert "8 files (at most 5)" in msg and "over the limit of 100 KB" in msg
    assert "'bad name!.py'" in msg


def test_links_submodules_executables_and_binaries(hub):
    commit = submit(hub, "red", "rf", {**RF}, executable=["classifier.py"])
    tree = hub[commit].tree
    folder = gitrepo.subtree(hub, tree, "kits/iris/submissions/rf")
    tb = hub.TreeBuilder(folder)
    tb.insert("link", hub.create_blob(b"../../challenge.yml"), FileMode.LINK)
    tb.insert("sub", hub[commit].id, FileMode.COMMIT)
    tb.insert("weights.bin", hub.create_blob(b"\x00\x01\x02"), FileMode.BLOB)
    new_tree = put_path(hub, tree, "kits/iris/submissions/rf", tb.write(), FileMode.TREE)
    sig = hub[commit].author
    c = hub.create_commit(None, sig, sig, "odd files", new_tree, [commit])
    hub.references.create("refs/heads/submit/red/rf", c, force=True)
    v = check(hub, "refs/heads/submit/red/rf")
    types = [r for r in v.reasons if r.rule == "types"]
    assert len(types) == 1
    for what in ("link is a symbolic link", "sub is a submodule",
                 "classifier.py is executable", "weights.bin is binary"):
        assert what in types[0].message


def test_a_name_taken_by_another_team(hub):
    submit(hub, "red", "rf", RF)
    taken = Result(challenge="iris", submission="rf", status="scored", team="blue",
                   tree="0" * 40, submitted_at="2026-11-30T00:00:00Z")
    v = check(hub, "refs/heads/submit/red/rf", records=[taken])
    assert rules(v) == ["name"] and "belongs to team blue" in v.reasons[0].message
    mine = Result(challenge="iris", submission="rf", status="scored", team="red",
                  tree="0" * 40, submitted_at="2026-11-30T00:00:00Z")
    assert check(hub, "refs/heads/submit/red/rf", records=[mine]).ok


def test_reserved_name(hub):
    submit(hub, "red", "private", RF)
    v = check(hub, "refs/heads/submit/red/private")
    assert rules(v) == ["name"]


@pytest.mark.parametrize("now, words", [
    (START - timedelta(seconds=1), "before start"),
    (START + timedelta(days=28), "ended"),
])
def test_no_submission_outside_the_phases(hub, now, words):
    submit(hub, "red", "rf", RF)
    v = check(hub, "refs/heads/submit/red/rf", now=now)
    assert rules(v) == ["phase"] and words in v.reasons[0].message


def test_quota_reason_names_when_to_come_back(hub):
    submit(hub, "red", "rf", RF)
    earlier = Result(challenge="iris", submission="other", status="scored", team="red",
                     tree="1" * 40, submitted_at="2026-12-01T00:55:00Z")
    v = check(hub, "refs/heads/submit/red/rf", records=[earlier])
    assert rules(v) == ["quota"] and "submit again after 2026-12-01T01:05:00Z" in \
        v.reasons[0].message


def test_every_broken_rule_has_its_own_reason(hub):
    submit(hub, "red", "rf", {"model.bin": b"\x00" * 10}, extra={"README.md": b"changed\n"})
    v = check(hub, "refs/heads/submit/red/rf", now=START - timedelta(days=1))
    assert rules(v) == ["scope", "files", "types", "phase"]
    assert v.to_dict()["ok"] is False and len(v.to_dict()["reasons"]) == 4


def test_the_starting_kit_and_rejected_claims(hub):
    submit(hub, "red", "starting_kit", {"classifier.py": b"x = 2\n"})
    v = check(hub, "refs/heads/submit/red/starting_kit")
    assert rules(v) == ["name"] and "the organizers'" in v.reasons[0].message
    submit(hub, "red", "rf", RF)
    refused = Result(challenge="iris", submission="rf", status="rejected", team="blue",
                     tree="0" * 40, submitted_at="2026-11-30T00:00:00Z")
    assert check(hub, "refs/heads/submit/red/rf", records=[refused]).ok
