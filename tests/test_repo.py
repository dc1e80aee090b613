"""Reading a challenge repository with pygit2, without a work tree."""

from __future__ import annotations

import pygit2
from pygit2.enums import FileMode

from challenge import repo as gitrepo
from challenge.hub import commit_files, init_repo
from tests.gitramp_hubs import example, make_hub, submit


def test_find_kits_in_a_hub_and_in_a_kit_repository(tmp_path):
    hub = make_hub(tmp_path, kits=("iris", "diabetes"))
    head = gitrepo.head_commit(hub)
    assert [(k.name, k.prefix) for k in gitrepo.find_kits(hub, head.tree)] == [
        ("diabetes", "kits/diabetes"), ("iris", "kits/iris")]
    kit_repo = init_repo(tmp_path / "titanic")
    commit_files(kit_repo, "refs/heads/main", {"challenge.yml": b"title: x\n"}, message="kit")
    head = gitrepo.head_commit(kit_repo)
    assert [(k.name, k.prefix) for k in gitrepo.find_kits(kit_repo, head.tree)] == [
        ("titanic", "")]


def test_kit_loaded_from_the_committed_tree_not_the_work_tree(tmp_path):
    hub = make_hub(tmp_path)
    loc = gitrepo.find_kits(hub, gitrepo.head_commit(hub).tree)[0]
    kit = gitrepo.load_kit_at(hub, gitrepo.head_commit(hub), loc)
    assert kit.name == "iris" and kit.workflow == "classifier"
    assert (kit.path / "data" / "train.csv").is_file()  # public data is committed
    assert not (kit.path / "submissions").exists()  # submissions are not part of the kit
    assert [p.name for p in kit.phases] == ["closed", "open"]


def test_export_writes_regular_files_only_and_never_links(tmp_path):
    hub = make_hub(tmp_path)
    base = hub.references["refs/heads/main"].target
    commit = submit(hub, "alice", "rf", example("iris", "random_forest"))
    # add a symbolic link by hand: export must not create it
    tree = hub[commit].tree
    folder = gitrepo.subtree(hub, tree, "kits/iris/submissions/rf")
    tb = hub.TreeBuilder(folder)
    tb.insert("link.py", hub.create_blob(b"/etc/passwd"), FileMode.LINK)
    from challenge.ledger import put_path

    new_tree = put_path(hub, tree, "kits/iris/submissions/rf", tb.write(), FileMode.TREE)
    files = gitrepo.list_files(hub, hub[hub[new_tree]["kits/iris/submissions/rf"].id])
    assert {(f.path, f.mode) for f in files} == {("classifier.py", FileMode.BLOB),
                                                ("link.py", FileMode.LINK)}
    out = gitrepo.export_tree(hub, hub[hub[new_tree]["kits/iris/submissions/rf"].id],
                              tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == ["classifier.py"]
    assert (out / "classifier.py").read_bytes() == example("iris", "random_forest")[
        "classifier.py"]
    paths = gitrepo.changed_paths(hub, hub[base], hub[commit])
    assert paths == ["kits/iris/submissions/rf/classifier.py"]


def test_file_sizes_come_from_object_headers(tmp_path):
    hub = make_hub(tmp_path)
    commit = submit(hub, "alice", "big", {"classifier.py": b"x" * 12345})
    folder = gitrepo.subtree(hub, hub[commit].tree, "kits/iris/submissions/big")
    assert [f.size for f in gitrepo.list_files(hub, folder)] == [12345]
    assert isinstance(hub[commit], pygit2.Commit)


def test_work_tree_follows_commits_made_without_it_and_keeps_local_changes(tmp_path):
    repo = init_repo(tmp_path / "kit")
    files = {name: f"{name} 1\n".encode() for name in ("a.txt", "b.txt", "c.txt", "d.txt")}
    old = repo[commit_files(repo, "refs/heads/main", files, message="first")]
    repo.set_head("refs/heads/main")
    repo.checkout_head()
    work = tmp_path / "kit"
    (work / "b.txt").write_text("b edited here\n")  # a local change the commit also makes
    (work / "d.txt").write_text("d edited here\n")  # a local change the commit leaves alone
    new = repo[commit_files(repo, "refs/heads/main",
                            {"a.txt": b"a 2\n", "b.txt": b"b 2\n", "c.txt": None,
                             "sub/e.txt": b"e 2\n"}, message="second, without the work tree")]
    kept = gitrepo.sync_work_tree(repo, old, new)
    assert kept == ["b.txt"]
    assert (work / "a.txt").read_text() == "a 2\n" and (work / "sub/e.txt").read_text() == "e 2\n"
    assert not (work / "c.txt").exists()
    assert (work / "b.txt").read_text() == "b edited here\n"
    assert (work / "d.txt").read_text() == "d edited here\n"
    assert repo.head.target == new.id and not repo.head_is_detached
    changed = {path for path, flags in repo.status().items()
               if flags != pygit2.enums.FileStatus.CURRENT}
    assert changed == {"b.txt", "d.txt"}  # the index follows the branch everywhere else
    assert gitrepo.sync_work_tree(repo, new, new) == []
