"""tree_changes: the files added, changed or gone between two trees, read from their
raw bytes, agree with a walk of both trees through pygit2, on folders of many entries
changed anywhere (first, last, middle, several places), and a tree that does not read
is refused."""

from __future__ import annotations

import random

import pygit2
import pytest

from challenge.ledger import Ledger
from challenge.tree_changes import tree_changes

BLOB, EXEC, TREE = (pygit2.GIT_FILEMODE_BLOB, pygit2.GIT_FILEMODE_BLOB_EXECUTABLE,
                    pygit2.GIT_FILEMODE_TREE)


@pytest.fixture
def repo(tmp_path):
    return pygit2.init_repository(str(tmp_path), initial_head="main")


def write(repo, files: dict) -> pygit2.Oid | None:
    """A tree of `files` ({path: (bytes, mode)}); None for no files."""
    nested: dict = {}
    for path, value in files.items():
        *dirs, name = path.split("/")
        node = nested
        for d in dirs:
            node = node.setdefault(d, {})
        node[name] = value

    def tree(node: dict) -> pygit2.Oid:
        tb = repo.TreeBuilder()
        for name, value in node.items():
            if isinstance(value, dict):
                tb.insert(name, tree(value), TREE)
            else:
                tb.insert(name, repo.create_blob(value[0]), value[1])
        return tb.write()
    return tree(nested) if files else None


def walked(repo, oid, prefix: str = "") -> dict:
    """{path: (blob id, mode)} of every file under the tree `oid`, through pygit2."""
    out = {}
    for e in repo[oid] if oid is not None else ():
        if e.type_str == "tree":
            out.update(walked(repo, e.id, f"{prefix}{e.name}/"))
        else:
            out[f"{prefix}{e.name}"] = (e.id, int(e.filemode))
    return out


def expected(repo, old, new) -> set:
    a, b = walked(repo, old), walked(repo, new)
    return {(p, a.get(p), b.get(p)) for p in a.keys() | b.keys() if a.get(p) != b.get(p)}


def found(repo, old, new) -> set:
    return {(path, (o.id, o.filemode) if o else None, (n.id, n.filemode) if n else None)
            for path, o, n in tree_changes(repo, old, new, depth=4)}


def base(n: int) -> dict:
    return {f"team{k:05d}/rec-{k}.yml": (f"score: {k}\n".encode(), BLOB) for k in range(n)}


@pytest.mark.parametrize("seed", range(12))
def test_changes_anywhere_in_a_big_folder_are_those_a_walk_finds(repo, seed):
    rng = random.Random(seed)
    before = base(rng.choice([1, 2, 50, 400]))
    after = dict(before)
    names = sorted(before)
    for _ in range(rng.randint(0, 4)):
        what = rng.choice(["add", "drop", "change", "mode", "deeper", "first", "last"])
        if what == "add":
            after[f"team{rng.randint(0, 99999):05d}x/new.yml"] = (b"new\n", BLOB)
        elif what == "first":
            after["a-first/new.yml"] = (b"first\n", BLOB)
        elif what == "last":
            after["zz-last/new.yml"] = (b"last\n", BLOB)
        elif what == "deeper":
            after[f"{rng.choice(names).split('/')[0]}/private/part.yml"] = (b"p\n", BLOB)
        elif after:
            path = rng.choice(sorted(after))
            if what == "drop":
                del after[path]
            elif what == "change":
                after[path] = (after[path][0] + b"changed\n", after[path][1])
            else:
                after[path] = (after[path][0], EXEC)
    old, new = write(repo, before), write(repo, after)
    assert found(repo, old, new) == expected(repo, old, new)
    assert found(repo, new, old) == expected(repo, new, old)


def test_a_file_that_becomes_a_folder_and_a_whole_tree_added_or_gone(repo):
    old = write(repo, {"a/x.yml": (b"1\n", BLOB), "b": (b"file\n", BLOB)})
    new = write(repo, {"a/x.yml": (b"1\n", BLOB), "b/inner.yml": (b"2\n", BLOB)})
    assert found(repo, old, new) == expected(repo, old, new)
    assert ("b", (repo.create_blob(b"file\n"), BLOB), None) in found(repo, old, new)
    assert found(repo, None, new) == expected(repo, None, new)
    assert found(repo, old, None) == expected(repo, old, None)


def test_a_change_deeper_than_asked_is_refused(repo):
    old = write(repo, {"a/b/c/d/e.yml": (b"1\n", BLOB)})
    new = write(repo, {"a/b/c/d/e.yml": (b"2\n", BLOB)})
    with pytest.raises(ValueError, match="deeper"):
        list(tree_changes(repo, old, new, depth=4))
    assert len(list(tree_changes(repo, old, new, depth=5))) == 1


@pytest.mark.parametrize("raw", [
    b"100644 cut-short\0" + b"\1" * 5,  # the id is cut
    b"100644 no-end-of-name",
    b"1x0644 bad-mode\0" + b"\1" * 20,
    b"nomode\0" + b"\1" * 20,
    b"100644 \xff\xfe-not-utf8\0" + b"\1" * 20,
])
def test_a_tree_that_does_not_read_is_refused_and_the_ledger_read_whole(tmp_path, raw):
    repo = pygit2.init_repository(str(tmp_path), initial_head="main")
    good = write(repo, {"alpha/aaaa-1111.yml": (b"record: 1\n", BLOB)})
    bad = repo.odb.write(pygit2.GIT_OBJECT_TREE, repo.odb.read(good)[1] + raw)
    with pytest.raises(ValueError):
        list(tree_changes(repo, good, bad, depth=4))
    assert Ledger(tmp_path).records_added("c", str(good), str(bad)) is None
