"""Ledger.records_added: what a challenge's ledger folder gained between two trees, when
new records are all it gained, and None on any other change (the site then reads the
whole ledger)."""

from __future__ import annotations

import pygit2
import pytest

from challenge.ledger import Ledger

BLOB, EXEC, TREE = pygit2.GIT_FILEMODE_BLOB, pygit2.GIT_FILEMODE_BLOB_EXECUTABLE, \
    pygit2.GIT_FILEMODE_TREE

BASE = {
    "state.yml": b"revealed: true\n",
    "alpha/claim.yml": b"team: ada\n",
    "alpha/aaaa-1111.yml": b"record: 1\n",
    "private/alpha/aaaa-1111.yml": b"private: 1\n",
    "_claims/ada.yml": b"attempts: []\n",
}


def folder(repo: pygit2.Repository, files: dict) -> str:
    """The id of a tree holding `files` ({path: bytes, or (bytes, mode)})."""
    nested: dict = {}
    for path, content in files.items():
        *dirs, name = path.split("/")
        node = nested
        for d in dirs:
            node = node.setdefault(d, {})
        node[name] = content if isinstance(content, tuple) else (content, BLOB)

    def write(node: dict) -> pygit2.Oid:
        tb = repo.TreeBuilder()
        for name, value in sorted(node.items()):
            if isinstance(value, dict):
                tb.insert(name, write(value), TREE)
            else:
                tb.insert(name, repo.create_blob(value[0]), value[1])
        return tb.write()
    return str(write(nested))


@pytest.fixture
def ledger(tmp_path):
    pygit2.init_repository(str(tmp_path), initial_head="main")
    return Ledger(tmp_path)


def added(ledger: Ledger, change: dict, drop: tuple = ()):
    repo = ledger.repo
    after = {k: v for k, v in {**BASE, **change}.items() if k not in drop}
    return ledger.records_added("c", folder(repo, BASE), folder(repo, after))


def test_new_records_rejections_and_their_private_parts_are_what_was_added(ledger):
    got = added(ledger, {
        "alpha/bbbb-2222.yml": b"record: 2\n",
        "private/alpha/bbbb-2222.yml": b"private: 2\n",
        "beta/claim.yml": b"team: bob\n",  # a new name's claim: no record
        "beta/cccc-3333.yml": b"record: 3\n",
        "_rejected/bob/beta/dddd-4444.yml": b"record: 4\n",
        "_rejected/bob/beta/claim.yml": b"team: bob\n",  # no record there either
        "_claims/ada.yml": b"attempts: [x]\n",  # attempts in flight change freely
        "beta/notes.txt": b"not a record\n",
    })
    assert got is not None
    found = {(f.name, f.stem, f.folder, f.file) for f in got.records}
    assert found == {
        ("alpha", "bbbb-2222", "leaderboard_data/c/alpha", "bbbb-2222.yml"),
        ("beta", "cccc-3333", "leaderboard_data/c/beta", "cccc-3333.yml"),
        ("beta", "dddd-4444.rejected.bob", "leaderboard_data/c/_rejected/bob/beta",
         "dddd-4444.yml")}
    assert {f.fetch() for f in got.records} == {b"record: 2\n", b"record: 3\n",
                                                b"record: 4\n"}
    assert list(got.private) == [("alpha", "bbbb-2222")]
    assert got.private[("alpha", "bbbb-2222")].fetch() == b"private: 2\n"
    assert added(ledger, {}) is not None and not added(ledger, {}).records


@pytest.mark.parametrize("change, drop", [
    ({"alpha/aaaa-1111.yml": b"record: 1, changed\n"}, ()),  # a record changed
    ({}, ("alpha/aaaa-1111.yml",)),  # a record went
    ({"alpha/aaaa-1111.yml": (b"record: 1\n", EXEC)}, ()),  # same bytes, another mode
    ({"private/alpha/aaaa-1111.yml": b"private: 1, changed\n"}, ()),
    ({"state.yml": b"revealed: false\n"}, ()),
    ({"blend.yml": b"blended_valid: 0.5\n"}, ()),
    ({"_verifications/alpha/aaaa-1111/when-r1.yml": b"verdict: agrees\n"}, ()),
    ({"_moderation/when-annul-alpha.yml": b"act: annul\n"}, ()),
    ({"alpha/aaaa-1111.yml/inner.yml": b"a folder where a record was\n"},
     ("alpha/aaaa-1111.yml",)),
    # deeper than any ledger file, even where changes are let be: the comparison stops
    ({"_claims/" + "deep/" * 40 + "x.yml": b"attempts: []\n"}, ()),
])
def test_any_other_change_is_none(ledger, change, drop):
    assert added(ledger, change, drop) is None


def test_a_tree_the_repository_lacks_is_none(ledger):
    now = folder(ledger.repo, BASE)
    assert ledger.records_added("c", "0" * 40, now) is None
