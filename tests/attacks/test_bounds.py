"""Attack: make the runner spend unbounded memory or time on a submission before any of
its code runs, or crash the verdict: a tree that names billions of paths in a few
hundred bytes (the same subtree listed again and again at each level), folders nested
past Python's stack, a huge file whose lineage is compared line by line with every
ancestor.

Guarantees: a change is walked within a bounded count of entries and depth before any
diff, listing or export, and going over is a rejection with a reason (never a crash nor
a hang); lineage compares files in bounded time, with the same shares as git's diff."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pygit2
import pytest
from pygit2.enums import FileMode

from challenge import lineage
from challenge import submission as subs
from challenge.hub import commit_files
from challenge.validate import validate_refs
from scorer.result import REJECTED
from tests.gitramp_hubs import CLOSED_NOW, example, make_hub

GITRAMP = str(Path(sys.executable).with_name("gitramp"))
MEMORY_CAP = 3 << 30  # address space given to a `gitramp validate` child


def _commit_tree(repo: pygit2.Repository, ref: str, name: str, folder: pygit2.Oid) -> str:
    """A commit on `ref`, from main, that adds `folder` as kits/iris/submissions/<name>."""
    main = repo.references["refs/heads/main"].peel(pygit2.Commit)
    path = ["kits", "iris", "submissions"]

    def put(base: pygit2.Tree, parts: list[str], oid: pygit2.Oid) -> pygit2.Oid:
        tb = repo.TreeBuilder(base)
        if len(parts) == 1:
            tb.insert(parts[0], oid, FileMode.TREE)
        else:
            child = repo[base[parts[0]].id]
            tb.insert(parts[0], put(child, parts[1:], oid), FileMode.TREE)
        return tb.write()

    root = put(main.tree, path + [name], folder)
    sig = pygit2.Signature("mallory", "mallory@example.org")
    return str(repo.create_commit(ref, sig, sig, f"{name} by mallory", root, [main.id]))


def tree_bomb(repo: pygit2.Repository, levels: int = 12, copies: int = 8) -> pygit2.Oid:
    """A submission folder holding the starting kit and, under `x/`, `levels` levels of
    `copies` entries that all name the same subtree: a few objects, copies**levels paths."""
    blob = repo.create_blob(b"x = 1\n")
    node = repo.TreeBuilder()
    node.insert("f.py", blob, FileMode.BLOB)
    oid = node.write()
    for _ in range(levels):
        tb = repo.TreeBuilder()
        for i in range(copies):
            tb.insert(f"d{i}", oid, FileMode.TREE)
        oid = tb.write()
    top = repo.TreeBuilder()
    for name, data in example("iris", "starting_kit").items():
        top.insert(name, repo.create_blob(data), FileMode.BLOB)
    top.insert("x", oid, FileMode.TREE)
    return top.write()


def deep_tree(repo: pygit2.Repository, depth: int = 1500) -> pygit2.Oid:
    node = repo.TreeBuilder()
    node.insert("f.py", repo.create_blob(b"x = 1\n"), FileMode.BLOB)
    oid = node.write()
    for _ in range(depth):
        tb = repo.TreeBuilder()
        tb.insert("d", oid, FileMode.TREE)
        oid = tb.write()
    top = repo.TreeBuilder()
    for name, data in example("iris", "starting_kit").items():
        top.insert(name, repo.create_blob(data), FileMode.BLOB)
    top.insert("x", oid, FileMode.TREE)
    return top.write()


@pytest.fixture
def hub(tmp_path):
    return make_hub(tmp_path)


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def in_child(script: str, timeout: int = 180) -> str:
    """Run `script` in a Python child capped at MEMORY_CAP of address space and
    `timeout` seconds (an unbounded walk must not take the test machine with it); its
    last line of output, which it prints as JSON."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)],
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=_cap_memory, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, (done.returncode, done.stdout[-2000:], done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_tree_bomb_is_rejected_with_a_reason_in_bounded_memory_and_time(hub, tmp_path):
    _commit_tree(hub, "refs/heads/submit/mallory/bomb", "bomb", tree_bomb(hub))
    pack = sum(f.stat().st_size for f in Path(hub.path, "objects").rglob("*")
               if f.is_file())
    assert pack < 10 << 20  # the whole repository is small; the bomb is a few objects
    started = time.monotonic()
    done = subprocess.run([GITRAMP, "validate", "--repo", str(Path(hub.path).parent),
                           "--head", "submit/mallory/bomb", "--now", "2026-12-01T01:00Z"],
                          capture_output=True, text=True, timeout=300, preexec_fn=_cap_memory)
    assert time.monotonic() - started < 60
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr[-3000:])
    assert "rejected:" in done.stdout and "limits:" in done.stdout, done.stdout
    assert "Traceback" not in done.stderr, done.stderr[-3000:]


def test_nested_folders_are_a_rejection_not_a_crash(hub):
    _commit_tree(hub, "refs/heads/submit/mallory/deep", "deep", deep_tree(hub))
    v = validate_refs(hub, base=None, head="refs/heads/submit/mallory/deep", team="mallory",
                      records=[], now=CLOSED_NOW)
    assert not v.ok and [r.rule for r in v.reasons] == ["limits"], v.message()
    assert "levels deep" in v.message()


def test_scan_reports_both_as_rejections_and_scores_the_rest(hub):
    _commit_tree(hub, "refs/heads/submit/mallory/bomb", "bomb", tree_bomb(hub))
    _commit_tree(hub, "refs/heads/submit/mallory/deep", "deep", deep_tree(hub))
    commit_files(hub, "refs/heads/submit/alice/ok",
                 {f"kits/iris/submissions/ok/{n}": d
                  for n, d in example("iris", "starting_kit").items()},
                 parent=hub.references["refs/heads/main"].target, message="ok", author="alice")
    outcomes = in_child(f"""
        import json
        from challenge.pipeline import Options
        from challenge.scan import scan
        from tests.gitramp_hubs import CLOSED_NOW
        out = scan({str(Path(hub.path).parent)!r}, Options(now=CLOSED_NOW, quick=True))
        print(json.dumps([o.to_dict() for o in out]))
    """)
    # the two branches are refused before any submission is read from them, and the
    # refusal is recorded under the branch's team and name, so the participant sees it
    refused = [o for o in outcomes if o["status"] == REJECTED]
    assert sorted((o["team"], o["submission"]) for o in refused) == \
        [("mallory", "bomb"), ("mallory", "deep")], outcomes
    assert all("more than" in o["message"] or "levels deep" in o["message"]
               for o in refused), refused
    assert all(o["path"] and "/_rejected/mallory/" in o["path"] for o in refused), refused
    assert [(o["submission"], o["status"]) for o in outcomes if o["status"] != REJECTED] == \
        [("ok", "scored")], outcomes


def test_the_walk_reads_a_bounded_number_of_entries_whatever_the_tree_names(hub):
    bomb = hub[tree_bomb(hub, levels=20, copies=16)]  # 16**20 paths
    started = time.monotonic()
    with pytest.raises(subs.TreeTooLarge, match="more than 100 files"):
        subs.check_change_bounds(hub, None, bomb, max_entries=100)
    assert time.monotonic() - started < 1
    # an unchanged bomb in the base costs nothing: equal subtrees are not entered
    assert subs.check_change_bounds(hub, bomb, bomb) == 0


def test_pipeline_validation_of_a_bomb_is_a_verdict(hub):
    _commit_tree(hub, "refs/heads/submit/mallory/bomb", "bomb", tree_bomb(hub))
    verdict = in_child(f"""
        import json
        from challenge.pipeline import Options, Pipeline
        from tests.gitramp_hubs import CLOSED_NOW
        pipe = Pipeline({str(Path(hub.path).parent)!r}, Options(now=CLOSED_NOW))
        v = pipe.validate(ref="refs/heads/submit/mallory/bomb", team="mallory", name="bomb")
        print(json.dumps({{"verdict": v.to_dict(), "outcome": pipe.reject(v).status}}))
    """)
    assert verdict["outcome"] == REJECTED
    assert [r["rule"] for r in verdict["verdict"]["reasons"]] == ["limits"]


# ------------------------------------------------------------------------- lineage
BIG = 50_000


def _big_file(seed: int, n: int = BIG) -> bytes:
    import random

    rng = random.Random(seed)
    # few distinct lines, repeated: the worst case for a longest-matching-blocks search
    return "".join(f"x = {rng.randint(0, 50)}\n" for _ in range(n)).encode()


def test_lineage_of_a_huge_file_takes_bounded_time(tmp_path):
    """Run in a child with a deadline: the quadratic comparison took minutes here."""
    script = textwrap.dedent(f"""
        import random, sys, time
        from challenge import lineage
        def big(seed, n={BIG}):
            rng = random.Random(seed)
            return [f"x = {{rng.randint(0, 50)}}" for _ in range(n)]
        child, parent = {{"classifier.py": big(1)}}, {{"classifier.py": big(2)}}
        start = time.monotonic()
        for _ in range(3):  # three ancestors
            share = lineage.inherited_share(child, parent)
        print(share, time.monotonic() - start)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    share, seconds = map(float, done.stdout.split())
    assert 0 < share < 1 and seconds < 15


def test_lineage_shares_count_the_childs_lines_the_parent_has(tmp_path):
    parent, child = _big_file(1, 3000), _big_file(1, 3000).replace(b"x = 7\n", b"y = 7\n")
    child += b"extra = 1\n"
    lines = child.decode().splitlines()
    kept = sum(1 for ln in lines if not ln.startswith(("y = 7", "extra")))
    got = lineage.inherited_share({"a.py": lines}, {"a.py": parent.decode().splitlines()})
    assert abs(got - kept / len(lines)) < 1e-12


def test_lineage_reads_a_bounded_part_of_a_tree(hub):
    bomb = tree_bomb(hub, levels=20, copies=16)  # 16**20 paths
    other = tree_bomb(hub, levels=19, copies=16)
    main = str(hub.references["refs/heads/main"].target)
    got = in_child(f"""
        import json, time
        import pygit2
        from challenge import lineage
        from scorer.result import Result
        repo = pygit2.Repository({hub.path!r})
        start = time.monotonic()
        files = lineage.text_files(repo, {str(bomb)!r})
        records = [Result(challenge="iris", submission="bomb", status="scored", team="m",
                          commit={main!r}, tree={str(bomb)!r})]
        lineage.compute(repo, {main!r}, {str(other)!r}, "iris", records)
        print(json.dumps({{"files": len(files), "seconds": time.monotonic() - start}}))
    """, timeout=60)
    assert got["files"] <= 200 and got["seconds"] < 10
